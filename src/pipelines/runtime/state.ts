// Stage B's state for one partition (a repartition partition; co-partitioned, a source partition): the keyed
// aggregates and the watermark markers, restored from the changelog partition of the same number and logged back to
// it in every transaction. State is never trusted past a failed transaction: the runtime drops it and restores it
// again from what Kafka committed.
import type { Kafka, Message } from 'kafkajs';
import { readPartitions } from '../../clients/read-partitions';
import { KeyedAggregates } from './aggregates';
import type { AggregateStep } from './topology';
import { Watermarks } from './watermarks';

/** The changelog key of the watermark markers: NUL cannot start a key pbx writes for a user's key. */
const MARKS_KEY = '\u0000pbx-marks';

export class PartitionState {
  private marksLogged = '';

  private constructor(
    readonly aggregates: KeyedAggregates,
    readonly watermarks: Watermarks,
  ) {}

  /** A partition's state as the changelog holds it (read_committed: what aborted transactions wrote is not seen). */
  static async restore(options: {
    kafka: Kafka;
    changelog: string;
    partition: number;
    from: bigint;
    end: bigint;
    step: AggregateStep;
    sources: string[];
    /** A window shell's state: its values logged a batch at a time (value-log.ts). */
    logValues?: boolean;
  }): Promise<PartitionState> {
    const aggregates = new KeyedAggregates(options.step, { logValues: options.logValues });
    let marks: unknown;
    await readPartitions(
      options.kafka,
      options.changelog,
      [{ partition: options.partition, from: options.from, end: options.end }],
      (_, message) => {
        const key = message.key?.toString() ?? '';
        const value = message.value ? message.value.toString() : null;
        if (key === MARKS_KEY) marks = value === null ? undefined : JSON.parse(value);
        else aggregates.restore(key, value);
      },
    );
    const watermarks =
      marks === undefined ? new Watermarks(options.sources) : Watermarks.restore(options.sources, marks);
    const state = new PartitionState(aggregates, watermarks);
    state.marksLogged = JSON.stringify(watermarks.toJSON());
    // What restore read is logged already: the next transaction carries only what changes after it.
    aggregates.restored();
    return state;
  }

  /** Changelog records of what changed since the last call, for the transaction that commits it. */
  changelog(partition: number): Message[] {
    const messages: Message[] = this.aggregates.changes().map(({ key, value }) => ({ partition, key, value }));
    const marks = JSON.stringify(this.watermarks.toJSON());
    if (marks !== this.marksLogged) {
      messages.push({ partition, key: MARKS_KEY, value: marks });
      this.marksLogged = marks;
    }
    return messages;
  }
}
