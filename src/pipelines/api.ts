// The API a pipeline module is written against (`import { pipeline, cassandra, tumbling } from 'pbx'`).
// A module only describes its pipeline: the builder collects pure data (a PipelineSpec) that the runtime
// (src/pipelines/runtime/) checks and runs. Nothing here connects to anything.

/** Milliseconds, or a string such as '500ms', '30s', '5m', '1h', '1d'. */
export type Duration = number | string;

/** Where a record came from and what Kafka says of it; the second argument of every operator. */
export interface StreamRecord {
  topic: string;
  partition: number;
  /** Kafka offsets are 64-bit: a decimal string. */
  offset: string;
  key: string | null;
  headers: Record<string, string>;
  /** The Kafka record's create time, ms. */
  timestamp: number;
  /** Event time, ms: `from`'s `time` function, else the Kafka timestamp. */
  time: number;
}

type Awaitable<T> = T | Promise<T>;
export type Operator<I, O> = (value: I, record: StreamRecord) => Awaitable<O>;

export interface SourceOptions<T> {
  /** Event time in ms, read from the value (default: the Kafka record's timestamp). */
  time?: (value: T, record: StreamRecord) => number;
  /** How values are read: parsed as JSON (default; a value that is not JSON is an error), or as UTF-8 text. */
  format?: 'json' | 'text';
}

export type WindowSpec =
  | { kind: 'tumbling'; size: number }
  | { kind: 'hopping'; size: number; advance: number }
  | { kind: 'session'; gap: number };

export interface WindowOptions {
  /** How long after a window's end records are still counted in it (event time; default 0). */
  lateness?: Duration;
}

/** How a keyed (and possibly windowed) aggregate folds values: the one shape count, sum, reduce and aggregate share. */
export interface Aggregation {
  /** The output field the result is written to: count, sum or value. */
  field: 'count' | 'sum' | 'value';
  init: () => unknown;
  add: (accumulator: unknown, value: unknown, record: StreamRecord) => unknown;
  /** Session windows merge: how two accumulators of one key become one. */
  merge?: (a: unknown, b: unknown) => unknown;
}

export type Step =
  | { kind: 'map'; fn: Operator<unknown, unknown>; label: string }
  | { kind: 'filter'; fn: Operator<unknown, boolean>; label: string }
  | { kind: 'flatMap'; fn: Operator<unknown, Iterable<unknown>>; label: string }
  /** Without `fn`: the record's own Kafka key (`keyBy()`), so a topic partitioned by its key needs no repartition. */
  | { kind: 'keyBy'; fn?: Operator<unknown, unknown>; label: string }
  | {
      kind: 'aggregate';
      window?: WindowSpec;
      /** ms; windows only. */
      lateness: number;
      aggregation: Aggregation;
      label: string;
    }
  | { kind: 'join'; table: TableSpec; fn: (value: unknown, row: unknown) => unknown; label: string }
  | ShellStep;

/** How a shell command runs as an operator (see `Stream.shell`). */
export interface ShellOptions {
  /** 'batch' (default): a fresh process for each batch; 'long-running': one process for the run (per partition), fed
   * batch by batch, the marker line written after each batch and awaited in its output. */
  mode?: 'batch' | 'long-running';
  /** Exit codes that mean success (default [0]); grep exits 1 when nothing matched: [0, 1]. */
  okExitCodes?: number[];
  /** Added to pbx's own environment. */
  env?: Record<string, string>;
  cwd?: string;
  /** Longest a batch may take, from its first line written to its output complete (default '30s'). */
  timeout?: Duration;
  /** long-running: the line written after each batch, which the command must print back (default 'pbx:batch-end'). */
  marker?: string;
  /** A field of the (JSON object) output lines to key them by; without it outputs carry the key null. */
  key?: string;
}

export interface ResolvedShellOptions {
  mode: 'batch' | 'long-running';
  okExitCodes: number[];
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs: number;
  marker: string;
  key?: string;
}

/** A shell command over batches of records: 'stream' runs where it is; 'keyed' and 'window' after the repartition. */
export interface ShellStep {
  kind: 'shell';
  command: string;
  options: ResolvedShellOptions;
  scope: 'stream' | 'keyed' | 'window';
  window?: WindowSpec;
  /** ms; windows only. */
  lateness: number;
  label: string;
}

