import { afterEach, describe, expect, it } from 'vitest';
import { CommandFailed, LongRunningCommand, type CommandOptions } from '../../src/pipelines/shell';
import { processesWith, uniqueSeconds } from '../support/processes';
import { waitFor } from '../support/wait';

const commands: LongRunningCommand[] = [];
afterEach(async () => {
  await Promise.all(commands.splice(0).map((c) => c.close()));
});

/** A long-running command closed after the test. */
function longRunning(command: string, more: Partial<CommandOptions> = {}): LongRunningCommand {
  const started = new LongRunningCommand({ command, okExitCodes: [0], timeoutMs: 10_000, ...more });
  commands.push(started);
  return started;
}

async function failure(promise: Promise<unknown>): Promise<CommandFailed> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CommandFailed);
  return error as CommandFailed;
}

const gone = (pid: number) => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

// Echoes each line but the marker upper-cased, reading and printing line by line (-u), as a long-running command
// must to give the marker back (mawk, Debian's awk, reads ahead unless run with -W interactive).
const UPPER = "sed -u '/^pbx:batch-end$/!s/.*/\\U&/'";

describe('LongRunningCommand', () => {
  it('feeds batches to one process and returns the lines printed before each marker', async () => {
    const command = longRunning(UPPER);
    expect(command.pid).toBeUndefined();
    await expect(command.feed(['a', 'b'])).resolves.toEqual(['A', 'B']);
    const pid = command.pid;
    await expect(command.feed([])).resolves.toEqual([]);
    await expect(command.feed(['c'])).resolves.toEqual(['C']);
    expect(command.pid).toBe(pid);
    await command.close();
    expect(command.pid).toBeUndefined();
    await waitFor(() => gone(pid!), { what: 'the process to be gone after close()', timeout: 5000 });
  });

  it('keeps a record that is the marker itself as data', async () => {
    const command = longRunning('while read l; do echo "$l"; done');
    await expect(command.feed(['x', 'pbx:batch-end', 'y'])).resolves.toEqual(['x', '"pbx:batch-end"', 'y']);
  });

  it('fails the batch that a dying process was fed, and starts another for the next', async () => {
    const command = longRunning('while read l; do [ "$l" = die ] && { echo "dying" >&2; exit 3; }; echo "$l"; done');
    await expect(command.feed(['a'])).resolves.toEqual(['a']);
    const error = await failure(command.feed(['b', 'die', 'c']));
    expect(error.reason).toBe('exit');
    expect(error.exitCode).toBe(3);
    expect(error.stderrTail).toBe('dying\n');
    await expect(command.feed(['d'])).resolves.toEqual(['d']);
  });

  it('fails a batch whose process exits with an ok code before its marker', async () => {
    const command = longRunning('read l; echo "$l"');
    const error = await failure(command.feed(['a', 'b']));
    expect(error.reason).toBe('exit');
    expect(error.message).toMatch(/exited \(code 0\) before it printed its batch's marker/);
  });

  it('starts a new process when the last one died between batches', async () => {
    const command = longRunning('while read l; do echo "$l"; done');
    await expect(command.feed(['a'])).resolves.toEqual(['a']);
    const pid = command.pid!;
    process.kill(-pid, 'SIGKILL');
    await waitFor(() => command.pid === undefined, { what: 'the dead process to be forgotten', timeout: 5000 });
    await expect(command.feed(['b'])).resolves.toEqual(['b']);
    expect(command.pid).not.toBe(pid);
  });

  it('reports a process killed during a batch', async () => {
    const command = longRunning('while read l; do [ "$l" = boom ] && kill -9 $$; echo "$l"; done');
    const error = await failure(command.feed(['a', 'boom']));
    expect(error.reason).toBe('signal');
    expect(error.signal).toBe('SIGKILL');
  });

  it('times out when the marker never comes back, and leaves no process', async () => {
    const seconds = uniqueSeconds();
    const command = longRunning(`grep --line-buffered -v batch-end; sleep ${seconds}`, { timeoutMs: 500 });
    const error = await failure(command.feed(['a']));
    expect(error.reason).toBe('timeout');
    expect(error.message).toContain('did not print the marker line "pbx:batch-end" within 500 ms of its batch');
    expect(error.message).toContain('flush its output');
    expect(command.pid).toBeUndefined();
    expect(processesWith(seconds)).toEqual([]);
  });

  it('stops the process group when the batch is aborted', async () => {
    const seconds = uniqueSeconds();
    const command = longRunning(`sleep ${seconds} | sleep ${seconds}`);
    const abort = new AbortController();
    const fed = command.feed(['a'], abort.signal);
    await waitFor(() => processesWith(seconds).length === 3, { what: 'the pipeline to run', timeout: 5000 });
    abort.abort(new Error('Ctrl-C'));
    await expect(fed).rejects.toThrow('Ctrl-C');
    expect(processesWith(seconds)).toEqual([]);
  });

  it('close() kills a process that does not exit when its stdin ends', async () => {
    const seconds = uniqueSeconds();
    const command = longRunning(`trap '' TERM; while read l; do echo "$l"; done; sleep ${seconds}`, {
      timeoutMs: 300,
    });
    await expect(command.feed(['a'])).resolves.toEqual(['a']);
    await command.close();
    expect(processesWith(seconds)).toEqual([]);
  });
});
