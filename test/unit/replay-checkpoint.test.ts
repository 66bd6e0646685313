import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkCheckpoint, CheckpointWriter, readCheckpoint } from '../../src/replay/checkpoint';

const dir = mkdtempSync(join(tmpdir(), 'pbx-ckpt-'));
const state = {
  source: 'r.json',
  size: 10,
  topic: 't',
  nextIndex: 42,
  pass: 0,
  sent: 40,
  runId: 'r1',
  offsets: { '0': '40' },
};

describe('checkpoints', () => {
  it('is absent before the first run, then reads back what was written', async () => {
    const path = join(dir, 'a.ckpt');
    expect(await readCheckpoint(path)).toBeUndefined();
    await new CheckpointWriter(path).save(state);
    expect(await readCheckpoint(path)).toMatchObject({ version: 1, ...state });
  });

  it('is due once per interval unless forced, and writes saves in order', async () => {
    const path = join(dir, 'b.ckpt');
    const writer = new CheckpointWriter(path, 60_000);
    expect(writer.due()).toBe(true);
    void writer.save({ ...state, nextIndex: 1 });
    expect(writer.due()).toBe(false);
    expect(writer.due(true)).toBe(true);
    await writer.save({ ...state, nextIndex: 3 });
    expect(JSON.parse(readFileSync(path, 'utf8')).nextIndex).toBe(3);
  });

  it('refuses a file that is not a checkpoint', async () => {
    const path = join(dir, 'c.ckpt');
    writeFileSync(path, '{"hello": 1}');
    await expect(readCheckpoint(path)).rejects.toThrow(`Checkpoint ${path} is not valid`);
  });

  it('says a directory given as a checkpoint is one, and what to give instead', async () => {
    const error = (await readCheckpoint(dir).catch((e: unknown) => e)) as { message: string; nextSteps: string[] };
    expect(error.message).toBe(`Cannot read checkpoint ${dir}: it is a directory.`); // was "EISDIR: illegal operation…"
    expect(error.nextSteps[0]).toContain('the path of a file');
  });

  it('refuses a checkpoint of another file, size or topic', () => {
    const saved = { version: 1 as const, updatedAt: '', ...state };
    expect(() => checkCheckpoint('x', saved, 'r.json', 10, 't')).not.toThrow();
    expect(() => checkCheckpoint('x', saved, 'o.json', 10, 't')).toThrow('belongs to file r.json');
    expect(() => checkCheckpoint('x', saved, 'r.json', 11, 't')).toThrow('belongs to a 10-byte version');
    expect(() => checkCheckpoint('x', saved, 'r.json', 10, 'u')).toThrow('belongs to topic t');
  });
});
