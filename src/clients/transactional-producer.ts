import type { KafkaConfig, PartitionMetadata } from 'kafkajs';
import { sleep } from '../async';
import { ExitCode, UserError } from '../cli/errors';
import {
  loadTransactionInternals,
  REQUEST_HEADROOM,
  type Coordinator,
  type GroupOffsets,
  type TransactionInternals,
} from './kafkajs-internals';
import { BufferPool, RecordBatchBuilder, type FinishedBatch, type RecordHeader } from './record-batch';
import { RECOVERY_MS } from './batch-producer';

// A transactional producer for pipelines: each commit is one Kafka transaction holding records of any number of
// partitions and, optionally, a consumer group's offsets. The records go out as pbx's own record batches (written
// once into pooled buffers, as replay's producer writes them) where kafkajs's producer encodes each record into
// buffers of its own and sends one request at a time; the transaction's requests go out together where they may:
// AddPartitionsToTxn with AddOffsetsToTxn, then every partition's batches with TxnOffsetCommit, then EndTxn. The
// offsets carry the member's generation (KIP-447): a worker paused while its partitions moved on cannot commit.
// kafkajs still finds coordinators and leaders and carries the connections (kafkajs-internals.ts).

/** A record to send, in kafkajs's Message shape: what a pipeline's outputs already are. */
export interface OutgoingRecord {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  /** A header of several values is several headers of its name. */
  headers?: Record<string, Buffer | string | Array<Buffer | string> | undefined>;
  /** ms since the epoch, as a string (kafkajs's) or a number; now when absent. */
  timestamp?: string | number;
  /** Absent: the partition Kafka's Java client would pick for the key (murmur2), round robin without one. */
  partition?: number;
}

export interface TransactionalProducerOptions {
  kafka: KafkaConfig;
  /** Stable across restarts: connecting fences an earlier producer of the id and aborts what it left open. */
  transactionalId: string;
  /** Kafka aborts a transaction left open this long (its producer gone). */
  transactionTimeoutMs: number;
}

export interface Transaction {
  /** Records by topic (the topics must exist), in order per partition. */
  records: Iterable<[topic: string, records: readonly OutgoingRecord[]]>;
  /** The consumer group's offsets committed with them. */
  offsets?: GroupOffsets;
}

/** What one batch may hold: well under the broker's default limit of 1 MB per batch (max.message.bytes). */
const BATCH_BYTES = 512 * 1024;
/** Batches kept for reuse: a transaction of a few MB allocates none once warm. */
const KEPT_BUFFERS = 24;
const DUPLICATE_SEQUENCE_NUMBER = 46;
/** Errors of a coordinator that has moved or is starting: find it again and retry. */
const COORDINATOR_MOVED = new Set(['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS']);

interface Batch {
  topic: string;
  partition: number;
  finished: FinishedBatch;
}

export class TransactionalProducer {
  private readonly pool = new BufferPool(REQUEST_HEADROOM + BATCH_BYTES, KEPT_BUFFERS);
  private readonly spare: RecordBatchBuilder[] = [];
  private readonly nextSequence = new Map<string, number>();
  private readonly known = new Set<string>();
  private readonly partitions = new Map<string, PartitionMetadata[]>();
  private coordinator?: Coordinator;
  private producerId = '-1';
  private producerEpoch = -1;

  private constructor(
    private readonly internals: TransactionInternals,
    private readonly options: TransactionalProducerOptions,
  ) {}

  /** Connects, fencing an earlier producer of the transactional id and aborting what it left open. */
  static async connect(options: TransactionalProducerOptions): Promise<TransactionalProducer> {
    const internals = await loadTransactionInternals(options.kafka);
    const producer = new TransactionalProducer(internals, options);
    await internals.connect();
    try {
      // kafkajs looks for a coordinator only among the brokers its metadata lists: without any yet, its first lookup
      // fails and is tried again after its back-off (0.3 s of every start).
      await internals.refreshMetadata();
      await producer.initialize();
    } catch (error) {
      await internals.disconnect().catch(() => undefined);
      throw error;
    }
    return producer;
  }

