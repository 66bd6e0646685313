import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBatch, type CommandOptions } from '../../src/pipelines/shell';
import { commandFailure, processesWith, uniqueSeconds } from '../support/shell';
import { waitFor } from '../support/wait';

const options = (command: string, more: Partial<CommandOptions> = {}): CommandOptions => ({
  command,
  okExitCodes: [0],
  timeoutMs: 10_000,
  ...more,
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
    const error = await commandFailure(runBatch(options('grpe x'), ['a', 'b']));
    expect(error.reason).toBe('not-found');
    expect(error.exitCode).toBe(127);
    expect(error.message).toBe('the command `grpe` was not found (sh exit 127): check its name and PATH');
    expect(error.stderrTail).toContain('grpe');
  });

  it('fails on an exit code that is not ok, with its stderr tail, and counts the ok ones as success', async () => {
    const error = await commandFailure(runBatch(options('grep zebra'), ['cat', 'dog']));
    expect(error.reason).toBe('exit');
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain('add it to okExitCodes');
    await expect(runBatch(options('grep zebra', { okExitCodes: [0, 1] }), ['cat', 'dog'])).resolves.toEqual([]);
    const said = await commandFailure(runBatch(options('echo "bad input at line 2" >&2; exit 3'), []));
    expect(said.message).toContain('exited with code 3 ("bad input at line 2")');
  });

  it('keeps the last 2 KiB of stderr', async () => {
    const error = await commandFailure(runBatch(options('seq 1 5000 >&2; exit 2'), []));
    expect(Buffer.byteLength(error.stderrTail)).toBe(2048);
    expect(error.stderrTail.endsWith('4999\n5000\n')).toBe(true);
  });
});

describe('runBatch when the command misbehaves', () => {
  const many = (n: number, width = 100) => Array.from({ length: n }, (_, i) => String(i).padEnd(width, 'x'));

  it('takes an ok exit before all input was read as success: head -1 did not need the rest', async () => {
    await expect(runBatch(options('head -1'), many(50_000))).resolves.toEqual([many(1)[0]]);
    const error = await commandFailure(runBatch(options('head -1; exit 4'), many(50_000)));
    expect(error.reason).toBe('exit');
    expect(error.exitCode).toBe(4);
  });

  it('stops every process of a pipeline that hangs, at the timeout', async () => {
    const seconds = uniqueSeconds();
    const started = Date.now();
    const error = await commandFailure(
      runBatch(options(`cat | sleep ${seconds} | sleep ${seconds}`, { timeoutMs: 500 }), ['a']),
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error.reason).toBe('timeout');
    expect(error.message).toMatch(/did not finish after 500 ms \(1 line written, stdin closed\)/);
    expect(processesWith(seconds)).toEqual([]);
  });
});

