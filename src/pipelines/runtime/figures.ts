// The figures a running pipeline keeps: counters the runtime bumps on its hot path (nothing allocated per record),
// and a snapshot of them, plain versioned JSON, that the live view draws and figures-topic.ts publishes once a second.
//
// What the runtime calls (a replica makes one Figures and keeps the counter objects it is handed):
//   const figures = new Figures({ pipeline: spec.name, replica: '0', operators: spec.steps.map((s) => s.label) });
//   figures.consumed(batch.messages.length);            // records read from the source topics
//   const op = figures.operator(i);                      // step i of spec.steps (the same object every call)
//   op.in(1); op.out(n); op.error();                     // what went in, came out, threw (or was not valid JSON)
//   const sink = figures.sink(writer.name);              // per sink, by SinkWriter.name
//   sink.written(batch.length, msTheWriteTook); sink.error(n);
//   figures.endToEnd(record.timestamp, ackedAt);         // per record: Kafka create time → the sink's ack, ms
//   figures.deadLettered(n);
//   figures.lag(topic, partition, nextOffsetToRead, highWatermark);   // after each batch (batch.highWatermark)
//   figures.state(topic, partition, keys);               // keyed state held for an input partition
//   figures.revoked(topic, partition);                   // a rebalance took it away: its lag and state go
//   figures.sinkDown(writer.name) / figures.sinkUp(writer.name);       // retrying a sink that is down, and back
//   figures.stopping();                                  // Ctrl-C, SIGTERM, --until-end reached
//   figures.snapshot(Date.now())                         // PipelineFigures: rates since the previous snapshot
import { hostname } from 'node:os';
import { Histogram, type Percentiles } from './histogram';

/** The version of PipelineFigures' shape: a reader skips snapshots of a version it does not know. */
export const FIGURES_SCHEMA = 1;

/** A count: its total since the replica started, and its rate between the last two snapshots. */
export interface Count {
  total: number;
  perSecond: number;
}

/** Latency percentiles (ms) over the last interval (about a second) and over the whole run. */
export interface Latency {
  lastSecond: Percentiles;
  run: Percentiles;
}

export interface OperatorFigures {
  /** The step's index in the pipeline's steps. */
  index: number;
  label: string;
  in: Count;
  out: Count;
  errors: Count;
}

export interface SinkFigures {
  /** SinkWriter.name: 'cassandra reviews.per_hour', 'kafka out', 'redis json'. */
  name: string;
  /** Records acknowledged. */
  writes: Count;
  errors: Count;
  /** Of each write (a batch) from its start to the sink's acknowledgement. */
  latency: Latency;
}

/** One input partition: the high watermark less the next offset to read. */
export interface PartitionLag {
  topic: string;
  partition: number;
  lag: number;
}

/** running; retrying a sink that is down (nothing is committed past it); stopping (Ctrl-C, SIGTERM, the end). */
export type PipelineStatus = 'running' | 'retrying' | 'stopping';

/** One replica's figures at one moment, as published to the figures topic: plain JSON. */
export interface PipelineFigures {
  schema: typeof FIGURES_SCHEMA;
  pipeline: string;
  replica: string;
  host: string;
  pid: number;
  /** When the snapshot was taken, ms since the epoch. */
  time: number;
  startedAt: number;
  /** What the rates and lastSecond figures are over, ms: since the previous snapshot. */
  intervalMs: number;
  status: PipelineStatus;
  /** The sink being retried, since when (ms since the epoch); absent when none is down. */
  sinkDown?: { name: string; since: number };
  /** Records read from the source topics. */
  consumed: Count;
  operators: OperatorFigures[];
  sinks: SinkFigures[];
  deadLetters: Count;
  /** From each record's Kafka create time to its sink's acknowledgement. */
  endToEnd: Latency;
  lag: PartitionLag[];
  /** Keys of keyed state held, over every input partition of this replica. */
  stateKeys: number;
}

/** A running total and the total at the last snapshot, for the rate between the two. */
class Counter {
  total = 0;
  private atSnapshot = 0;
  add(n: number): void {
    this.total += n;
  }
  /** The count and its rate over `seconds`; the next rate starts from here. */
  take(seconds: number): Count {
    const perSecond = seconds > 0 ? (this.total - this.atSnapshot) / seconds : 0;
    this.atSnapshot = this.total;
    return { total: this.total, perSecond: round(perSecond) };
  }
}

/** The current interval's histogram, cleared at each snapshot after it is added to the whole run's. */
class LatencyCounter {
  private readonly interval = new Histogram();
  private readonly run = new Histogram();
  record(ms: number): void {
    this.interval.record(ms);
  }
  take(): Latency {
    const lastSecond = this.interval.percentiles();
    this.run.add(this.interval);
    this.interval.clear();
    return { lastSecond, run: this.run.percentiles() };
  }
}

/** One step's counters: `in`, `out` and `error` take how many records (default 1). */
export class OperatorCounters {
  readonly received = new Counter();
  readonly emitted = new Counter();
  readonly failed = new Counter();
  constructor(
    readonly index: number,
    readonly label: string,
  ) {}
  in(n = 1): void {
    this.received.add(n);
  }
  out(n = 1): void {
    this.emitted.add(n);
  }
  error(n = 1): void {
    this.failed.add(n);
  }
}

