import { loadKafkajs } from '../../src/clients/kafka';

export interface ReadRecord {
  key: string | null;
  value: string;
  partition: number;
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
      records.push({ key: message.key?.toString() ?? null, value: message.value?.toString() ?? '', partition });
      return Promise.resolve();
    },
  });
  const deadline = Date.now() + 30_000;
  while (remaining.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await consumer.disconnect();
  return records;
}
