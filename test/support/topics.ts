import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { Admin } from 'kafkajs';
import { loadKafkajs } from '../../src/clients/kafka';
import { loadClusterReads } from '../../src/clients/kafkajs-internals';
import { highWatermarks } from '../../src/clients/topics';

export interface ReadRecord {
  key: string | null;
  value: string;
  partition: number;
  offset: string;
  headers: Record<string, string>;
}

/** Every committed record of a topic, read independently of pbx (a fresh group, read_committed). */
export async function readTopic(broker: string, topic: string): Promise<ReadRecord[]> {
  const kafka = await testKafka(broker);
  const ends = await committedEnds(broker, topic);
  const remaining = new Map(
    ends.filter((e) => BigInt(e.high) > BigInt(e.low)).map((e) => [e.partition, BigInt(e.high)]),
  );
  const records: ReadRecord[] = [];
  if (remaining.size === 0) return records;
  const consumer = kafka.consumer({ groupId: `check-${Date.now()}-${Math.random()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const end = remaining.get(payload.partition);
    if (end !== undefined && BigInt(payload.lastOffset) + 1n >= end) remaining.delete(payload.partition);
  });
  await consumer.run({
    eachMessage: ({ message, partition }) => {
      const headers = Object.fromEntries(
        Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]),
      );
      records.push({
        key: message.key?.toString() ?? null,
        value: message.value?.toString() ?? '',
        partition,
        offset: message.offset,
        headers,
      });
      return Promise.resolve();
    },
  });
  const deadline = Date.now() + 30_000;
  while (remaining.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await consumer.disconnect();
  return records;
}

/**
 * Each partition's end as a read_committed consumer reaches it. kafkajs's admin answers the last stable offset, which
 * stays behind a committed transaction until its markers are written, a moment after the commit was answered: read
 * then, a run's last transaction would be missing. Asked again until it meets the high watermark of now.
 */
async function committedEnds(broker: string, topic: string) {
  const written = await highs(broker, topic);
  return withAdmin(broker, async (admin) => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ends = await admin.fetchTopicOffsets(topic);
      const stable = ends.every((e) => BigInt(e.high) >= (written.get(e.partition) ?? 0n));
      if (stable || Date.now() > deadline) return ends;
      await sleep(100);
    }
  });
}

/** Each partition's high watermark: every record Kafka holds, those of open transactions included (none: no topic). */
async function highs(broker: string, topic: string): Promise<Map<number, bigint>> {
  const { logLevel } = await loadKafkajs();
  const reads = await loadClusterReads({ brokers: [broker], logLevel: logLevel.NOTHING });
  await reads.connect();
  try {
    return await highWatermarks(reads, topic);
  } finally {
    await reads.disconnect();
  }
}

/** The values of every committed record of a topic (see readTopic). */
export async function topicValues(broker: string, topic: string): Promise<string[]> {
  return (await readTopic(broker, topic)).map((r) => r.value);
}

/**
 * The values of a one-partition topic in the order Kafka holds them, read by kcat, a client that is not pbx (`brokers`:
 * host:port, comma separated).
 */
export async function kcatValues(brokers: string, topic: string): Promise<string[]> {
  const args = ['-b', brokers, '-C', '-t', topic, '-o', 'beginning', '-e', '-q'];
  const { stdout } = await execa('kcat', args, { maxBuffer: 1024 ** 3 });
  return stdout.split('\n');
}

/** The end offset of partition 0 of a topic, as kcat reads it: 0 while there is none (or no topic yet). */
export async function kcatEndOffset(brokers: string, topic: string): Promise<number> {
  const { stdout } = await execa('kcat', ['-b', brokers, '-Q', '-t', `${topic}:0:-1`], { reject: false });
  return Number(/ offset (\d+)/.exec(stdout)?.[1] ?? 0);
}

/** Records Kafka holds in a topic, uncommitted ones included (0 before it exists): how far a run got. */
export async function recordsWritten(broker: string, topic: string): Promise<bigint> {
  return [...(await highs(broker, topic)).values()].reduce((sum, high) => sum + high, 0n);
}

/** Creates a topic of `partitions` partitions and waits for its leaders. */
export async function createTopic(broker: string, topic: string, partitions = 1): Promise<void> {
  await withAdmin(broker, (admin) =>
    admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions }] }),
  );
}

/** Writes values (strings as they are, anything else as JSON) to a new topic of one partition, in order. */
export async function produce(
  broker: string,
  topic: string,
  values: unknown[],
  keyOf: (value: unknown) => string | null = () => null,
): Promise<void> {
  await createTopic(broker, topic);
  const producer = (await testKafka(broker)).producer({ idempotent: true });
  await producer.connect();
  await producer.send({
    topic,
    messages: values.map((v) => ({ key: keyOf(v), value: typeof v === 'string' ? v : JSON.stringify(v) })),
  });
  await producer.disconnect();
}

/** Calls `use` with an admin client of the broker, connected, and disconnects it after, whatever happened. */
export async function withAdmin<T>(broker: string, use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = (await testKafka(broker)).admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

/** A kafkajs client of the broker that logs nothing, for a test's own look at Kafka (independent of pbx's client). */
async function testKafka(broker: string) {
  const { Kafka, logLevel } = await loadKafkajs();
  return new Kafka({ brokers: [broker], logLevel: logLevel.NOTHING });
}
