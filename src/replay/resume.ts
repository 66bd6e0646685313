import type { Admin, Kafka } from 'kafkajs';
import { readPartitions } from '../clients/read-partitions';

/** Header carried by every record of a checkpointed replay: `<run id>:<pass>:<source index>`. */
export const REPLAY_HEADER = 'pbx-replay';

/** Each partition's end offset: where anything written after this moment starts. */
export async function endOffsets(admin: Admin, topic: string): Promise<Record<string, string>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return Object.fromEntries(offsets.map((o) => [String(o.partition), o.high]));
}

/**
 * The `<pass>:<index>` keys of this run's records that Kafka holds beyond the checkpoint's offsets: what was
 * delivered after the last checkpoint was written (a crash, a kill -9). A resumed replay skips exactly
 * these, so nothing is sent twice even when the process died between Kafka's ack and the checkpoint.
 * Only the tail after the saved offsets is read: at most one batch of this run, plus other writers' records.
 */
export async function deliveredAfter(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  saved: Record<string, string>,
  runId: string,
): Promise<Set<string>> {
  const found = new Set<string>();
  const ends = await admin.fetchTopicOffsets(topic);
  const tails = ends
    .map((o) => ({ partition: o.partition, from: BigInt(saved[String(o.partition)] ?? o.low), end: BigInt(o.high) }))
    .filter((t) => t.end > t.from);
  if (tails.length === 0) return found;

  const prefix = `${runId}:`;
  await readPartitions(kafka, topic, tails, (_, message) => {
    const header = message.headers?.[REPLAY_HEADER]?.toString();
    if (header?.startsWith(prefix)) found.add(header.slice(prefix.length));
  });
  return found;
}
