import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { UserError } from '../../src/cli/errors';
import { bracketHint, getPath, textOf, type SourceItem } from '../../src/flow/records';
import { detectFormat } from '../../src/flow/sources/formats';
import { LineKind } from '../../src/flow/sources/json-check';
import { LineSplitter, MAX_LINE_BYTES } from '../../src/flow/sources/lines';
import { openSource, type SourceOptions } from '../../src/flow/sources/open';

const dir = mkdtempSync(join(tmpdir(), 'pbx-sources-'));
function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function readAll(
  options: SourceOptions,
): Promise<{ format: string; name: string; items: SourceItem[]; bytes: number }> {
  const source = await openSource(options);
  const items: SourceItem[] = [];
  for await (const batch of source.batches) items.push(...batch);
  return { format: source.format, name: source.name, items, bytes: source.bytesRead() };
}

const brief = (items: SourceItem[]) =>
  items.map((i) => (i.kind === 'record' ? [i.index, i.line, i.value] : [i.index, i.line, 'bad', i.reason]));

describe('openSource', () => {
  it('reads NDJSON, keeping exact bytes, skipping blank lines and naming a bad line', async () => {
    const content = '{"a":1}\n\n{"a": 2}\n{"a":\n{"a":4}\n';
    const path = file('a.json', content);
    const { format, items, bytes } = await readAll({ path });
    expect(format).toBe('ndjson');
    expect(brief(items)).toEqual([
      [0, 1, { a: 1 }],
      [1, 3, { a: 2 }],
      [2, 4, 'bad', expect.stringContaining('invalid JSON')],
      [3, 5, { a: 4 }],
    ]);
    expect(textOf(items[1]!)).toBe('{"a": 2}');
    expect(bytes).toBe(Buffer.byteLength(content));
  });

  it('reads a JSON array element by element', async () => {
    const path = file('b.json', ' [ {"id": 1}, {"id": 2, "x": [1, 2]}, 3 ]');
    const { format, items } = await readAll({ path });
    expect(format).toBe('json');
    expect(items.map((i) => (i.kind === 'record' ? i.value : undefined))).toEqual([{ id: 1 }, { id: 2, x: [1, 2] }, 3]);
  });

  it('stops a broken JSON array with the element it reached', async () => {
    const elements = Array.from({ length: 100_000 }, (_, i) => `{"i": ${i}}`);
    const path = file('broken.json', `[${elements.join(',')}, {"i": ]`);
    const source = await openSource({ path });
    let read = 0;
    const error = await (async () => {
      for await (const batch of source.batches)
        for (const item of batch) if (item.kind === 'record' && (item.value as { i: number }).i === read) read++;
    })().catch((e: unknown) => e as Error);
    expect(read).toBeGreaterThan(50_000); // what came before the error is readable
    expect(error?.message).toContain(`broken.json: invalid JSON after ${read} element(s)`);
  });

  it('numbers CSV records by the line they start on, as editors count, whatever line breaks quoted fields hold', async () => {
    // Windows line ends, a field holding a \r\n and one holding a lone \r (old Mac text): no line of its own.
    const path = file('crlf.csv', 'id,note\r\n1,"two\r\nlines"\r\n2,"a\rb"\r\n3\r\n4,"x\ny",extra\r\n');
    const { items } = await readAll({ path });
    expect(brief(items)).toEqual([
      [0, 2, { id: '1', note: 'two\r\nlines' }],
      [1, 4, { id: '2', note: 'a\rb' }],
      [2, 5, 'bad', 'expected 2 columns, got 1'],
      [3, 6, 'bad', 'expected 2 columns, got 3'],
    ]);
  });

  it('reads CSV by its header and reports a row of the wrong width at its line', async () => {
    const path = file('c.csv', 'id,name\n1,"Smith, Ann"\n2\n3,Bob\n');
    const { format, items } = await readAll({ path });
    expect(format).toBe('csv');
    expect(brief(items)).toEqual([
      [0, 2, { id: '1', name: 'Smith, Ann' }],
      [1, 3, 'bad', 'expected 2 columns, got 1'],
      [2, 4, { id: '3', name: 'Bob' }],
    ]);
  });

  it('reads plain lines as strings, blank ones included', async () => {
    const path = file('d.txt', 'alpha\n\nbeta\n');
    const { format, items } = await readAll({ path });
    expect(format).toBe('lines');
    expect(brief(items)).toEqual([
      [0, 1, 'alpha'],
      [1, 2, ''],
      [2, 3, 'beta'],
    ]);
  });

  it('refuses a CSV header that names a column twice, which would lose a value of every row', async () => {
    await expect(readAll({ path: file('twice.csv', 'id,name,id\n1,x,2\n') })).rejects.toThrow(
      'twice.csv:1: the header names column "id" twice',
    );
  });

  it('leaves out a UTF-8 byte-order mark, in NDJSON, CSV, a JSON array and gzip', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const ndjson = await readAll({ path: file('bom.json', Buffer.concat([bom, Buffer.from('{"a":1}\n{"a":2}\n')])) });
    expect(ndjson.items.map(textOf)).toEqual(['{"a":1}', '{"a":2}']);
    const csv = await readAll({ path: file('bom.csv', Buffer.concat([bom, Buffer.from('a,b\n1,2\n')])) });
    expect(brief(csv.items)).toEqual([[0, 2, { a: '1', b: '2' }]]);
    const array = await readAll({ path: file('bom-array.json', Buffer.concat([bom, Buffer.from('[{"a":1}]')])) });
    expect([array.format, brief(array.items)]).toEqual(['json', [[0, 0, { a: 1 }]]]);
    const zipped = gzipSync(Buffer.concat([bom, Buffer.from('{"a":1}\n')]));
    expect((await readAll({ path: file('bom.json.gz', zipped) })).items.map(textOf)).toEqual(['{"a":1}']);
  });

  it('says a UTF-16 file is UTF-16, with how to convert it', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"a":1}\n', 'utf16le')]);
    const error = await readAll({ path: file('utf16.json', utf16) }).catch((e: unknown) => e as UserError);
    expect(error).toMatchObject({ code: 'SOURCE_MALFORMED' });
    expect((error as UserError).message).toContain('utf16.json is UTF-16 text; pbx reads UTF-8.');
    expect((error as UserError).nextSteps[0]).toContain('iconv -f UTF-16 -t UTF-8');
  });

  it('recognises gzip by its magic bytes, whatever the name', async () => {
    const path = file('e.data', gzipSync('{"n":1}\n{"n":2}\n'));
    const { format, name, items } = await readAll({ path });
    expect(format).toBe('ndjson');
    expect(name).toBe(`${path} (gzip)`);
    expect(brief(items)).toEqual([
      [0, 1, { n: 1 }],
      [1, 2, { n: 2 }],
    ]);
  });

  // Files are read 256 KiB at a time, lines into two buffers used in turn: each batch must be right when it is
  // handled, lines across chunk boundaries included, whatever the format and compression.
  it.each([
    ['NDJSON', 'n.json', (lines: string[]) => lines.join('\n') + '\n'],
    ['NDJSON, gzip', 'n.json.gz', (lines: string[]) => gzipSync(lines.join('\n') + '\n')],
    [
      'CSV',
      'n.csv',
      (lines: string[]) => ['i,text', ...lines.map((_, i) => `${i},x${'y'.repeat(i % 500)}`)].join('\n'),
    ],
  ])('reads a %s file of many chunks record by record', async (_, name, content) => {
    const lines = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ i, text: `x${'y'.repeat(i % 500)}` }));
    const path = file(name, content(lines));
    const source = await openSource({ path });
    let next = 0;
    for await (const batch of source.batches)
      for (const item of batch) {
        if (item.kind !== 'record') throw new Error(`line ${item.line}: ${item.reason}`);
        if (source.format === 'csv')
          expect(item.value).toEqual({ i: String(next), text: `x${'y'.repeat(next % 500)}` });
        else expect(textOf(item)).toBe(lines[next]);
        next++;
      }
    expect(next).toBe(lines.length);
    expect(source.bytesRead()).toBe(statSync(path).size);
  });

  it('honours an explicit format', async () => {
    const path = file('f.json', '{"a":1}\n');
    const { items } = await readAll({ path, format: 'lines' });
    expect(brief(items)).toEqual([[0, 1, '{"a":1}']]);
  });

  it('replays a command’s output lines', async () => {
    const { name, format, items } = await readAll({ exec: 'printf "one\\ntwo\\n"' });
    expect(name).toBe('`printf "one\\ntwo\\n"`');
    expect(format).toBe('lines');
    expect(brief(items)).toEqual([
      [0, 1, 'one'],
      [1, 2, 'two'],
    ]);
  });

  it('says a command the shell could not find or run is that, not just its exit code', async () => {
    await expect(readAll({ exec: 'no-such-command-here' })).rejects.toThrow('exited with code 127 (no such command)');
    const script = file('not-executable.sh', 'echo hi\n');
    await expect(readAll({ exec: script })).rejects.toThrow('exited with code 126 (not executable)');
  });

  it.each([
    ['missing', () => join(dir, 'nope.json'), 'does not exist', 'SOURCE_NOT_FOUND'],
    ['empty', () => file('empty.json', ''), 'is empty', 'SOURCE_EMPTY'],
    ['a directory', () => dir, 'is a directory', 'SOURCE_UNREADABLE'],
    ['gzip of nothing', () => file('empty.gz', gzipSync('')), 'is empty', 'SOURCE_EMPTY'],
  ])('refuses a %s file with a user error', async (_, path, message, code) => {
    const error = await openSource({ path: path() }).catch((e: unknown) => e);
    expect((error as Error).message).toContain(message);
    expect((error as { code: string }).code).toBe(code);
    expect((error as { exitCode: number }).exitCode).toBe(1);
  });
});

