// Runs a record through a list of stateless operators. A record's outputs are gathered before any leaves, so an
// operator that throws part-way (a flatMap's third value) leaves nothing of that record behind: the record is
// then stopped at, skipped or dead-lettered whole.
import type { Step, StreamRecord } from '../api';
import { RecordProblem } from './messages';

/** A value on its way to a sink or the repartition topic, with its key (null: unkeyed). */
export interface Output {
  value: unknown;
  key: string | null;
  record: StreamRecord;
}

/** Counts the runtime keeps per operator (by index in the list). */
export interface OperatorCounts {
  in(step: number, count?: number): void;
  out(step: number, count?: number): void;
}

/** Looks up the row of a key in a join's table. */
export type Lookup = (step: Extract<Step, { kind: 'join' }>, key: string | null) => Promise<unknown>;

/** A record's path still under way: a promise only when an operator returned one. */
type Pending = void | Promise<void>;

const isPromise = (value: unknown): value is Promise<unknown> =>
  typeof (value as Promise<unknown> | undefined)?.then === 'function';

/** The operators of one stage, compiled once. */
export class Operators {
  constructor(
    private readonly steps: Step[],
    private readonly counts: OperatorCounts,
    private readonly lookup: Lookup,
    /** Index of steps[0] in the pipeline (for counts and names). */
    private readonly offset = 0,
  ) {}

  /**
   * The outputs of one value; throws (or rejects with) RecordProblem. Synchronous operators run without a promise
   * per record: only an operator that returns one makes the rest of that record's path wait for it.
   */
  run(value: unknown, key: string | null, record: StreamRecord): Output[] | Promise<Output[]> {
    const outputs: Output[] = [];
    const pending = this.push(0, value, key, record, outputs);
    return pending ? pending.then(() => outputs) : outputs;
  }

  /**
   * When these operators are one keyBy and nothing else: its key of a value, as run() would give it (the same counts
   * and RecordProblem), without an output made; else undefined.
   */
  keyer(): ((value: unknown, record: StreamRecord) => string | Promise<string>) | undefined {
    const step = this.steps[0];
    if (this.steps.length !== 1 || step?.kind !== 'keyBy') return undefined;
    const index = this.offset;
    const threw = (error: unknown) =>
      problemOf(step.label, index, `threw ${error instanceof Error ? error.message : String(error)}`);
    const keyFn = step.fn ?? recordKey;
    const keyOf = (result: unknown): string => {
      if (result === undefined || result === null) throw noKey(step, index, result);
      this.counts.out(index);
      return typeof result === 'string' ? result : JSON.stringify(result);
    };
    return (value, record) => {
      this.counts.in(index);
      let result: unknown;
      try {
        result = keyFn(value, record);
      } catch (error) {
        throw threw(error);
      }
      if (!isPromise(result)) return keyOf(result);
      return result.then(keyOf, (error: unknown) => {
        throw threw(error);
      });
    };
  }

  private push(i: number, value: unknown, key: string | null, record: StreamRecord, into: Output[]): Pending {
    if (i === this.steps.length) {
      into.push({ value, key, record });
      return;
    }
    const step = this.steps[i]!;
    if (step.kind === 'aggregate' || step.kind === 'shell')
      throw new Error(`${step.kind} is not a per-record operator`);
    const index = this.offset + i;
    this.counts.in(index);
    const threw = (error: unknown) =>
      problemOf(step.label, index, `threw ${error instanceof Error ? error.message : String(error)}`);
    let result: unknown;
    try {
      result = step.kind === 'join' ? this.join(step, value, key) : (step.fn ?? recordKey)(value, record);
    } catch (error) {
      throw threw(error);
    }
    if (!isPromise(result)) return this.next(step, i, index, result, value, key, record, into);
    return result.then(
      (settled) => this.next(step, i, index, settled, value, key, record, into),
      (error: unknown) => {
        throw threw(error);
      },
    );
  }

  /** What a step's result means for the record: on to the next step, dropped, or several values on. */
  private next(
    step: Exclude<Step, { kind: 'aggregate' | 'shell' }>,
    i: number,
    index: number,
    result: unknown,
    value: unknown,
    key: string | null,
    record: StreamRecord,
    into: Output[],
  ): Pending {
    switch (step.kind) {
      case 'map':
      case 'join':
        this.counts.out(index);
        return this.push(i + 1, result, key, record, into);
      case 'filter':
        if (!result) return;
        this.counts.out(index);
        return this.push(i + 1, value, key, record, into);
      case 'keyBy':
        if (result === undefined || result === null) throw noKey(step, index, result);
        this.counts.out(index);
        return this.push(i + 1, value, typeof result === 'string' ? result : JSON.stringify(result), record, into);
      case 'flatMap': {
        if (typeof (result as Iterable<unknown> | null)?.[Symbol.iterator] !== 'function') {
          throw problemOf(step.label, index, 'returned no iterable (an array, say)');
        }
        const values = Array.isArray(result) ? (result as unknown[]) : [...(result as Iterable<unknown>)];
        this.counts.out(index, values.length);
        for (let k = 0; k < values.length; k++) {
          const pending = this.push(i + 1, values[k], key, record, into);
          if (pending) return this.rest(pending, values, k + 1, i, key, record, into);
        }
        return;
      }
    }
  }

  /** A flatMap's values after one that had to wait: one at a time, in order. */
  private async rest(
    pending: Promise<void>,
    values: unknown[],
    from: number,
    i: number,
    key: string | null,
    record: StreamRecord,
    into: Output[],
  ): Promise<void> {
    await pending;
    for (let k = from; k < values.length; k++) await this.push(i + 1, values[k], key, record, into);
  }

  private async join(step: Extract<Step, { kind: 'join' }>, value: unknown, key: string | null): Promise<unknown> {
    return step.fn(value, await this.lookup(step, key));
  }
}

/** keyBy()'s key: the record's own Kafka key. */
const recordKey = (_value: unknown, record: StreamRecord): string | null => record.key;

/** A keyBy that gave no key: its function's fault, or (keyBy()) a record written without one, whose partition is
 * then not its key's: counted under '' in each partition it landed in, it would give as many wrong results. */
function noKey(step: Extract<Step, { kind: 'keyBy' }>, index: number, result: unknown): RecordProblem {
  const why = step.fn
    ? `gave the key ${String(result)}`
    : 'found no Kafka key on the record: keyBy() groups by the key each record was written with';
  return problemOf(step.label, index, why);
}

/** Operators are named by their label and their place: "filter (operator 2)". */
function problemOf(label: string, index: number, message: string): RecordProblem {
  const operator = `${label} (operator ${index + 1})`;
  return new RecordProblem(operator, `${operator} ${message}`, index);
}
