// A long-running shell operator: one process for the run, fed batch by batch. After each batch pbx writes a marker
// line; the command prints it back when it reaches it, so the lines before it are that batch's output.
import { settable, settlesWithin } from '../../async';
import { failureOf, settleBatch } from './batch';
import { endedInBatchFailure } from './failure';
import { ShellProcess, type CommandOptions } from './process';

/** The marker line written after each batch, unless CommandOptions.marker names another. */
export const DEFAULT_MARKER = 'pbx:batch-end';

interface FedBatch {
  output: string[];
  markerSeen: () => void;
}

/**
 * One process for the run. feed() writes the lines then the marker, and resolves with the lines printed before the
 * marker came back; one feed at a time. A process that exits (any code) while a batch is fed fails that batch, as
 * do a timeout, output that is not text, and an abort; the process group is stopped then, and the next feed()
 * starts a new process. close() ends stdin, waits for the exit (timeoutMs), and kills the group after.
 */
export class LongRunningCommand {
  private readonly marker: string;
  private proc?: ShellProcess;
  private batch?: FedBatch;
  /** Lines printed after a batch's marker: the start of the next batch's output. */
  private early: string[] = [];
  private closed = false;

  constructor(private readonly options: CommandOptions) {
    this.marker = options.marker ?? DEFAULT_MARKER;
  }

  /** The running process's id; undefined before the first batch and after a failure or close(). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Writes one batch and resolves with its output lines; rejects with CommandFailed, or the signal's reason. */
  async feed(lines: Iterable<string>, signal?: AbortSignal): Promise<string[]> {
    if (this.batch) throw new Error('LongRunningCommand.feed() was called before the previous batch completed');
    if (this.closed) throw new Error('LongRunningCommand.feed() was called after close()');
    signal?.throwIfAborted();
    const proc = this.running();
    const marker = settable<void>();
    const batch: FedBatch = { output: this.early, markerSeen: () => marker.resolve() };
    this.early = [];
    this.batch = batch;
    const { command, okExitCodes } = this.options;
    const ended = proc.closed.then((exit) => {
      throw proc.failure ?? endedInBatchFailure(command, exit, okExitCodes, proc.stderr.text());
    });
    const written = proc.write(this.withMarker(lines));
    try {
      await settleBatch(proc, Promise.race([marker.promise, failureOf(written), ended]), {
        timeoutMs: this.options.timeoutMs,
        signal,
        marker: this.marker,
      });
      return batch.output;
    } catch (error) {
      // The process was stopped: the next batch starts another.
      if (this.proc === proc) this.proc = undefined;
      throw error;
    } finally {
      this.batch = undefined;
    }
  }

  /** Ends stdin and waits for the process to exit (timeoutMs); stops its group if it does not. */
  async close(): Promise<void> {
    this.closed = true;
    const proc = this.proc;
    this.proc = undefined;
    if (!proc) return;
    proc.endInput();
    if (this.batch || !(await settlesWithin(proc.closed, this.options.timeoutMs))) await proc.stop();
    else proc.reapGroup();
  }

  /** The process, started when there is none (the first batch, or after one that failed or exited). */
  private running(): ShellProcess {
    if (this.proc?.writable) return this.proc;
    void this.proc?.stop();
    const proc = new ShellProcess(this.options, (line) => {
      if (this.proc !== proc) return;
      if (!this.batch) this.early.push(line);
      else if (line === this.marker) this.batch.markerSeen();
      else this.batch.output.push(line);
    });
    void proc.closed.then(() => {
      // Exited between batches: the next feed() starts another process; what it printed since is dropped.
      if (this.proc === proc && !this.batch) {
        this.proc = undefined;
        this.early = [];
      }
    });
    this.early = [];
    this.proc = proc;
    return proc;
  }

  /** The batch's lines, then the marker; a record that is the marker itself is written as JSON so it stays data. */
  private *withMarker(lines: Iterable<string>): Iterable<string> {
    for (const line of lines) yield line === this.marker ? JSON.stringify(line) : line;
    yield this.marker;
  }
}
