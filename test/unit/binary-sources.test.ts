import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { notText } from '../../src/flow/sources/binary';
import { openSource } from '../../src/flow/sources/open';

const bytes = (...parts: (string | number[] | Buffer)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

describe('notText', () => {
  it.each([
    ['a zip archive', bytes('PK\x03\x04\x14\x00\x00\x00\x08\x00')],
    ['a Parquet file', bytes('PAR1\x15\x04\x15\x80\x01')],
    ['a PNG image', bytes([0x89], 'PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR')],
    ['a JPEG image', bytes([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10], 'JFIF\x00')],
    ['a GIF image', bytes('GIF89a\x01\x00\x01\x00\x80\x00\x00')],
    ['an SQLite database', bytes('SQLite format 3\x00\x10\x00')],
    ['xz-compressed data', bytes([0xfd], '7zXZ\x00\x00\x04')],
    ['zstd-compressed data', bytes([0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, 0xff])],
    ['a tar archive', bytes('data.json', Array(248).fill(0), 'ustar\x0000')],
  ])('names %s by its magic number', (looksLike, head) => {
    expect(notText(head)?.looksLike).toContain(looksLike);
  });

  it('says what gave binary data away: the first NUL byte', () => {
    expect(notText(bytes('abc', [0], 'def'))).toMatchObject({
      looksLike: 'binary data',
      because: 'a NUL byte at byte 3',
    });
  });

  it('takes text in another encoding for that, at the first byte that is not UTF-8', () => {
    // "café" in Latin-1.
    expect(notText(bytes('id,name\n1,caf', [0xe9], '\n'))).toMatchObject({
      looksLike: expect.stringContaining('another encoding than UTF-8'),
      because: 'bytes that are not UTF-8 at byte 13',
    });
  });

  it('takes UTF-8 text, even with a character cut at the end of the chunk', () => {
    expect(notText(Buffer.from('{"name":"café ☕ 日本"}\n'))).toBeUndefined();
    const cut = Buffer.from('{"a":"☕"}').subarray(0, 8); // the cup's three bytes, cut after the first
    expect(notText(cut)).toBeUndefined();
    expect(notText(Buffer.alloc(0))).toBeUndefined();
  });

  it('finds 3,000 random bytes not text', () => {
    expect(notText(randomBytes(3000))).toBeDefined();
  });
});

describe('openSource of a file that is not text', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pbx-binary-'));
  const file = (name: string, content: Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  it('refuses it, saying what it looks like and how to read it, unless plain lines are asked for', async () => {
    const path = file('data.zip', bytes('PK\x03\x04\x14\x00', randomBytes(3000)));
    const error = (await openSource({ path }).catch((e: unknown) => e)) as {
      code: string;
      message: string;
      nextSteps: string[];
    };
    expect(error.code).toBe('SOURCE_NOT_TEXT');
    expect(error.message).toMatch(/data\.zip is not text: it looks like a zip archive .*\(a NUL byte at byte 5\)/);
    expect(error.nextSteps).toEqual([expect.stringContaining('unzip -l'), expect.stringContaining('--format lines')]);
    for (const format of ['ndjson', 'csv', 'json'] as const) {
      await expect(openSource({ path, format })).rejects.toMatchObject({ code: 'SOURCE_NOT_TEXT' });
    }
    const lines = await openSource({ path, format: 'lines' });
    expect(lines.format).toBe('lines');
    lines.close();
  });

  it('looks inside gzip', async () => {
    const path = file('photo.png.gz', gzipSync(bytes([0x89], 'PNG\r\n\x1a\n', randomBytes(100))));
    await expect(openSource({ path })).rejects.toThrow('photo.png.gz is not text: it looks like a PNG image');
  });
});
