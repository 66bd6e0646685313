// A shell operator's batch: a process fed its lines, raced against the batch's timeout and the run's abort.
import { timeoutFailure, type CommandFailed } from './failure';
import { ShellProcess, type CommandOptions } from './process';

/** How a batch's wait ended. */
type Ending<T> =
  | { kind: 'done'; value: T }
  | { kind: 'failed'; failure: CommandFailed }
  | { kind: 'timeout' }
  | { kind: 'aborted'; reason: unknown }
  | { kind: 'error'; error: unknown };

/**
 * Waits for `done`, the process's own failure, the timeout or the abort, whichever comes first. On anything but
 * done, the process group is stopped before this returns, and the failure thrown: a CommandFailed, the abort's
 * reason, or an error of the caller's lines.
 */
export async function settleBatch<T>(
  proc: ShellProcess,
  done: Promise<T>,
  options: { timeoutMs: number; signal?: AbortSignal; marker?: string },
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const ending = await Promise.race<Ending<T>>([
    done.then(
      (value) => ({ kind: 'done', value }),
      (error: unknown) => ({ kind: 'error', error }),
    ),
    proc.failed.then((failure) => ({ kind: 'failed', failure })),
    new Promise((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'timeout' }), options.timeoutMs);
      onAbort = () => resolve({ kind: 'aborted', reason: options.signal?.reason });
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
    }),
  ]);
  clearTimeout(timer);
  if (onAbort) options.signal?.removeEventListener('abort', onAbort);
  if (ending.kind === 'done') return ending.value;
  // Where the batch stood at the timeout, before stopping changes it.
  const state = {
    linesWritten: proc.linesWritten,
    stalledMs: proc.waitingSince === undefined ? undefined : Date.now() - proc.waitingSince,
  };
  await proc.stop();
  switch (ending.kind) {
    case 'failed':
      throw ending.failure;
    case 'timeout':
      throw timeoutFailure({
        ...state,
        command: proc.options.command,
        timeoutMs: options.timeoutMs,
        marker: options.marker,
        stderrTail: proc.stderr.text(),
      });
    case 'aborted':
      throw ending.reason;
    case 'error':
      throw ending.error;
  }
}

/** Rejects when `promise` does (the caller's lines threw), else never settles: it ends a batch only by failing. */
export function failureOf(promise: Promise<unknown>): Promise<never> {
  return promise.then(() => new Promise<never>(() => {}));
}

/**
 * A fresh process for one batch: writes the lines to its stdin (with back-pressure, taking them from the iterable
 * as they go, while its stdout is read), closes stdin, and resolves with every output line once the process exited
 * with an ok code. A command that exits with an ok code before reading all its input (`head -1`) succeeded: its
 * output is the batch's. Rejects with CommandFailed (or the signal's reason on abort), the process group stopped.
 * With `onLine`, each output line is handed to it as it is read (none is kept, [] resolved): the caller may work on
 * the output while the command runs, and must drop what it made of it when the batch fails.
 */
export async function runBatch(
  options: CommandOptions,
  lines: Iterable<string>,
  signal?: AbortSignal,
  onLine?: (line: string) => void,
): Promise<string[]> {
  signal?.throwIfAborted();
  const output: string[] = [];
  const proc = new ShellProcess(options, onLine ?? ((line) => output.push(line)));
  const written = proc.write(lines).then(() => proc.endInput());
  const exited = Promise.race([failureOf(written), proc.closed]);
  const exit = await settleBatch(proc, exited, { timeoutMs: options.timeoutMs, signal });
  const failure = proc.exitFailure(exit);
  if (failure) throw failure;
  return output;
}