describe('a file of no records', () => {
  it.each([
    ['header.csv', 'a,b\n', 'header.csv holds a header and no rows'],
    ['empty-array.json', '[ ]\n', 'empty-array.json holds an empty JSON array'],
    ['blank.json', '\n\n  \n', 'blank.json holds blank lines only'],
  ])(
    'refuses %s on opening, as an empty file (it said "Sent 0 records", then only at the end of its pass)',
    async (name, text, message) => {
      const error = await openSource({ path: file(name, text) }).catch((e: unknown) => e);
      expect([(error as Error).message, (error as { code: string }).code]).toEqual([
        expect.stringContaining(message),
        'SOURCE_EMPTY',
      ]);
    },
  );

  it('takes blank plain lines, each one a record', async () => {
    const { items } = await readAll({ path: file('blank.txt', '\n\n'), format: 'lines' });
    expect(items.map(textOf)).toEqual(['', '']);
  });
});

describe('detectFormat and getPath', () => {
  it('goes by extension, then by the first character', () => {
    expect(detectFormat('x.csv.gz', 'a,b')).toBe('csv');
    expect(detectFormat('x.jsonl', '')).toBe('ndjson');
    expect(detectFormat(undefined, '  [1]')).toBe('json');
    expect(detectFormat('x.json', '{"a":1}')).toBe('ndjson');
    expect(detectFormat('-', 'procs -----')).toBe('lines');
  });

  it('follows dotted paths', () => {
    expect(getPath({ a: { b: { c: 7 } } }, 'a.b.c')).toBe(7);
    expect(getPath({ a: 1 }, 'a.b')).toBeUndefined();
    expect(getPath(null, 'a')).toBeUndefined();
    expect(getPath({ a: [{ b: 'x' }] }, 'a.0.b')).toBe('x');
  });

  it('says what --format json takes when the data is no JSON array', async () => {
    await expect(readAll({ path: file('lines.json', '{"a":1}\n{"a":2}\n'), format: 'json' })).rejects.toThrow(
      'lines.json is not a JSON array (it starts with "{").',
    );
  });

  it('says how to write a list position when a bracketed path finds nothing', () => {
    expect(getPath({ a: [{ b: 'x' }] }, 'a[0].b')).toBeUndefined();
    expect(bracketHint('a[0].b[12]')).toBe(' (a list position is a part of its own: a.0.b.12)');
    expect(bracketHint('a.b')).toBe('');
  });
});

