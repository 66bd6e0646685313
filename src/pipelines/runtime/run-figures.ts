// What the runtime reports as it works, in the calls it makes. Backed by figures.ts (rates, latency, publishing).
import type { SinkWrite } from '../sinks/errors';
import type { OperatorCounts } from './operators';

export interface RunFigures extends OperatorCounts {
  /** Source records read. */
  read(count: number): void;
  error(operator: string): void;
  deadLetter(): void;
  /** Records committed to a Kafka topic (sinks and internal topics). */
  sent(topic: string, count: number): void;
  /** A Cassandra or Redis batch acknowledged after `ms`. */
  sinkWrote(sink: string, batch: SinkWrite[], ms: number): void;
  /** A sink down since `since` (ms), or back (undefined). */
  sinkDown(sink: string, since: number | undefined): void;
  /** A batch committed: the partition's next offset and its high watermark (the lag). */
  committed(topic: string, partition: number, next: bigint, high: bigint): void;
}

/** Totals of a run, for its summary. */
export class RunTotals implements RunFigures {
  records = 0;
  errors = 0;
  deadLetters = 0;
  readonly sentTo = new Map<string, number>();
  readonly wrote = new Map<string, number>();
  readonly operators: Array<{ in: number; out: number }> = [];
  readonly down = new Map<string, number>();
  readonly lag = new Map<string, bigint>();

  private op(step: number) {
    return (this.operators[step] ??= { in: 0, out: 0 });
  }
  in(step: number): void {
    this.op(step).in++;
  }
  out(step: number, count = 1): void {
    this.op(step).out += count;
  }
  read(count: number): void {
    this.records += count;
  }
  error(): void {
    this.errors++;
  }
  deadLetter(): void {
    this.deadLetters++;
  }
  sent(topic: string, count: number): void {
    this.sentTo.set(topic, (this.sentTo.get(topic) ?? 0) + count);
  }
  sinkWrote(sink: string, batch: SinkWrite[]): void {
    this.wrote.set(sink, (this.wrote.get(sink) ?? 0) + batch.length);
  }
  sinkDown(sink: string, since: number | undefined): void {
    if (since === undefined) this.down.delete(sink);
    else this.down.set(sink, since);
  }
  committed(topic: string, partition: number, next: bigint, high: bigint): void {
    this.lag.set(`${topic}/${partition}`, high > next ? high - next : 0n);
  }
}
