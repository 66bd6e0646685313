// Kafka's OffsetFetch request (API key 9) at version 7, which kafkajs 2.2.4 lacks (it sends versions 1 to 4): a
// consumer group's committed offsets with require_stable (KIP-447, Kafka 2.5). Without it, a broker answers with the
// last offset whose commit it has completed: a transaction's offsets count only once its commit marker is written to
// __consumer_offsets, a moment after EndTxn was answered, so a member reading them at that moment gets the offset
// before the transaction and reads its records again. With it, the broker answers UNSTABLE_OFFSET_COMMIT for a
// partition while a transaction's offsets for it are pending, and the client asks again. Version 7 is the first
// with the flag and the last of one group per request; Kafka's flexible encoding.

import { FlexibleReader, FlexibleWriter } from './kafka-encoding';

export const OFFSET_FETCH_API_KEY = 9;
export const OFFSET_FETCH_STABLE_VERSION = 7;
export const UNSTABLE_OFFSET_COMMIT = 88;

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface FetchedOffset extends TopicPartition {
  /** The next offset to read; -1 when the group has committed none. */
  offset: bigint;
  /** 0, or UNSTABLE_OFFSET_COMMIT while a transaction's offsets are pending, or another error of the partition. */
  errorCode: number;
}

export interface OffsetFetchAnswer {
  /** The group's error (COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR, …): 0 when none. */
  errorCode: number;
  partitions: FetchedOffset[];
  /** How long the client waits before its next request to the broker (KIP-219). */
  clientSideThrottleTime: number;
}

/** OffsetFetch version 7's body, after the request header, asking for stable offsets (pure). */
export function encodeOffsetFetch(groupId: string, partitions: TopicPartition[]): Buffer {
  const topics = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    const list = topics.get(topic);
    if (list) list.push(partition);
    else topics.set(topic, [partition]);
  }
  const out = new FlexibleWriter();
  out.varint(0); // the request header's tagged fields (kafkajs writes header version 1; this makes it 2)
  out.string(groupId).varint(topics.size + 1);
  for (const [topic, ps] of topics) {
    out.string(topic).varint(ps.length + 1);
    for (const p of ps) out.int32(p);
    out.varint(0);
  }
  return out.int8(1).varint(0).done(); // require_stable, the request's tagged fields
}

/** OffsetFetch version 7's answer, after the correlation id (pure); throws when it is cut short. */
export function decodeOffsetFetch(payload: Buffer): OffsetFetchAnswer {
  const read = new FlexibleReader(payload, 'OffsetFetch');
  read.tags(); // the response header's
  const clientSideThrottleTime = read.int32();
  const partitions = read
    .array(() => {
      const topic = read.string();
      return read.array((): FetchedOffset => {
        const partition = read.int32();
        const offset = read.int64();
        read.int32(); // the committed leader epoch
        read.string(); // metadata
        return { topic, partition, offset, errorCode: read.int16() };
      });
    })
    .flat();
  const errorCode = read.int16();
  read.tags();
  return { errorCode, partitions, clientSideThrottleTime };
}
