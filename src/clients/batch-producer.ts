import type { KafkaConfig, PartitionMetadata } from 'kafkajs';
import { sleep } from '../async';
import { loadProducerInternals, REQUEST_HEADROOM, type ProducerInternals } from './kafkajs-internals';
import {
  BufferPool,
  RecordBatchBuilder,
  type Bytes,
  type Compression,
  type FinishedBatch,
  type RecordHeader,
} from './record-batch';

// An idempotent producer for ordered streams at full speed. kafkajs's own producer encodes each record into
// its own buffers, copies each request several times and, to stay idempotent, keeps one request in flight:
// about 40k reviews/s here, against 300–400k/s for kcat (librdkafka). This one writes each record once, into a pooled
// buffer that holds the whole request (batch and framing), and keeps up to five requests in flight, which
// Kafka's idempotence orders by sequence number. kafkajs still does everything else: its cluster finds
// leaders, its connections carry TLS and SASL, match responses and wait out a broker's throttle time, its
// brokers negotiate versions. Those are kafkajs internals, reached through kafkajs-internals.ts only, which
// checks their shape when it loads them (kafkajs is pinned: 2.2.4).

/** Kafka orders an idempotent producer's batches only up to five unacknowledged requests per connection. */
const MAX_IN_FLIGHT = 5;
/** How long a failing cluster is given to come back (a broker restart, a leader election) before giving up. */
export const RECOVERY_MS = 30_000;
const DUPLICATE_SEQUENCE_NUMBER = 46;

export interface BatchProducerOptions<Mark> {
  kafka: KafkaConfig;
  topics: string[];
  compression?: Compression;
  /** Bytes one partition's batch may hold, under the topic's max.message.bytes. */
  batchBytes: number;
  /** Called once per `send`, in the order of the sends, when Kafka has acknowledged all of it. */
  onDelivered: (mark: Mark) => void;
}

interface OpenBatch {
  topic: string;
  partition: number;
  builder: RecordBatchBuilder;
}

interface Batch {
  topic: string;
  partition: number;
  records: number;
  finished: FinishedBatch;
  /** Handed to a connection at least once: a resend after a failure covers it. */
  dispatched: boolean;
  acked: boolean;
  /** Offset after this batch's last record, once acknowledged. */
  endOffset?: bigint;
}

interface Group<Mark> {
  batches: Batch[];
  mark: Mark;
}

export class BatchProducer<Mark> {
  private readonly open = new Map<string, OpenBatch>();
  private last: OpenBatch | undefined;
  private readonly spare: RecordBatchBuilder[] = [];
  private readonly pool: BufferPool;
  /** Batches that filled up since the last send. */
  private readonly full: Batch[] = [];
  private readonly nextSequence = new Map<string, number>();
  /** Each topic's partitions, from the cluster's metadata (looked up once, again after a failure). */
  private readonly partitions = new Map<string, PartitionMetadata[]>();
  private readonly groups: Group<Mark>[] = []; // sent, not yet all acknowledged, in send order
  private readonly requests = new Set<Promise<void>>();
  private readonly delivered = new Map<string, Map<number, bigint>>();
  private readonly acknowledged = new Map<string, number>();
  /** Partitions (`topic\0partition`) where Kafka has acknowledged a batch of this producer's. */
  private readonly established = new Set<string>();
  /** Partitions whose first batch is in flight, alone until it is acknowledged (see dispatch). */
  private readonly opening = new Set<string>();
  private failure: Error | undefined;
  private recovery: Promise<void> | undefined;
  private producerId = -1n;
  private producerEpoch = -1;
  /** Bytes appended since the last send. */
  openBytes = 0;

  private constructor(
    /** Loaded when a producer connects, so that commands without Kafka start without kafkajs. */
    private readonly internals: ProducerInternals,
    private readonly options: BatchProducerOptions<Mark>,
  ) {
    this.pool = new BufferPool(REQUEST_HEADROOM + options.batchBytes, MAX_IN_FLIGHT + 4);
  }

  /**
   * Connects to the cluster and obtains a producer id; the topics must exist. `load` is for tests: kafkajs's internals
   * otherwise.
   */
  static async connect<Mark>(
    options: BatchProducerOptions<Mark>,
    load: (kafka: KafkaConfig) => Promise<ProducerInternals> = loadProducerInternals,
  ): Promise<BatchProducer<Mark>> {
    const internals = await load(options.kafka);
    const producer = new BatchProducer(internals, options);
    await internals.connect();
    try {
      // The broker asked may not know a topic just made yet (UNKNOWN_TOPIC_OR_PARTITION): it will in a moment.
      await producer.retrying(() => internals.addTopics(options.topics), RECOVERY_MS);
      // A new broker answers "coordinator loading" for a few seconds.
      const { producerId, producerEpoch } = await producer.retrying(() => internals.initProducerId(), RECOVERY_MS);
      producer.producerId = BigInt(producerId);
      producer.producerEpoch = producerEpoch;
    } catch (error) {
      await internals.disconnect().catch(() => undefined);
      throw error;
    }
    return producer;
  }