describe('openSource with broken CSV quoting', () => {
  it('stops at the line where the quote breaks, naming the file', async () => {
    const rows = Array.from({ length: 50_000 }, (_, i) => `${i},name ${i}`);
    const path = file('q.csv', `id,name\n${rows.join('\n')}\nx,"unterminated\ny,c\n`);
    const source = await openSource({ path });
    const read: SourceItem[] = [];
    const error = await (async () => {
      for await (const batch of source.batches) read.push(...batch);
    })().catch((e: unknown) => e as Error);
    expect(error?.message).toMatch(/q\.csv:\d+: invalid CSV/);
    // Rows in earlier chunks than the break come through, in order.
    expect(read.length).toBeGreaterThan(10_000);
    expect(read.every((item, i) => item.kind === 'record' && (item.value as { id: string }).id === String(i))).toBe(
      true,
    );
  });
});

describe('LineSplitter', () => {
  it('splits on LF and CRLF, keeps a last line without newline, and joins a line split across chunks', () => {
    const bytes = Buffer.from('a\r\nbé\n\n{"x":\n[1]\nlast', 'utf8');
    const e = bytes.indexOf(0xc3); // first byte of é: cut the stream inside the character
    const splitter = new LineSplitter(true);
    const lines: [string, LineKind][] = [];
    const each = (line: Buffer, start: number, end: number, kind: LineKind) =>
      lines.push([line.toString('utf8', start, end), kind]);
    splitter.push(bytes.subarray(0, 1), each); // "a" alone: no line yet
    splitter.push(bytes.subarray(1, e + 1), each);
    splitter.push(bytes.subarray(e + 1), each);
    splitter.end(each);
    splitter.end(each);
    expect(lines).toEqual([
      ['a', LineKind.Text],
      ['bé', LineKind.Text],
      ['', LineKind.Blank],
      ['{"x":', LineKind.Text],
      ['[1]', LineKind.Json],
      ['last', LineKind.Text],
    ]);
  });

  it('holds no more of a line than MAX_LINE_BYTES: past that, the line is reported by its first KiB', () => {
    const splitter = new LineSplitter(true);
    const lines: [string, LineKind][] = [];
    const each = (line: Buffer, start: number, end: number, kind: LineKind) =>
      lines.push([line.toString('latin1', start, end), kind]);
    const piece = Buffer.alloc(1024 * 1024, 'x');
    splitter.push(Buffer.from('{"a":1}\nyy'), each);
    for (let i = 0; i < MAX_LINE_BYTES / piece.length + 2; i++) splitter.push(piece, each);
    splitter.push(Buffer.from('zz\n{"b":2}\nx'), each);
    for (let i = 1; i < MAX_LINE_BYTES / piece.length; i++) splitter.push(piece, each); // the last line: whole
    splitter.end(each);
    expect(lines.map(([text, kind]) => [text.length, kind])).toEqual([
      [7, LineKind.Json],
      [1024, LineKind.TooLong],
      [7, LineKind.Json],
      [1 + MAX_LINE_BYTES - piece.length, LineKind.Text],
    ]);
    expect(lines[1]![0]).toBe('yy' + 'x'.repeat(1022));
  });
});