  /**
   * Sends the records and offsets as one transaction and commits it. When anything fails, what was sent is aborted
   * (the producer starts a new epoch, as a restart would) and the error is thrown: a consumer group's
   * ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID or REBALANCE_IN_PROGRESS as kafkajs's error of that type.
   */
  async commit({ records, offsets }: Transaction): Promise<void> {
    const batches = await this.batches(records);
    if (batches.length === 0 && !offsets) return;
    try {
      await this.transaction(batches, offsets);
    } catch (error) {
      // Fenced by a newer producer of the id: starting again would fence it in turn.
      if (!FENCED.has(typeOf(error))) await this.initialize().catch(() => undefined);
      throw error;
    } finally {
      for (const batch of batches) this.pool.give(batch.finished.buffer);
    }
  }

  /**
   * The next offset `groupId` committed for each of these partitions, by `topic/partition` (absent: none), once no
   * transaction's offsets for them are pending (KIP-447's stable offsets): asked again while Kafka still completes
   * one, the commit of a transaction whose EndTxn was answered a moment ago or the abort of one whose producer died
   * (after its transaction timeout at the latest). Undefined from a broker older than Kafka 2.5, which cannot say.
   */
  async stableOffsets(
    groupId: string,
    partitions: Array<{ topic: string; partition: number }>,
  ): Promise<Map<string, bigint> | undefined> {
    if (partitions.length === 0) return new Map();
    // A transaction left open by a producer that died is aborted after its timeout, checked every 10 s (Kafka's default).
    const patience = this.options.transactionTimeoutMs + 10_000 + RECOVERY_MS;
    const fetched = await this.retrying(async () => {
      const coordinator = await this.internals.coordinator(groupId, 'group');
      return coordinator.stableOffsets(groupId, partitions);
    }, patience).catch((error: unknown) => {
      if (typeOf(error) !== 'UNSTABLE_OFFSET_COMMIT') throw error;
      const held = partitions.map((p) => `${p.topic}/${p.partition}`).join(', ');
      throw new UserError(
        `Kafka kept a transaction's offsets of group ${groupId} pending for ${Math.round(patience / 1000)} s (partitions ${held}): an earlier transaction of the group is neither committed nor aborted.`,
        {
          code: 'KAFKA_TRANSACTION_PENDING',
          exitCode: ExitCode.unhealthy,
          hint: "Kafka aborts a dead producer's transaction once its timeout passes; a transaction coordinator that is slow or restarting takes longer.",
          nextSteps: [
            'Run the same command again: nothing was committed past the pending transaction.',
            'Check Kafka with `pbx status kafka` and `pbx logs kafka`.',
          ],
          cause: error,
        },
      );
    });
    if (!fetched) return undefined;
    return new Map(fetched.filter((p) => p.offset >= 0n).map((p) => [`${p.topic}/${p.partition}`, p.offset]));
  }

  async disconnect(): Promise<void> {
    await this.internals.disconnect();
  }

  /** A producer id and a new epoch: an open transaction of the id is aborted, sequences start again. */
  private async initialize(): Promise<void> {
    const { transactionalId, transactionTimeoutMs } = this.options;
    const { producerId, producerEpoch } = await this.coordinated((coordinator) =>
      coordinator.initProducerId({ transactionalId, transactionTimeout: transactionTimeoutMs }),
    );
    this.producerId = producerId;
    this.producerEpoch = producerEpoch;
    this.nextSequence.clear();
  }

