import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { withTimeout } from '../async';

export interface PartitionRange {
  partition: number;
  /** First offset to read. */
  from: bigint;
  /** Offset after the last one to read (a high watermark seen before). */
  end: bigint;
}

/**
 * Reads each range of a topic once, in offset order per partition, with read_committed (what a transaction
 * aborted is never seen). kafkajs has no assign-only consumer: a throwaway group is joined, then deleted.
 * The end is detected from kafkajs's batch events, which also cover batches that held only transaction markers.
 */
export async function readPartitions(
  kafka: Kafka,
  topic: string,
  ranges: PartitionRange[],
  onMessage: (partition: number, message: KafkaMessage) => void,
  timeoutMs = 60_000,
): Promise<void> {
  const pending = new Map(ranges.filter((r) => r.end > r.from).map((r) => [r.partition, r]));
  if (pending.size === 0) return;
  const groupId = `pbx-read-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 100 });
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const range = pending.get(payload.partition);
    if (payload.topic === topic && range && BigInt(payload.lastOffset) + 1n >= range.end)
      pending.delete(range.partition);
    if (pending.size === 0) finish();
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    void consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        const range = ranges.find((r) => r.partition === batch.partition);
        if (!range) return Promise.resolve();
        for (const message of batch.messages) {
          if (BigInt(message.offset) >= range.end) break;
          onMessage(batch.partition, message);
        }
        return Promise.resolve();
      },
    });
    // kafkajs needs subscribe → run → seek, in that order.
    for (const range of pending.values())
      consumer.seek({ topic, partition: range.partition, offset: String(range.from) });
    await withTimeout(done, timeoutMs, `could not read ${topic} to its end within ${timeoutMs / 1000} s`);
  } finally {
    await consumer.disconnect();
    const admin = kafka.admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([groupId]))
      .catch(() => undefined)
      .finally(() => admin.disconnect());
  }
}
