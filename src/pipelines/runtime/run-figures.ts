// What the runtime reports as it works, in the calls it makes: each goes to the replica's Figures (rates, latency,
// lag, published once a second) and to the run's totals (its summary).
import type { Message } from 'kafkajs';
import type { SinkWrite } from '../sinks/types';
import { Figures } from './figures';
import type { OperatorCounts } from './operators';

/** What a run did, for its summary. */
export interface RunTotals {
  records: number;
  errors: number;
  deadLetters: number;
  /** Records committed per Kafka topic, internal ones included. */
  sent: Record<string, number>;
  /** Values acknowledged per Cassandra or Redis sink. */
  wrote: Record<string, number>;
}

export class RunFigures implements OperatorCounts {
  readonly totals: RunTotals = { records: 0, errors: 0, deadLetters: 0, sent: {}, wrote: {} };
  private readonly downSinks = new Set<string>();

  constructor(
    readonly figures: Figures,
    /** Topics the pipeline's results go to: what reaches them counts in the end-to-end latency. */
    private readonly sinkTopics: Set<string>,
  ) {}

  in(step: number, count = 1): void {
    this.figures.operator(step).in(count);
  }
  out(step: number, count = 1): void {
    this.figures.operator(step).out(count);
  }
  /** Source records read. */
  read(count: number): void {
    this.totals.records += count;
    this.figures.consumed(count);
  }
  /** A record stopped at an operator (its index), or before any (a value that is not JSON, a bad time). */
  error(step: number | undefined): void {
    this.totals.errors++;
    if (step !== undefined) this.figures.operator(step).error();
  }
  deadLetter(): void {
    this.totals.deadLetters++;
    this.figures.deadLettered();
  }
  /** Records committed to a Kafka topic at `ackedAt`, by a transaction that took `ms`. */
  sent(topic: string, messages: Message[], ackedAt: number, ms: number): void {
    this.totals.sent[topic] = (this.totals.sent[topic] ?? 0) + messages.length;
    if (!this.sinkTopics.has(topic)) return;
    const sink = this.figures.sink(`topic ${topic}`);
    for (const m of messages) this.figures.endToEnd(Number(m.timestamp), ackedAt);
    sink.written(messages.length, ms);
  }
  /** A Cassandra or Redis batch acknowledged after `ms`. */
  sinkWrote(name: string, batch: SinkWrite[], ms: number): void {
    this.totals.wrote[name] = (this.totals.wrote[name] ?? 0) + batch.length;
    this.figures.sink(name).written(batch.length, ms);
    const now = Date.now();
    for (const write of batch) this.figures.endToEnd(write.record.timestamp, now);
  }
  /**
   * A sink found down, or answering again; true when that is news. Batches of several partitions write at once: one
   * of them says when a sink went down and when it came back.
   */
  sinkDown(name: string, down: boolean): boolean {
    if (down) this.figures.sinkDown(name);
    else this.figures.sinkUp(name);
    if (down === this.downSinks.has(name)) return false;
    if (down) this.downSinks.add(name);
    else this.downSinks.delete(name);
    return true;
  }
  /** A batch committed: the partition's next offset and its high watermark (the lag). */
  committed(topic: string, partition: number, next: bigint, high: bigint): void {
    this.figures.lag(topic, partition, String(next), String(high));
  }
}