/** A table to join with, looked up by the record's key. */
export type TableSpec =
  | { kind: 'topic'; topic: string }
  | { kind: 'cassandra'; keyspace: string; table: string; column: string }
  | { kind: 'redis'; prefix: string };

export type RedisSinkType = 'string' | 'json' | 'hash' | 'set' | 'zset' | 'stream';

export type SinkSpec =
  | { kind: 'kafka'; topic: string }
  | { kind: 'cassandra'; keyspace: string; table: string }
  | {
      kind: 'redis';
      type: RedisSinkType;
      key: (value: unknown, record: StreamRecord) => string;
      /** zset: the member's score. */
      score?: (value: unknown, record: StreamRecord) => number;
      /** set and zset: the member (default: the value as compact JSON). */
      member?: (value: unknown, record: StreamRecord) => string;
    }
  | { kind: 'stdout' };

export interface PipelineSpec {
  name: string;
  /** Absent when the module never called `from`: refused before anything connects. */
  source?: { topics: string[]; time?: (value: unknown, record: StreamRecord) => number; format: 'json' | 'text' };
  steps: Step[];
  sinks: SinkSpec[];
}

/** What the runtime finds on a module's default export. */
export const SPEC = Symbol.for('pbx.pipeline');
export interface HasSpec {
  readonly [SPEC]: PipelineSpec;
}

/** What a window or a keyed aggregate emits: the key, the window's bounds (ms) and the aggregate under the name of
 * its kind (count, sum or value), as one flat object: what sinks write. */
export type AggregateResult<F extends string, A> = { key: string; window_start?: number; window_end?: number } & {
  [K in F]: A;
};

/** Shell options with their defaults; throws (at load time) on what is not valid. */
export function resolveShellOptions(command: string, options: ShellOptions = {}): ResolvedShellOptions {
  if (typeof command !== 'string' || command.trim() === '') throw new TypeError('shell(): name a command to run.');
  const mode = options.mode ?? 'batch';
  if (mode !== 'batch' && mode !== 'long-running')
    throw new TypeError(`shell(): mode ${JSON.stringify(mode)}: expected 'batch' or 'long-running'.`);
  const okExitCodes = options.okExitCodes ?? [0];
  if (!Array.isArray(okExitCodes) || !okExitCodes.every((c) => Number.isInteger(c) && c >= 0 && c <= 255))
    throw new TypeError('shell(): okExitCodes must be exit codes (integers 0 to 255).');
  const timeoutMs = positive(toMs(options.timeout ?? '30s', 'shell timeout'), 'shell timeout');
  const marker = options.marker ?? 'pbx:batch-end';
  if (marker === '' || marker.includes('\n')) throw new TypeError('shell(): the marker must be one non-empty line.');
  return {
    mode,
    okExitCodes,
    timeoutMs,
    marker,
    ...(options.env ? { env: options.env } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.key ? { key: options.key } : {}),
  };
}

