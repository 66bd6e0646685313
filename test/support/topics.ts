import { loadKafkajs } from '../../src/clients/kafka';

export interface ReadRecord {
  key: string | null;
  value: string;
  partition: number;
  offset: string;
  headers: Record<string, string>;
}

/** Every committed record of a topic, read independently of pbx (a fresh group, read_committed). */
export async function readTopic(broker: string, topic: string): Promise<ReadRecord[]> {
  const { Kafka, logLevel } = await loadKafkajs();
  const kafka = new Kafka({ brokers: [broker], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
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

/** Writes values (strings as they are, anything else as JSON) to a new topic of one partition, in order. */
export async function produce(broker: string, topic: string, values: unknown[]): Promise<void> {
  const { Kafka, logLevel } = await loadKafkajs();
  const kafka = new Kafka({ brokers: [broker], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  await producer.send({
    topic,
    messages: values.map((v) => ({ value: typeof v === 'string' ? v : JSON.stringify(v) })),
  });
  await producer.disconnect();
}