  private async transaction(batches: Batch[], offsets: GroupOffsets | undefined): Promise<void> {
    const id = {
      transactionalId: this.options.transactionalId,
      producerId: this.producerId,
      producerEpoch: this.producerEpoch,
    };
    const added = new Map<string, Set<number>>();
    for (const { topic, partition } of batches) {
      if (!added.has(topic)) added.set(topic, new Set());
      added.get(topic)!.add(partition);
    }
    const topics = [...added].map(([topic, partitions]) => ({ topic, partitions: [...partitions] }));
    await Promise.all([
      topics.length > 0 && this.coordinated((c) => c.addPartitionsToTxn({ ...id, topics })),
      offsets && this.coordinated((c) => c.addOffsetsToTxn({ ...id, groupId: offsets.groupId })),
    ]);
    await Promise.all([this.produceAll(batches), offsets && this.commitOffsets(offsets, id)]);
    await this.coordinated((c) => c.endTxn({ ...id, transactionResult: true }));
  }

  private async commitOffsets(offsets: GroupOffsets, id: { producerId: string; producerEpoch: number }) {
    const coordinator = await this.internals.coordinator(offsets.groupId, 'group');
    await coordinator.txnOffsetCommit({ ...id, ...offsets, transactionalId: this.options.transactionalId });
  }

  /** Each partition's batches in order, one at a time; the partitions at once. */
  private async produceAll(batches: Batch[]): Promise<void> {
    const byPartition = new Map<string, Batch[]>();
    for (const batch of batches) {
      const id = `${batch.topic}\0${batch.partition}`;
      const list = byPartition.get(id);
      if (list) list.push(batch);
      else byPartition.set(id, [batch]);
    }
    await Promise.all(
      [...byPartition.values()].map(async (list) => {
        for (const batch of list) await this.produce(batch);
      }),
    );
  }

  /** One batch to its partition's leader, again after a leader moved or a connection dropped. */
  private async produce(batch: Batch): Promise<void> {
    await this.retrying(async () => {
      const leader = this.internals.partitionsOf(batch.topic).find((p) => p.partitionId === batch.partition)?.leader;
      if (leader === undefined) throw new Error(`Partition ${batch.partition} of ${batch.topic} has no leader known.`);
      const result = await this.internals.produce({
        nodeId: leader,
        transactionalId: this.options.transactionalId,
        topic: batch.topic,
        partition: batch.partition,
        batch: batch.finished,
      });
      if (result.errorCode !== 0 && result.errorCode !== DUPLICATE_SEQUENCE_NUMBER) {
        throw this.internals.errorFor(result.errorCode);
      }
    });
  }

  /** The records as finished batches, sequenced per partition. */
  private async batches(records: Transaction['records']): Promise<Batch[]> {
    const open = new Map<string, { topic: string; partition: number; builder: RecordBatchBuilder }>();
    const batches: Batch[] = [];
    const close = (topic: string, partition: number, builder: RecordBatchBuilder) => {
      const id = `${topic}\0${partition}`;
      const baseSequence = this.nextSequence.get(id) ?? 0;
      this.nextSequence.set(id, (baseSequence + builder.count) % 2 ** 31);
      const identity = { producerId: BigInt(this.producerId), producerEpoch: this.producerEpoch, baseSequence };
      batches.push({ topic, partition, finished: builder.finish({ ...identity, transactional: true }) });
    };
    for (const [topic, list] of records) {
      if (list.length === 0) continue;
      await this.know(topic);
      for (const record of list) {
        const key = record.key ?? null;
        const partition = record.partition ?? this.partitionFor(topic, key);
        const id = `${topic}\0${partition}`;
        let batch = open.get(id);
        if (!batch) {
          batch = {
            topic,
            partition,
            builder: this.spare.pop() ?? new RecordBatchBuilder(this.pool, REQUEST_HEADROOM),
          };
          open.set(id, batch);
        }
        const headers = headersOf(record.headers);
        const timestamp = record.timestamp === undefined ? Date.now() : Number(record.timestamp);
        if (batch.builder.add(key, record.value, headers, timestamp)) continue;
        close(topic, partition, batch.builder); // full: the emptied builder takes the record
        batch.builder.add(key, record.value, headers, timestamp);
      }
    }
    for (const { topic, partition, builder } of open.values()) {
      if (builder.count > 0) close(topic, partition, builder);
      this.spare.push(builder);
    }
    return batches;
  }