describe('a line too long to be a record', () => {
  it('is a bad record at its line, whatever follows; with \\r in it, the reason says how to convert', async () => {
    const long = Buffer.alloc(MAX_LINE_BYTES + 10, '{"a":1}\r');
    const { items } = await readAll({ path: file('cr.json', Buffer.concat([long, Buffer.from('\n{"b":2}\n')])) });
    expect(brief(items)).toEqual([
      [0, 1, 'bad', expect.stringContaining("end in \\r alone (old Mac text), which `tr '\\r' '\\n'`")],
      [1, 2, { b: 2 }],
    ]);
  });

  it('stops a JSON array at an element of that size, which it would otherwise assemble whole', async () => {
    const text = Buffer.alloc(MAX_LINE_BYTES + 1024 * 1024, 'x'); // bytes read ahead of an element may go uncounted
    const json = Buffer.concat([Buffer.from('[{"a":1},{"b":"'), text, Buffer.from('"},3]')]);
    await expect(readAll({ path: file('big.json', json) })).rejects.toThrow(
      'big.json: element 2 is longer than 64 MiB',
    );
  });

  it('reads a JSON array larger than that size whose elements are not', async () => {
    const element = JSON.stringify({ text: 'x'.repeat(1024 * 1024) });
    const count = Math.ceil(MAX_LINE_BYTES / element.length) + 4;
    const json = '[' + Array.from({ length: count }, () => element).join(',') + ']';
    const { items } = await readAll({ path: file('many.json', json) });
    expect(items.length).toBe(count);
  });

  it('stops a CSV file at a record of that size, pointing at a quote left open', async () => {
    const csv = Buffer.concat([Buffer.from('a,b\n1,"'), Buffer.alloc(MAX_LINE_BYTES, 'x'), Buffer.from('\n2,y\n')]);
    await expect(readAll({ path: file('open-quote.csv', csv) })).rejects.toThrow(
      'open-quote.csv:2: a record longer than 64 MiB',
    );
  });
});