describe('runBatch stops a command that', () => {
  it('prints binary output: a NUL byte or invalid UTF-8', async () => {
    const seconds = uniqueSeconds();
    const nul = await commandFailure(runBatch(options(`printf 'ok\\n\\000\\n'; sleep ${seconds}`), []));
    expect(nul.reason).toBe('binary-output');
    expect(nul.message).toMatch(/printed binary output \(a NUL byte in output line 2\).*encode binary data/);
    expect(processesWith(seconds)).toEqual([]);
    const latin1 = await commandFailure(runBatch(options("printf 'caf\\351\\n'"), []));
    expect(latin1.reason).toBe('binary-output');
    expect(latin1.message).toContain('invalid UTF-8 in output line 1');
  });

  it('prints a line longer than maxLineBytes, at the limit, not at the end of the line', async () => {
    const seconds = uniqueSeconds();
    // An endless line: only stopping at the limit ends it.
    const error = await commandFailure(
      runBatch(options(`yes ${seconds} | tr -d '\\n'`, { maxLineBytes: 100_000 }), []),
    );
    expect(error.reason).toBe('line-too-long');
    expect(error.message).toContain('printed a line longer than 100000 bytes (output line 1), so it was stopped there');
    expect(processesWith(seconds)).toEqual([]);
  });

  it('never reads its stdin: the write waits (back-pressure) until the timeout, reason no-input', async () => {
    const seconds = uniqueSeconds();
    let pulled = 0;
    function* lines() {
      for (let i = 0; i < 100_000; i++, pulled++) yield String(i).padEnd(100, 'x');
    }
    const error = await commandFailure(runBatch(options(`sleep ${seconds}`, { timeoutMs: 500 }), lines()));
    expect(error.reason).toBe('no-input');
    expect(error.message).toMatch(
      /stopped reading its input, or never read it: its stdin had been full for \d+ ms when the batch's 500 ms were up \(\d+ lines given\)/,
    );
    // Lines are taken only as stdin takes them: its buffer's worth and a write's, not the 10 MB batch.
    expect(pulled).toBeLessThan(10_000);
    expect(processesWith(seconds)).toEqual([]);
  });

  it('stops reading its stdin halfway: no-input too', async () => {
    const seconds = uniqueSeconds();
    const lines = Array.from({ length: 100_000 }, (_, i) => String(i).padEnd(100, 'x'));
    const error = await commandFailure(
      runBatch(options(`head -c 1000000 >/dev/null; sleep ${seconds}`, { timeoutMs: 2000 }), lines),
    );
    expect(error.reason).toBe('no-input');
    expect(processesWith(seconds)).toEqual([]);
  });

  it('reads its stdin slower than the timeout allows: a timeout while it is being fed', async () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => String(i).padEnd(1000, 'x'));
    // sh's read takes a byte at a time: about 2 MB/s, never still for long, far from the 20 MB in 2 s.
    const error = await commandFailure(runBatch(options('while read l; do :; done', { timeoutMs: 2000 }), lines));
    expect(error.reason).toBe('timeout');
    expect(error.message).toMatch(/was still being fed its input after 2 s \(\d+ lines given\), so it was stopped/);
  });

  it('prints more than maxOutputBytes for one batch', async () => {
    const seconds = uniqueSeconds();
    const error = await commandFailure(runBatch(options(`yes ${seconds}`, { maxOutputBytes: 1_000_000 }), []));
    expect(error.reason).toBe('output-too-large');
    expect(error.message).toMatch(/printed more than 1000000 bytes for one batch \(\d+ lines\), so it was stopped/);
    expect(processesWith(seconds)).toEqual([]);
  });

  it('is aborted (Ctrl-C): the abort reason, and the whole pipeline gone', async () => {
    const seconds = uniqueSeconds();
    const abort = new AbortController();
    const batch = runBatch(options(`sleep ${seconds} | sleep ${seconds}`), ['a'], abort.signal);
    await waitFor(() => processesWith(seconds).length === 3, { what: 'the pipeline to run', timeout: 5000 });
    abort.abort(new Error('Ctrl-C'));
    await expect(batch).rejects.toThrow('Ctrl-C');
    expect(processesWith(seconds)).toEqual([]);
    await expect(runBatch(options('cat'), ['a'], abort.signal)).rejects.toThrow('Ctrl-C');
  });

  it('started a background process: the batch succeeds and the process is killed with its group', async () => {
    const seconds = uniqueSeconds();
    await expect(runBatch(options(`sleep ${seconds} >/dev/null 2>&1 & echo started`), [])).resolves.toEqual([
      'started',
    ]);
    // One that holds stdout open does not hold the batch up either.
    await expect(runBatch(options(`sleep ${seconds} & echo started`, { timeoutMs: 5000 }), [])).resolves.toEqual([
      'started',
    ]);
    await waitFor(() => processesWith(seconds), { what: 'no sleep left', timeout: 5000, until: (p) => p.length === 0 });
  });
});

describe('runBatch reports', () => {
  it('a command killed by a signal, itself or within the shell', async () => {
    const itself = await commandFailure(runBatch(options('kill -9 $$'), []));
    expect(itself.reason).toBe('signal');
    expect(itself.signal).toBe('SIGKILL');
    const within = await commandFailure(runBatch(options("sh -c 'kill -9 $$'; exit $?"), []));
    expect(within.reason).toBe('signal');
    expect(within.exitCode).toBe(137);
    expect(within.message).toContain('exited with code 137 (128 + SIGKILL');
  });

  it('a command that cannot be started', async () => {
    const error = await commandFailure(runBatch(options('cat', { cwd: '/no/such/directory' }), ['a']));
    expect(error.reason).toBe('spawn');
    expect(error.message).toMatch(
      /could not be started in \/no\/such\/directory: .*check that the working directory exists/,
    );
    const nul = await commandFailure(runBatch(options('echo a\0b'), []));
    expect(nul.reason).toBe('spawn');
  });

  it('an error of the lines given, with the process stopped', async () => {
    const seconds = uniqueSeconds();
    function* lines() {
      yield 'a';
      throw new Error('a record could not be encoded');
    }
    await expect(runBatch(options(`cat; sleep ${seconds}`), lines())).rejects.toThrow('could not be encoded');
    expect(processesWith(seconds)).toEqual([]);
  });
});

describe('runBatch with a command slower than its input', () => {
  it('holds a bounded part of the batch: lines are taken as stdin takes them, not all at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbx-shell-'));
    const progress = join(dir, 'progress');
    try {
      // 4 MB through a reader that writes down every line it has read (sh's read: about 2 MB/s).
      const total = 4000;
      const line = (i: number) => String(i).padEnd(999, 'x');
      let pulledBytes = 0;
      let mostAhead = 0;
      function* lines() {
        for (let i = 0; i < total; i++) {
          const readBytes = i === 0 ? 0 : (statSync(progress, { throwIfNoEntry: false })?.size ?? 0);
          mostAhead = Math.max(mostAhead, pulledBytes - readBytes);
          pulledBytes += 1000;
          yield line(i);
        }
      }
      const command = 'while read l; do printf "%s\\n" "$l" >> "$PROGRESS"; done; echo done';
      await expect(runBatch(options(command, { env: { PROGRESS: progress } }), lines())).resolves.toEqual(['done']);
      expect(statSync(progress).size).toBe(total * 1000);
      // What was taken from the batch but not yet read by the command: stdin's socket buffer (about 200 KB here)
      // and a write or two of 64 KiB, never the 4 MB.
      expect(mostAhead).toBeGreaterThan(64 * 1024);
      expect(mostAhead).toBeLessThan(1024 * 1024);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