  private async know(topic: string): Promise<void> {
    if (this.known.has(topic)) return;
    await this.internals.addTopics([...this.known, topic]);
    this.known.add(topic);
  }

  private partitionFor(topic: string, key: Buffer | string | null): number {
    let metadata = this.partitions.get(topic);
    if (!metadata) this.partitions.set(topic, (metadata = this.internals.partitionsOf(topic)));
    if (metadata.length === 1) return metadata[0]!.partitionId;
    return this.internals.partitionFor(topic, metadata, key);
  }

  /**
   * A request to the transaction coordinator, found again when it moved, and tried again while Kafka still
   * completes the previous transaction (CONCURRENT_TRANSACTIONS: a few ms after each commit, as Java's producer
   * retries it after KAFKA-5477).
   */
  private coordinated<T>(request: (coordinator: Coordinator) => Promise<T>): Promise<T> {
    return this.retrying(async () => {
      this.coordinator ??= await this.internals.coordinator(this.options.transactionalId, 'transaction');
      try {
        return await request(this.coordinator);
      } catch (error) {
        if (COORDINATOR_MOVED.has(typeOf(error))) this.coordinator = undefined;
        throw error;
      }
    });
  }

  /** Runs `attempt` while it fails retriably, backing off from 2 ms, for at most `patience` ms. */
  private async retrying<T>(attempt: () => Promise<T>, patience = RECOVERY_MS): Promise<T> {
    const deadline = Date.now() + patience;
    for (let wait = 2; ; wait = Math.min(wait * 2, 500)) {
      try {
        return await attempt();
      } catch (error) {
        if (!isRetriable(error) || Date.now() + wait > deadline) throw error;
        if (!PENDING.has(typeOf(error))) await this.internals.refreshMetadata().catch(() => undefined);
        this.partitions.clear();
        await sleep(wait);
      }
    }
  }
}

function headersOf(headers: OutgoingRecord['headers']): RecordHeader[] {
  if (!headers) return [];
  const out: RecordHeader[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (Array.isArray(value)) for (const v of value) out.push([name, v]);
    else if (value !== undefined) out.push([name, value]);
  }
  return out;
}

/** The protocol error type of a kafkajs error, or of one it wraps. */
function typeOf(error: unknown): string {
  for (let e = error as { type?: string; originalError?: unknown; cause?: unknown } | undefined; e;) {
    if (e.type) return e.type;
    e = (e.originalError ?? e.cause) as typeof e;
  }
  return '';
}

/** Kafka still completes a transaction: asked again as is, nothing moved. */
const PENDING = new Set(['CONCURRENT_TRANSACTIONS', 'UNSTABLE_OFFSET_COMMIT']);
/** A newer producer of the same transactional id took over. */
const FENCED = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED']);
/** Group fencing and a producer fenced by a newer one are final for this transaction; the rest is tried again. */
const FINAL = new Set([
  ...FENCED,
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'REBALANCE_IN_PROGRESS',
  'FENCED_INSTANCE_ID',
  'INVALID_TXN_STATE',
]);

function isRetriable(error: unknown): boolean {
  const type = typeOf(error);
  if (PENDING.has(type) || COORDINATOR_MOVED.has(type)) return true;
  if (FINAL.has(type)) return false;
  const { name, retriable, cause } = error as { name?: string; retriable?: boolean; cause?: unknown };
  if (name === 'KafkaJSNumberOfRetriesExceeded' && cause) return isRetriable(cause);
  return retriable === true || name === 'KafkaJSConnectionError' || name === 'KafkaJSRequestTimeoutError';
}