  /** The partition Kafka's Java client would pick for this key (murmur2), or round robin without one. */
  partitionFor(topic: string, key: Buffer | string | null): number {
    let partitionMetadata = this.partitions.get(topic);
    if (!partitionMetadata) {
      partitionMetadata = this.internals.partitionsOf(topic);
      this.partitions.set(topic, partitionMetadata);
    }
    if (partitionMetadata.length === 1) return partitionMetadata[0]!.partitionId;
    return this.internals.partitionFor(topic, partitionMetadata, key);
  }

  /** Adds a record to the open batch of its partition. */
  append(
    topic: string,
    partition: number,
    key: Buffer | string | null,
    value: Bytes,
    headers: readonly RecordHeader[],
    timestamp: number,
  ): void {
    let open = this.last; // most records go where the one before went
    if (open?.topic !== topic || open.partition !== partition) {
      const id = `${topic}\0${partition}`;
      open = this.open.get(id);
      if (!open) {
        open = { topic, partition, builder: this.spare.pop() ?? new RecordBatchBuilder(this.pool, REQUEST_HEADROOM) };
        this.open.set(id, open);
      }
      this.last = open;
    }
    const before = open.builder.size;
    if (open.builder.add(key, value, headers, timestamp)) {
      this.openBytes += open.builder.size - before;
      return;
    }
    // The batch is full: it goes out with the next send, and the emptied builder takes the record.
    this.full.push(this.close(open.topic, open.partition, open.builder));
    open.builder.add(key, value, headers, timestamp);
    this.openBytes += open.builder.size;
  }

  /**
   * Sends everything appended since the last send as one unit: `onDelivered(mark)` is called once Kafka has
   * acknowledged all of it, after the units sent before it. Waits while five requests are in flight.
   */
  async send(mark: Mark): Promise<void> {
    this.throwIfFailed();
    const batches = this.full.splice(0);
    for (const { topic, partition, builder } of this.open.values()) {
      if (builder.count > 0) batches.push(this.close(topic, partition, builder));
      this.spare.push(builder);
    }
    this.open.clear();
    this.last = undefined;
    this.openBytes = 0;
    this.groups.push({ batches, mark });
    if (batches.length === 0) this.deliverReady();
    else await this.dispatch(batches);
  }

  /** Waits until everything sent is acknowledged; throws what stopped the producer. */
  async flush(): Promise<void> {
    for (;;) {
      this.throwIfFailed();
      if (this.recovery) await this.recovery;
      else if (this.requests.size > 0) await Promise.race(this.requests);
      else break;
    }
    this.throwIfFailed();
  }

  /**
   * Records of the topic Kafka has acknowledged, whether or not the rest of their send was: after a failure,
   * exactly what the topic holds from this producer.
   */
  acknowledgedRecords(topic: string): number {
    return this.acknowledged.get(topic) ?? 0;
  }

  /** Next offset after what was delivered, per partition of the topic (partitions written to so far). */
  deliveredOffsets(topic: string): Record<string, string> {
    const offsets = this.delivered.get(topic) ?? new Map<number, bigint>();
    return Object.fromEntries([...offsets].map(([partition, offset]) => [String(partition), String(offset)]));
  }

  async disconnect(): Promise<void> {
    await Promise.allSettled(this.requests);
    await this.internals.disconnect();
  }

  private close(topic: string, partition: number, builder: RecordBatchBuilder): Batch {
    const id = `${topic}\0${partition}`;
    const baseSequence = this.nextSequence.get(id) ?? 0;
    const records = builder.count;
    // Sequences wrap at 2^31 as Kafka's do.
    this.nextSequence.set(id, (baseSequence + records) % 2 ** 31);
    const finished = builder.finish(
      { producerId: this.producerId, producerEpoch: this.producerEpoch, baseSequence },
      this.options.compression,
    );
    return { topic, partition, records, finished, dispatched: false, acked: false };
  }