/** One sink's counters. */
export class SinkCounters {
  readonly writes = new Counter();
  readonly errors = new Counter();
  readonly latency = new LatencyCounter();
  constructor(readonly name: string) {}
  /** `records` acknowledged by one write that took `latencyMs`. */
  written(records: number, latencyMs: number): void {
    this.writes.add(records);
    this.latency.record(latencyMs);
  }
  error(n = 1): void {
    this.errors.add(n);
  }
}

export interface FiguresOptions {
  pipeline: string;
  /** The replica's id, stable across its restarts: its figures replace its predecessor's. */
  replica: string;
  /** The label of each step, by index (PipelineSpec.steps). */
  operators: string[];
  host?: string;
  pid?: number;
  /** When the replica started, ms since the epoch (default now). */
  startedAt?: number;
}

/** A replica's running figures; see the top of this file for what the runtime calls. */
export class Figures {
  private readonly operators: OperatorCounters[];
  private readonly sinks = new Map<string, SinkCounters>();
  private readonly read = new Counter();
  private readonly dead = new Counter();
  private readonly latency = new LatencyCounter();
  private readonly lags = new Map<string, Map<number, number>>();
  private readonly stateKeys = new Map<string, Map<number, number>>();
  private down: { name: string; since: number } | undefined;
  private ending = false;
  private readonly startedAt: number;
  private lastSnapshot: number;

  constructor(private readonly options: FiguresOptions) {
    this.operators = options.operators.map((label, index) => new OperatorCounters(index, label));
    this.startedAt = this.lastSnapshot = options.startedAt ?? Date.now();
  }

  /** Step `index`'s counters (the same object at every call). */
  operator(index: number): OperatorCounters {
    const counters = this.operators[index];
    if (!counters) throw new RangeError(`Figures: no step ${index} (${this.operators.length} steps).`);
    return counters;
  }

  /** A sink's counters, by its name (the same object at every call). */
  sink(name: string): SinkCounters {
    let counters = this.sinks.get(name);
    if (!counters) this.sinks.set(name, (counters = new SinkCounters(name)));
    return counters;
  }

  consumed(records: number): void {
    this.read.add(records);
  }

  deadLettered(records = 1): void {
    this.dead.add(records);
  }

  /** One record acknowledged by its sink at `ackedAt` (ms since the epoch), created in Kafka at `createTime`. */
  endToEnd(createTime: number, ackedAt: number): void {
    this.latency.record(ackedAt - createTime);
  }

  /** An input partition's lag: its high watermark less the next offset to read (Kafka offsets as kafkajs gives them). */
  lag(topic: string, partition: number, position: string | number, highWatermark: string | number): void {
    partitionsOf(this.lags, topic).set(partition, Math.max(0, Number(highWatermark) - Number(position)));
  }

  /** How many keys of keyed state are held for an input partition. */
  state(topic: string, partition: number, keys: number): void {
    partitionsOf(this.stateKeys, topic).set(partition, keys);
  }

  /** A partition this replica no longer reads (a rebalance): its lag and state are another replica's now. */
  revoked(topic: string, partition: number): void {
    this.lags.get(topic)?.delete(partition);
    this.stateKeys.get(topic)?.delete(partition);
  }

  /** A sink is down and being retried (the first call's time is kept until sinkUp). */
  sinkDown(name: string, since = Date.now()): void {
    if (this.down?.name !== name) this.down = { name, since };
  }

  sinkUp(name: string): void {
    if (this.down?.name === name) this.down = undefined;
  }

  stopping(): void {
    this.ending = true;
  }

  /** The figures now; rates and lastSecond figures are over the time since the previous snapshot. */
  snapshot(now = Date.now()): PipelineFigures {
    const intervalMs = Math.max(0, now - this.lastSnapshot);
    this.lastSnapshot = now;
    const seconds = intervalMs / 1000;
    const { pipeline, replica } = this.options;
    return {
      schema: FIGURES_SCHEMA,
      pipeline,
      replica,
      host: this.options.host ?? hostname(),
      pid: this.options.pid ?? process.pid,
      time: now,
      startedAt: this.startedAt,
      intervalMs,
      status: this.ending ? 'stopping' : this.down ? 'retrying' : 'running',
      ...(this.down ? { sinkDown: { ...this.down } } : {}),
      consumed: this.read.take(seconds),
      operators: this.operators.map((op) => ({
        index: op.index,
        label: op.label,
        in: op.received.take(seconds),
        out: op.emitted.take(seconds),
        errors: op.failed.take(seconds),
      })),
      sinks: [...this.sinks.values()].map((sink) => ({
        name: sink.name,
        writes: sink.writes.take(seconds),
        errors: sink.errors.take(seconds),
        latency: sink.latency.take(),
      })),
      deadLetters: this.dead.take(seconds),
      endToEnd: this.latency.take(),
      lag: [...this.lags].flatMap(([topic, partitions]) =>
        [...partitions].map(([partition, lag]) => ({ topic, partition, lag })),
      ),
      stateKeys: [...this.stateKeys.values()].reduce((sum, m) => sum + [...m.values()].reduce((a, b) => a + b, 0), 0),
    };
  }
}

function partitionsOf(byTopic: Map<string, Map<number, number>>, topic: string): Map<number, number> {
  let partitions = byTopic.get(topic);
  if (!partitions) byTopic.set(topic, (partitions = new Map<number, number>()));
  return partitions;
}

/** Rates to 3 decimals: enough for 0.001/s, and no float noise in the JSON. */
const round = (n: number) => Math.round(n * 1000) / 1000;
