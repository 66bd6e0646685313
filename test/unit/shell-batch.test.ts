import { describe, expect, it } from 'vitest';
import { CommandFailed, decodeLine, encodeLine, runBatch, type CommandOptions } from '../../src/pipelines/shell';
import { processesWith, uniqueSeconds } from '../support/processes';

const options = (command: string, more: Partial<CommandOptions> = {}): CommandOptions => ({
  command,
  okExitCodes: [0],
  timeoutMs: 10_000,
  ...more,
});

/** Runs the batch expecting it to fail, and returns its CommandFailed. */
async function failure(promise: Promise<unknown>): Promise<CommandFailed> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CommandFailed);
  return error as CommandFailed;
}

describe('encodeLine and decodeLine', () => {
  it('write a string as it is, a string with a newline and anything else as JSON', () => {
    expect(encodeLine('the cat sat')).toBe('the cat sat');
    expect(encodeLine('two\nlines')).toBe('"two\\nlines"');
    expect(encodeLine({ word: 'cat', n: 2 })).toBe('{"word":"cat","n":2}');
    expect(encodeLine(42)).toBe('42');
    expect(encodeLine(null)).toBe('null');
    expect(encodeLine(undefined)).toBe('null');
  });

  it('read a line as JSON where it parses, else as the string', () => {
    expect(decodeLine('{"word":"cat"}')).toEqual({ word: 'cat' });
    expect(decodeLine('3')).toBe(3);
    expect(decodeLine('"two\\nlines"')).toBe('two\nlines');
    expect(decodeLine('      3 cat')).toBe('      3 cat');
    expect(decodeLine('')).toBe('');
    expect(decodeLine('true story')).toBe('true story');
  });
});

describe('runBatch', () => {
  it('feeds the lines to a fresh sh -c and returns the lines it printed', async () => {
    const lines = ['the cat sat', 'on the mat', 'the end'];
    await expect(runBatch(options("tr ' ' '\\n' | sort | uniq -c | sort -rn | head -2"), lines)).resolves.toEqual([
      '      3 the',
      '      1 sat',
    ]);
    await expect(runBatch(options('cat'), [])).resolves.toEqual([]);
    await expect(runBatch(options('printf "no newline"'), [])).resolves.toEqual(['no newline']);
  });

  it('passes the environment and the working directory', async () => {
    await expect(
      runBatch(options('echo "$WORD" && pwd', { env: { WORD: 'hello' }, cwd: '/tmp' }), []),
    ).resolves.toEqual(['hello', '/tmp']);
  });

  it('names a command that is not found (sh exit 127)', async () => {
    const error = await failure(runBatch(options('grpe x'), ['a', 'b']));
    expect(error.reason).toBe('not-found');
    expect(error.exitCode).toBe(127);
    expect(error.message).toMatch(/^the command `grpe` was not found \(sh exit 127\).*: check its name and PATH$/);
    expect(error.stderrTail).toContain('grpe');
  });

  it('fails on an exit code that is not ok, with its stderr tail, and counts the ok ones as success', async () => {
    const error = await failure(runBatch(options('grep zebra'), ['cat', 'dog']));
    expect(error.reason).toBe('exit');
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain('add it to okExitCodes');
    await expect(runBatch(options('grep zebra', { okExitCodes: [0, 1] }), ['cat', 'dog'])).resolves.toEqual([]);
    const said = await failure(runBatch(options('echo "bad input at line 2" >&2; exit 3'), []));
    expect(said.message).toContain('exited with code 3 ("bad input at line 2")');
  });

  it('keeps the last 2 KiB of stderr', async () => {
    const error = await failure(runBatch(options('seq 1 5000 >&2; exit 2'), []));
    expect(Buffer.byteLength(error.stderrTail)).toBe(2048);
    expect(error.stderrTail.endsWith('4999\n5000\n')).toBe(true);
  });
});

describe('runBatch when the command misbehaves', () => {
  const many = (n: number, width = 100) => Array.from({ length: n }, (_, i) => String(i).padEnd(width, 'x'));

  it('takes an ok exit before all input was read as success: head -1 did not need the rest', async () => {
    await expect(runBatch(options('head -1'), many(50_000))).resolves.toEqual([many(1)[0]]);
    const error = await failure(runBatch(options('head -1; exit 4'), many(50_000)));
    expect(error.reason).toBe('exit');
    expect(error.exitCode).toBe(4);
  });

  it('stops every process of a pipeline that hangs, at the timeout', async () => {
    const seconds = uniqueSeconds();
    const started = Date.now();
    const error = await failure(
      runBatch(options(`cat | sleep ${seconds} | sleep ${seconds}`, { timeoutMs: 500 }), ['a']),
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error.reason).toBe('timeout');
    expect(error.message).toMatch(/did not finish after 500 ms \(1 line written, stdin closed\)/);
    expect(processesWith(seconds)).toEqual([]);
  });
});
