// Shell steps at run time. A shell step is batch-level: the per-record operators before it run on every record of
// the stage's batch, their outputs are fed to the command as one batch, its lines decoded, and the per-record
// operators after it run on each of them. A stage's steps are cut at its shell steps into segments:
//   first (per record) → shell → after (per record) → shell → after …
// The worker commits a batch only once `finish` resolved, so a batch's offsets never pass output not yet complete.
import type { ShellStep, Step, StreamRecord } from '../api';
import { CommandFailed, decodeLine, encodeLine, LongRunningCommand, runBatch, type CommandOptions } from '../shell';
import { RecordProblem } from './messages';
import { Operators, type Lookup, type OperatorCounts, type Output } from './operators';
import { RepartitionChunks } from './repartition';

/** A shell command that failed a batch: --on-error applies to every record of the batch. */
export class BatchFailed extends RecordProblem {
  constructor(operator: string, message: string, step: number) {
    super(operator, message, step);
    this.name = 'BatchFailed';
  }
}

/** One shell step's processes: a fresh one per batch, or one long-running command per partition it works on. */
export class ShellOperator {
  private readonly running = new Map<string, LongRunningCommand>();
  private readonly options: CommandOptions;
  readonly name: string;

  constructor(
    readonly step: ShellStep,
    /** The step's index in the pipeline. */
    readonly index: number,
  ) {
    const { okExitCodes, env, cwd, timeoutMs, marker } = step.options;
    this.options = {
      command: step.command,
      okExitCodes,
      timeoutMs,
      marker,
      ...(env ? { env } : {}),
      ...(cwd ? { cwd } : {}),
    };
    this.name = `shell ${JSON.stringify(step.label)} (operator ${index + 1})`;
  }

  /**
   * The command's output lines for a batch of values; rejects with BatchFailed, naming the command and why. With
   * `onLine`, the lines are handed to it instead (as they are read, in batch mode), and none is returned.
   */
  async run(values: unknown[], partition: string, onLine?: (line: string) => void): Promise<string[]> {
    const lines = encodeLines(values);
    try {
      if (this.step.options.mode !== 'long-running') return await runBatch(this.options, lines, undefined, onLine);
      const output = await this.command(partition).feed(lines);
      if (!onLine) return output;
      for (const line of output) onLine(line);
      return [];
    } catch (error) {
      // A long-running command that failed a batch is not trusted with the next: a fresh one starts then.
      await this.close(partition);
      throw new BatchFailed(this.name, `${this.name}: ${failureOf(error)}`, this.index);
    }
  }

  /** Closes the long-running commands of `partition`, or of every partition not kept, or all. */
  async close(partition?: string, keep?: Set<string>): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [key, command] of this.running) {
      if (partition !== undefined ? key !== partition : keep?.has(key)) continue;
      this.running.delete(key);
      closing.push(command.close().catch(() => undefined));
    }
    await Promise.all(closing);
  }

  private command(partition: string): LongRunningCommand {
    let command = this.running.get(partition);
    if (!command) {
      command = new LongRunningCommand(this.options);
      this.running.set(partition, command);
    }
    return command;
  }
}

/** Each value as its input line; a value the same as the one before (a window's run of one word) encoded once. */
function encodeLines(values: unknown[]): string[] {
  const lines: string[] = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    lines[i] = i > 0 && value === values[i - 1] ? lines[i - 1]! : encodeLine(value);
  }
  return lines;
}

/** What a failed command says to the user: the process layer's words (its exit, signal or reason, and the last
 * line of its stderr), and the rest of its stderr's tail when there is more. */
export function failureOf(error: unknown): string {
  if (!(error instanceof CommandFailed)) return `failed: ${error instanceof Error ? error.message : String(error)}`;
  const stderr = error.stderrTail.trim();
  return stderr.includes('\n') ? `${error.message}; its stderr ends:\n${stderr}` : error.message;
}

/** Where a batch came from: its partition (for long-running commands) and last offset, as its outputs' record says. */
export interface BatchOrigin {
  topic: string;
  partition: number;
  offset: string;
}

/** A stage's operators, shell steps among them. */
export class StageOperators {
  /** The per-record operators before the first shell step: all of them when there is none. */
  readonly first: Operators;
  private readonly segments: Array<{ shell: ShellOperator; after: Operators }> = [];

  constructor(
    steps: Step[],
    private readonly counts: OperatorCounts,
    lookup: Lookup,
    /** Index of steps[0] in the pipeline. */
    offset = 0,
  ) {
    const cuts = steps.flatMap((step, i) => (step.kind === 'shell' ? [i] : []));
    this.first = new Operators(steps.slice(0, cuts[0] ?? steps.length), counts, lookup, offset);
    cuts.forEach((at, k) => {
      const end = cuts[k + 1] ?? steps.length;
      this.segments.push({
        shell: new ShellOperator(steps[at] as ShellStep, offset + at),
        after: new Operators(steps.slice(at + 1, end), counts, lookup, offset + at + 1),
      });
    });
  }

  /** Whether a batch's outputs of `first` must go through `finish`. */
  get batched(): boolean {
    return this.segments.length > 0;
  }

