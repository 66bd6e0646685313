import type { PartitionMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { BatchProducer } from '../../src/clients/batch-producer';
import type { PartitionResult, ProduceRequest, ProducerInternals } from '../../src/clients/kafkajs-internals';

const UNKNOWN_TOPIC_OR_PARTITION = 3;
const NOT_LEADER_FOR_PARTITION = 6;
const OUT_OF_ORDER_SEQUENCE_NUMBER = 45;
const DUPLICATE_SEQUENCE_NUMBER = 46;
/** Where a record batch's base sequence lies, from its start (Kafka's record batch, magic 2). */
const BASE_SEQUENCE_AT = 53;

/** A Kafka error as kafkajs makes it: retriable as kafkajs (and pbx's producer, for out of order) takes it. */
function kafkaError(code: number): Error & { retriable: boolean; type: string } {
  const types: Record<number, string> = {
    [UNKNOWN_TOPIC_OR_PARTITION]: 'UNKNOWN_TOPIC_OR_PARTITION',
    [NOT_LEADER_FOR_PARTITION]: 'NOT_LEADER_FOR_PARTITION',
    [OUT_OF_ORDER_SEQUENCE_NUMBER]: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
  };
  return Object.assign(new Error(types[code] ?? `error ${code}`), { retriable: code in types, type: types[code]! });
}

/**
 * One partition's leader, in memory, answering produce requests one at a time in the order they came, as a broker
 * does on a connection. Its idempotence is Kafka's: with no state of the producer's, the first batch written sets the
 * sequence, whatever it is; then the next sequence is written, one written before is a duplicate, any other is out
 * of order (for ever: the broker waits for the sequence that follows what it holds).
 */
class FakeLeader implements ProducerInternals {
  /** Base sequences written, in the order the partition holds them. */
  readonly written: number[] = [];
  /** Produce requests to refuse first, each with this error code (the broker does not know the topic yet…). */
  refusals: number[] = [];
  /** addTopics calls to refuse first, as a broker that does not know the topic yet refuses metadata. */
  metadataRefusals = 0;
  metadataRefreshes = 0;
  private nextSequence: number | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  connect = () => Promise.resolve();
  disconnect = () => Promise.resolve();
  addTopics = () => {
    if (this.metadataRefusals-- > 0) return Promise.reject(kafkaError(UNKNOWN_TOPIC_OR_PARTITION));
    return Promise.resolve();
  };
  refreshMetadata = () => {
    this.metadataRefreshes++;
    return Promise.resolve();
  };
  partitionsOf = (): PartitionMetadata[] => [
    { partitionErrorCode: 0, partitionId: 0, leader: 1, replicas: [1], isr: [1] },
  ];
  initProducerId = () => Promise.resolve({ producerId: '7', producerEpoch: 0 });
  errorFor = (code: number) => kafkaError(code);
  partitionFor = () => 0;

  produce(request: ProduceRequest): Promise<PartitionResult> {
    const { buffer, start, records } = request.batch;
    const sequence = buffer.readInt32BE(start + BASE_SEQUENCE_AT); // read now: the buffer is reused once acknowledged
    const answer = this.queue
      .then(() => new Promise((resolve) => setTimeout(resolve, 1)))
      .then(() => this.write(sequence, records));
    this.queue = answer;
    return answer;
  }

  private write(sequence: number, records: number): PartitionResult {
    const refusal = this.refusals.shift();
    if (refusal !== undefined) return { errorCode: refusal, baseOffset: '-1' };
    if (this.written.includes(sequence)) return { errorCode: DUPLICATE_SEQUENCE_NUMBER, baseOffset: '-1' };
    if (sequence !== (this.nextSequence ?? sequence))
      return { errorCode: OUT_OF_ORDER_SEQUENCE_NUMBER, baseOffset: '-1' };
    this.written.push(sequence);
    this.nextSequence = sequence + records;
    return { errorCode: 0, baseOffset: String(this.written.length) };
  }
}

/** A producer on `leader`, retrying within milliseconds, and the marks it delivered. */
async function producerOn(leader: FakeLeader): Promise<{ producer: BatchProducer<number>; delivered: number[] }> {
  const delivered: number[] = [];
  const producer = await BatchProducer.connect<number>(
    {
      kafka: { brokers: ['fake:9092'], retry: { initialRetryTime: 5, maxRetryTime: 20 } },
      topics: ['new-topic'],
      batchBytes: 64 * 1024,
      onDelivered: (mark) => delivered.push(mark),
    },
    () => Promise.resolve(leader),
  );
  return { producer, delivered };
}

/** Sends `sends` sends of 10 records each to partition 0, without waiting for their answers, then waits for all. */
async function sendAll(producer: BatchProducer<number>, sends: number): Promise<void> {
  for (let send = 0; send < sends; send++) {
    for (let i = 0; i < 10; i++) producer.append('new-topic', 0, null, Buffer.from(`record ${send}/${i}`), [], 0);
    await producer.send(send);
  }
  // Well within RECOVERY_MS: a producer stuck on out of order sends would wait all of it.
  await Promise.race([
    producer.flush(),
    new Promise((_, reject) => setTimeout(() => reject(new Error('not all acknowledged within 5 s')), 5000)),
  ]);
}

describe('the batch producer and a topic just made, on several brokers', () => {
  it('connects while the broker it asks does not know the topic yet', async () => {
    const leader = new FakeLeader();
    leader.metadataRefusals = 2;
    const { producer } = await producerOn(leader);
    await producer.disconnect();
    expect(leader.metadataRefusals).toBe(-1);
  });

  for (const [code, refused] of [
    [UNKNOWN_TOPIC_OR_PARTITION, 'the leader does not know the topic yet'],
    [NOT_LEADER_FOR_PARTITION, 'the leader does not lead the partition yet'],
  ] as const) {
    it(`sends again, in order and each batch once, when ${refused}`, async () => {
      const leader = new FakeLeader();
      leader.refusals = [code];
      const { producer, delivered } = await producerOn(leader);
      await sendAll(producer, 6);
      expect(leader.written).toEqual([0, 10, 20, 30, 40, 50]);
      expect(delivered).toEqual([0, 1, 2, 3, 4, 5]);
      expect(leader.metadataRefreshes).toBeGreaterThan(0);
      await producer.disconnect();
    });
  }

  it('sends a partition’s first batch alone: a later one must not be written first when the first is refused', async () => {
    const leader = new FakeLeader();
    leader.refusals = [UNKNOWN_TOPIC_OR_PARTITION];
    const { producer, delivered } = await producerOn(leader);
    // Five sends in flight at once: the first refused, the next ones would reach a broker that knows the topic by then.
    await sendAll(producer, 5);
    expect(leader.written).toEqual([0, 10, 20, 30, 40]);
    expect(delivered).toEqual([0, 1, 2, 3, 4]);
    await producer.disconnect();
  });
});