  /**
   * One request per batch, each once there is room in flight. A partition's first batch goes alone: a broker with no
   * state of this producer's for a partition takes whatever sequence number comes first, so a later batch written
   * there before the first one (refused by a broker that did not know the topic yet, and sent again) would be
   * written out of order, and the first one then refused forever as out of order.
   */
  private async dispatch(batches: Batch[]): Promise<void> {
    for (const batch of batches) {
      const id = `${batch.topic}\0${batch.partition}`;
      while (this.requests.size >= MAX_IN_FLIGHT || this.recovery || this.opening.has(id)) {
        if (this.recovery) await this.recovery;
        else if (this.requests.size > 0) await Promise.race(this.requests);
        else this.opening.delete(id); // its first batch settled with nothing left to wait for
        this.throwIfFailed();
      }
      if (!this.established.has(id)) this.opening.add(id);
      batch.dispatched = true;
      const request: Promise<void> = this.produce(batch).then(
        () => {
          this.requests.delete(request);
          this.deliverReady();
        },
        (error: unknown) => {
          this.requests.delete(request);
          this.failed(error);
        },
      );
      this.requests.add(request);
    }
  }

  private leaderOf(batch: Batch): number {
    const partition = this.internals.partitionsOf(batch.topic).find((p) => p.partitionId === batch.partition);
    if (!partition) throw new Error(`Partition ${batch.partition} of ${batch.topic} is not in the cluster's metadata.`);
    return partition.leader;
  }

  /** Sends a batch to its partition's leader; marks it acknowledged, or throws Kafka's error. */
  private async produce(batch: Batch): Promise<void> {
    const result = await this.internals.produce({
      nodeId: this.leaderOf(batch),
      topic: batch.topic,
      partition: batch.partition,
      batch: batch.finished,
    });
    if (result.errorCode !== 0 && result.errorCode !== DUPLICATE_SEQUENCE_NUMBER) {
      throw this.internals.errorFor(result.errorCode);
    }
    batch.acked = true;
    const id = `${batch.topic}\0${batch.partition}`;
    this.established.add(id);
    this.opening.delete(id);
    this.acknowledged.set(batch.topic, (this.acknowledged.get(batch.topic) ?? 0) + batch.records);
    if (result.errorCode === 0) batch.endOffset = BigInt(result.baseOffset) + BigInt(batch.records);
    this.pool.give(batch.finished.buffer);
  }

  /** Calls onDelivered for the groups at the head of the queue that Kafka has fully acknowledged. */
  private deliverReady(): void {
    while (this.groups.length > 0 && this.groups[0]!.batches.every((b) => b.acked)) {
      const group = this.groups.shift()!;
      for (const batch of group.batches) {
        if (batch.endOffset === undefined) continue;
        let offsets = this.delivered.get(batch.topic);
        if (!offsets) this.delivered.set(batch.topic, (offsets = new Map<number, bigint>()));
        offsets.set(batch.partition, batch.endOffset);
      }
      this.options.onDelivered(group.mark);
    }
  }

  /**
   * A request failed. Retriable (a leader moved, a connection dropped, a timeout): once the requests in flight
   * settle, every unacknowledged batch is sent again in order with its sequence number, so Kafka writes each
   * exactly once. Anything else stops the producer.
   */
  private failed(error: unknown): void {
    if (!isRetriable(error)) {
      this.failure ??= error as Error;
      return;
    }
    this.recovery ??= this.resend(error as Error).then(
      () => {
        this.recovery = undefined;
        this.deliverReady();
      },
      (final: unknown) => {
        this.recovery = undefined;
        this.failure ??= final as Error;
      },
    );
  }

  private async resend(cause: Error): Promise<void> {
    while (this.requests.size > 0) await Promise.allSettled([...this.requests]);
    await this.retrying(
      async () => {
        await this.internals.refreshMetadata();
        this.partitions.clear();
        for (const group of this.groups) {
          for (const batch of group.batches) {
            if (batch.dispatched && !batch.acked) await this.produce(batch);
          }
        }
      },
      RECOVERY_MS,
      cause,
    );
  }

  /**
   * Runs `attempt` while it fails with retriable errors, backing off as kafkajs's retry settings say, for
   * at most `forMs` after the first failure.
   */
  private async retrying<T>(attempt: () => Promise<T>, forMs: number, firstError?: Error): Promise<T> {
    const { initialRetryTime = 300, maxRetryTime = 30_000 } = this.options.kafka.retry ?? {};
    const deadline = Date.now() + forMs;
    let wait = initialRetryTime;
    let lastError = firstError;
    for (;;) {
      if (lastError) {
        if (!isRetriable(lastError) || Date.now() + wait > deadline) throw lastError;
        await sleep(wait);
        wait = Math.min(wait * 2, maxRetryTime);
      }
      try {
        return await attempt();
      } catch (error) {
        lastError = error as Error;
      }
    }
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}

function isRetriable(error: unknown): boolean {
  const { name, retriable, cause } = error as { name?: string; retriable?: boolean; cause?: unknown };
  // kafkajs's own retries (a metadata refresh's) give up in a non-retriable wrapper: what they gave up on says
  // whether pbx's longer window goes on.
  if (name === 'KafkaJSNumberOfRetriesExceeded' && cause) return isRetriable(cause);
  return retriable !== false;
}