function shellStep(
  command: string,
  options: ShellOptions | undefined,
  label: string | undefined,
  scope: ShellStep['scope'],
): ShellStep {
  return {
    kind: 'shell',
    command,
    options: resolveShellOptions(command, options),
    scope,
    lateness: 0,
    label: label ?? command,
  };
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration in ms; throws on what is not one (the module's author sees it at load time). */
export function toMs(duration: Duration, what = 'duration'): number {
  if (typeof duration === 'number' && Number.isFinite(duration) && duration >= 0) return duration;
  const match = typeof duration === 'string' ? /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(duration.trim()) : null;
  if (!match)
    throw new TypeError(`${what} ${JSON.stringify(duration)}: expected ms or a string like '30s', '5m', '1h'.`);
  return Number(match[1]) * UNITS[match[2]!]!;
}

export function tumbling(size: Duration): WindowSpec {
  return { kind: 'tumbling', size: positive(toMs(size, 'tumbling size'), 'tumbling size') };
}
export function hopping(size: Duration, advance: Duration): WindowSpec {
  const sizeMs = positive(toMs(size, 'hopping size'), 'hopping size');
  const advanceMs = positive(toMs(advance, 'hopping advance'), 'hopping advance');
  if (advanceMs > sizeMs) throw new TypeError('hopping: the advance must not be larger than the size.');
  return { kind: 'hopping', size: sizeMs, advance: advanceMs };
}
export function session(gap: Duration): WindowSpec {
  return { kind: 'session', gap: positive(toMs(gap, 'session gap'), 'session gap') };
}
function positive(ms: number, what: string): number {
  if (ms <= 0) throw new TypeError(`${what} must be more than 0.`);
  return ms;
}

/** A Cassandra table to upsert into: 'keyspace.table'; value fields are written to the columns of the same name. */
export function cassandra(table: string): SinkSpec {
  const [keyspace, name, extra] = table.split('.');
  if (!keyspace || !name || extra !== undefined)
    throw new TypeError(`cassandra(${JSON.stringify(table)}): expected 'keyspace.table'.`);
  return { kind: 'cassandra', keyspace, table: name };
}

/** A Kafka topic, keyed by the record's key. A plain string in `.to()` means the same. */
export function topic(name: string): SinkSpec {
  return { kind: 'kafka', topic: name };
}

/**
 * The process's standard output: one value a line (a string as it is, anything else as compact JSON). At least once,
 * not effectively once: a value is printed before its batch commits, so a run stopped mid-batch prints it again.
 */
export function stdout(): SinkSpec {
  return { kind: 'stdout' };
}

export interface RedisOptions<T> {
  /** The Redis key of each value (for example `(r) => \`movie:${r.key}\``). */
  key: (value: T, record: StreamRecord) => string;
  /** How it is stored (default json): string, json (a JSON string), hash (the fields), set, zset, stream. */
  type?: RedisSinkType;
  score?: (value: T, record: StreamRecord) => number;
  member?: (value: T, record: StreamRecord) => string;
}

/** Redis as a sink: values written as absolute values under `key(value)`. */
export function redis<T = unknown>(options: RedisOptions<T>): SinkSpec {
  return {
    kind: 'redis',
    type: options.type ?? 'json',
    key: options.key as (value: unknown, record: StreamRecord) => string,
    ...(options.score ? { score: options.score as (value: unknown, record: StreamRecord) => number } : {}),
    ...(options.member ? { member: options.member as (value: unknown, record: StreamRecord) => string } : {}),
  };
}

/** Tables to join with: a compacted topic, a Cassandra table by a key column, Redis JSON values by key prefix. */
export const table = {
  topic: (name: string): TableSpec => ({ kind: 'topic', topic: name }),
  cassandra: (name: string, column: string): TableSpec => {
    const [keyspace, t] = name.split('.');
    if (!keyspace || !t) throw new TypeError(`table.cassandra(${JSON.stringify(name)}): expected 'keyspace.table'.`);
    return { kind: 'cassandra', keyspace, table: t, column };
  },
  redis: (prefix = ''): TableSpec => ({ kind: 'redis', prefix }),
};

type Sink = SinkSpec | string;
const sinkOf = (sink: Sink): SinkSpec => (typeof sink === 'string' ? topic(sink) : sink);

/** The spec with more sinks; stdout once at most (twice would print every value twice). */
function withSinks(spec: PipelineSpec, sinks: Sink[]): PipelineSpec {
  const all = [...spec.sinks, ...sinks.map(sinkOf)];
  if (all.filter((sink) => sink.kind === 'stdout').length > 1)
    throw new TypeError('to(): stdout() is named twice; it would print every value twice.');
  return { ...spec, sinks: all };
}

/** A stream of values of type T: each operator returns a new stream; `to` ends the pipeline. */
export class Stream<T> implements HasSpec {
  readonly [SPEC]: PipelineSpec;
  constructor(spec: PipelineSpec) {
    this[SPEC] = spec;
  }

  protected with<U>(step: Step): Stream<U> {
    return new Stream<U>({ ...this[SPEC], steps: [...this[SPEC].steps, step] });
  }
  map<U>(fn: Operator<T, U>, label = 'map'): Stream<Awaited<U>> {
    return this.with({ kind: 'map', fn: fn as Operator<unknown, unknown>, label });
  }
  filter(fn: Operator<T, boolean>, label = 'filter'): Stream<T> {
    return this.with({ kind: 'filter', fn: fn as Operator<unknown, boolean>, label });
  }
  flatMap<U>(fn: Operator<T, Iterable<U>>, label = 'flatMap'): Stream<U> {
    return this.with({ kind: 'flatMap', fn: fn as Operator<unknown, Iterable<unknown>>, label });
  }
  /**
   * Keys records (the key becomes a string); keyed aggregates and windows follow. With `fn`, records move to the key's
   * partition (through the repartition topic). Without, the key is the record's own Kafka key and nothing moves: the
   * topic must be partitioned by its key (as Kafka's default partitioner and `pbx replay --key` do), like Kafka
   * Streams' groupByKey(); a record with no key follows --on-error.
   */
  keyBy(fn?: Operator<T, unknown>, label = fn ? 'keyBy' : 'keyBy()'): KeyedStream<T> {
    const step = { kind: 'keyBy', ...(fn ? { fn } : {}), label } as Step;
    return new KeyedStream<T>({ ...this[SPEC], steps: [...this[SPEC].steps, step] });
  }
  /**
   * Runs a shell command (under /bin/sh -c) over each batch of records: one record a line on its stdin (a string as it
   * is, anything else as compact JSON), each line it prints a record (JSON where it parses, else the string). The
   * batch's offsets are committed only once its output is complete; a failure follows --on-error for the whole batch.
   */
  shell(command: string, options?: ShellOptions, label?: string): Stream<unknown> {
    return this.with(shellStep(command, options, label, 'stream'));
  }
  /** Joins each record with the row of its key in a table (absent: undefined). */
  join<R, U>(with_: TableSpec, fn: (value: T, row: R | undefined) => U, label = 'join'): Stream<U> {
    return this.with({ kind: 'join', table: with_, fn: fn as (value: unknown, row: unknown) => unknown, label });
  }
  /** Where results go: topic names, cassandra(...), redis(...), stdout(); several sinks each receive every record. */
  to(...sinks: Sink[]): Pipeline {
    if (sinks.length === 0) throw new TypeError('to(): name at least one sink.');
    return new Pipeline(withSinks(this[SPEC], sinks));
  }
}

/** A keyed stream: aggregates per key, over windows or over all time. */
export class KeyedStream<T> extends Stream<T> {
  window(spec: WindowSpec, options: WindowOptions = {}): WindowedStream<T> {
    return new WindowedStream<T>(this[SPEC], spec, toMs(options.lateness ?? 0, 'lateness'));
  }
  count(): Stream<AggregateResult<'count', number>> {
    return this.aggregateWith(COUNT);
  }
  sum(fn: Operator<T, number>): Stream<AggregateResult<'sum', number>> {
    return this.aggregateWith(sumOf(fn));
  }
  reduce(fn: (a: T, b: T) => T): Stream<AggregateResult<'value', T>> {
    return this.aggregateWith(reduceWith(fn));
  }
  /** Folds each key's values into an accumulator. The accumulator must survive JSON (numbers, strings, arrays, plain
   * objects): it is kept in a changelog as JSON, and a restarted worker goes on from what JSON gives back. */
  aggregate<A>(
    init: () => A,
    add: (accumulator: A, value: T, record: StreamRecord) => A,
  ): Stream<AggregateResult<'value', A>> {
    return this.aggregateWith({ field: 'value', init, add: add as Aggregation['add'] });
  }
  /** A shell command per key partition: after the repartition, one process (per batch, or long-running) per
   * partition, so a command sees every record of its keys. */
  override shell(command: string, options?: ShellOptions, label?: string): Stream<unknown> {
    return this.with(shellStep(command, options, label, 'keyed'));
  }
  protected aggregateWith<U>(aggregation: Aggregation, window?: WindowSpec, lateness = 0): Stream<U> {
    return this.with({ kind: 'aggregate', aggregation, window, lateness, label: aggregation.field });
  }
}

/** A keyed stream cut into windows of event time: each aggregate emits one result per key and window when it closes. */
export class WindowedStream<T> {
  constructor(
    private readonly spec: PipelineSpec,
    private readonly window: WindowSpec,
    private readonly lateness: number,
  ) {}
  private emit<U>(aggregation: Aggregation): Stream<U> {
    const step: Step = {
      kind: 'aggregate',
      aggregation,
      window: this.window,
      lateness: this.lateness,
      label: `${this.window.kind} ${aggregation.field}`,
    };
    return new Stream<U>({ ...this.spec, steps: [...this.spec.steps, step] });
  }
  count(): Stream<AggregateResult<'count', number>> {
    return this.emit(COUNT);
  }
  /** A shell command over each window: when a window closes (event time, as aggregates), the window's records of one
   * key partition are its batch (kept in state until then, restored after a restart). */
  shell(command: string, options?: ShellOptions, label?: string): Stream<unknown> {
    const step: ShellStep = {
      ...shellStep(command, options, label, 'window'),
      window: this.window,
      lateness: this.lateness,
    };
    return new Stream<unknown>({ ...this.spec, steps: [...this.spec.steps, step] });
  }
  sum(fn: Operator<T, number>): Stream<AggregateResult<'sum', number>> {
    return this.emit(sumOf(fn));
  }
  reduce(fn: (a: T, b: T) => T): Stream<AggregateResult<'value', T>> {
    return this.emit(reduceWith(fn));
  }
  /** Folds the values of each key and window into an accumulator, which must survive JSON (see KeyedStream.aggregate).
   * Session windows need `merge`: two sessions of a key become one when a value falls between them. */
  aggregate<A>(
    init: () => A,
    add: (accumulator: A, value: T, record: StreamRecord) => A,
    merge?: (a: A, b: A) => A,
  ): Stream<AggregateResult<'value', A>> {
    return this.emit({
      field: 'value',
      init,
      add: add as Aggregation['add'],
      ...(merge ? { merge: merge as Aggregation['merge'] } : {}),
    });
  }
}

const COUNT: Aggregation = {
  field: 'count',
  init: () => 0,
  add: (n) => (n as number) + 1,
  merge: (a, b) => (a as number) + (b as number),
};
function sumOf<T>(fn: Operator<T, number>): Aggregation {
  return {
    field: 'sum',
    init: () => 0,
    add: (sum, value, record) => (sum as number) + Number(fn(value as T, record)),
    merge: (a, b) => (a as number) + (b as number),
  };
}
// reduce's accumulator starts empty (undefined): the first value is taken as it is.
function reduceWith<T>(fn: (a: T, b: T) => T): Aggregation {
  const reduce = (a: unknown, b: unknown) => (a === undefined ? b : b === undefined ? a : fn(a as T, b as T));
  return { field: 'value', init: () => undefined, add: (a, value) => reduce(a, value), merge: reduce };
}

/** A finished pipeline: the module's default export. */
export class Pipeline implements HasSpec {
  readonly [SPEC]: PipelineSpec;
  constructor(spec: PipelineSpec) {
    this[SPEC] = spec;
  }
  /** More sinks, each receiving every record. */
  to(...sinks: Sink[]): Pipeline {
    return new Pipeline(withSinks(this[SPEC], sinks));
  }
}

/** A named pipeline; its name names its consumer group, internal topics and figures. */
export function pipeline(name: string) {
  if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(name)) {
    throw new TypeError(
      `pipeline(${JSON.stringify(name)}): use letters, digits and '-' (it names a consumer group and topics).`,
    );
  }
  const spec: PipelineSpec = { name, steps: [], sinks: [] };
  return {
    [SPEC]: spec,
    /** Kafka topic(s) to read; JSON values are parsed. */
    // Values are untyped JSON unless the module declares T: `r.score` must compile without one.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    from<T = any>(topics: string | string[], options: SourceOptions<T> = {}): Stream<T> {
      const list = typeof topics === 'string' ? [topics] : topics;
      if (list.length === 0) throw new TypeError('from(): name at least one topic.');
      return new Stream<T>({
        ...spec,
        source: {
          topics: list,
          format: options.format ?? 'json',
          ...(options.time ? { time: options.time as (value: unknown, record: StreamRecord) => number } : {}),
        },
      });
    },
  };
}