  /**
   * The first segment's outputs of a batch through every shell step and the operators after it. A shell step that
   * fails rejects with BatchFailed; an operator after one that fails on an output calls `failed`, and rejects with
   * its problem when that returns true (--on-error stop). With `into`, when the last shell step is followed by a
   * keyBy alone, its outputs go into those repartition chunks (none is returned): a line keyed by itself as text.
   */
  async finish(
    outputs: Output[],
    origin: BatchOrigin,
    failed: (output: Output, problem: RecordProblem) => boolean,
    into?: RepartitionChunks,
  ): Promise<Output[]> {
    let current = outputs;
    for (const [k, { shell, after }] of this.segments.entries()) {
      // An empty batch starts no process.
      if (current.length === 0) return current;
      this.counts.in(shell.index, current.length);
      const values = current.map((o) => o.value);
      const partition = `${origin.topic}/${origin.partition}`;
      const record = batchRecord(current, origin);
      const keyer = into && k === this.segments.length - 1 ? after.keyer() : undefined;
      if (keyer) {
        // Keyed as the command prints them: pbx's work on the output goes on while the command runs.
        const keying = new KeyedLines(keyer, record, into!.partitions);
        await shell.run(values, partition, (line) => keying.line(line));
        this.counts.out(shell.index, keying.count);
        await keying.into(into!, (value, problem) =>
          failed({ value, key: keyOf(value, shell.step.options.key), record }, problem),
        );
        return [];
      }
      const lines = await shell.run(values, partition);
      this.counts.out(shell.index, lines.length);
      const next: Output[] = [];
      // Per output line: no object made for it but its outputs (a word count's million words pass here).
      for (const line of lines) {
        const value = decodeLine(line);
        const key = keyOf(value, shell.step.options.key);
        try {
          const ran = after.run(value, key, record);
          for (const output of Array.isArray(ran) ? ran : await ran) next.push(output);
        } catch (error) {
          if (!(error instanceof RecordProblem)) throw error;
          if (failed({ value, key, record }, error)) throw error;
        }
      }
      current = next;
    }
    return current;
  }

  /** Ends the long-running commands of partitions not in `keep` (`topic/partition`), or all of them. */
  async close(keep?: Set<string>): Promise<void> {
    await Promise.all(this.segments.map(({ shell }) => shell.close(undefined, keep ?? new Set())));
  }
}

/**
 * A shell's output lines keyed into repartition chunks of their own, as they come: per line no object but its key,
 * and no JSON either way for a line that is a string keyed by itself (a word keyed by itself). Nothing reaches the
 * batch's chunks before `into`, once the command succeeded: a failed batch leaves nothing of its output behind.
 */
class KeyedLines {
  private readonly chunks: RepartitionChunks;
  /** Lines from the first whose key was a promise on, keyed in order by `into`. */
  private readonly waiting: Array<{ line: string; value: unknown; key: string | Promise<string> }> = [];
  /** keyBy's failures, for --on-error once the batch succeeded. */
  private readonly failures: Array<{ value: unknown; problem: RecordProblem }> = [];
  /** Anything else thrown (a bug): thrown by `into`, not from the output's reading. */
  private error?: { thrown: unknown };
  count = 0;

  constructor(
    private readonly keyer: (value: unknown, record: StreamRecord) => string | Promise<string>,
    private readonly record: StreamRecord,
    partitions: number,
  ) {
    this.chunks = new RepartitionChunks(partitions);
  }

  line(line: string): void {
    this.count++;
    if (this.error) return;
    const value = decodeLine(line);
    try {
      const key = this.keyer(value, this.record);
      if (typeof key === 'string' && this.waiting.length === 0) this.put(line, value, key);
      else this.waiting.push({ line, value, key });
    } catch (error) {
      if (error instanceof RecordProblem) this.failures.push({ value, problem: error });
      else this.error = { thrown: error };
    }
  }

  /** The batch's lines into `chunks`, after those waiting for their key; each keyBy failure to `failed`, which
   * returns true to stop (the problem thrown then). */
  async into(chunks: RepartitionChunks, failed: (value: unknown, problem: RecordProblem) => boolean): Promise<void> {
    if (this.error) throw this.error.thrown;
    for (const { line, value, key } of this.waiting) {
      try {
        this.put(line, value, typeof key === 'string' ? key : await key);
      } catch (error) {
        if (!(error instanceof RecordProblem)) throw error;
        this.failures.push({ value, problem: error });
      }
    }
    for (const { value, problem } of this.failures) if (failed(value, problem)) throw problem;
    chunks.append(this.chunks);
  }

  private put(line: string, value: unknown, key: string): void {
    if (key === line && value === line) this.chunks.addLine(line, this.record);
    else this.chunks.add(key, value, this.record);
  }
}

/** The record a shell's outputs carry: the batch's partition and last offset, its newest create and event times. */
function batchRecord(inputs: Output[], origin: BatchOrigin): StreamRecord {
  let timestamp = 0;
  let time = -Infinity;
  for (const { record } of inputs) {
    if (record.timestamp > timestamp) timestamp = record.timestamp;
    if (record.time > time) time = record.time;
  }
  const { topic, partition, offset } = origin;
  return { topic, partition, offset, key: null, headers: {}, timestamp, time };
}

/** options.key: the output's field of that name as its key; null when there is none. */
function keyOf(value: unknown, field: string | undefined): string | null {
  if (field === undefined || value === null || typeof value !== 'object') return null;
  const key = (value as Record<string, unknown>)[field];
  if (key === undefined || key === null) return null;
  return typeof key === 'string' ? key : JSON.stringify(key);
}
