// The end of a flow that writes to Kafka: records are appended into batches, sent a few hundred KiB at a time,
// and acknowledged in order, each send with the span of the source it covers. What was delivered is therefore
// always a prefix of the source, which is what a checkpoint (a replay) or an offset commit (a pipeline) records.
import type { KafkaConfig } from 'kafkajs';
import { BatchProducer, type BatchProducerOptions } from '../clients/batch-producer';
import type { ByteRange, Bytes, Compression, RecordHeader } from '../clients/record-batch';
import type { SourceItem } from './records';

/** What a bad record does: stop the flow, be counted and skipped, or go to a dead-letter topic. */
export type OnError = 'stop' | 'skip' | 'dead-letter';

/** What one send covers of the source, handed back when Kafka has acknowledged it. */
export interface Span {
  sent: number;
  deadLettered: number;
  /** Source index after the span's last entry (sent, skipped, dead-lettered or found already delivered). */
  nextIndex: number;
  /** Its share of the file, for progress: lines and their newlines. */
  fileBytes: number;
}

const emptySpan = (nextIndex: number): Span => ({ sent: 0, deadLettered: 0, nextIndex, fileBytes: 0 });

/** An entry the sink moves past: where it lies in the source. */
type Entry = ByteRange & { index: number };

export const MAX_SEND_RECORDS = 10_000;
// Big sends cost the broker least, and at full speed the broker sets the pace: each request costs it work of its
// own. 1M reviews in 3.9–4.1 s with 2.1 s of the broker's CPU, against 4.3 s and 2.8 s in sends of 128 KiB; in
// sends of 960 KiB instead of 768 KiB, 2.65 s against 2.76 s and 2.39 s against 2.50 s (medians of two sets of 9
// and 7 alternating runs; kcat, whose requests are about 1 MB, 2.52 and 2.36 s). Records up to 40 KiB still fit.
export const SEND_BYTES = 960 * 1024;
// A partition's batch holds a whole send and more (one batch per partition per send), under the broker's default
// message.max.bytes (1 MiB), as librdkafka's default batch.size (1,000,000 bytes) is; smaller where a topic's
// max.message.bytes says so.
const BATCH_BYTES = 1000 * 1024;

/** The producer's side the sink uses (BatchProducer's public API). */
export type SinkProducer = Pick<
  BatchProducer<Span>,
  'partitionFor' | 'append' | 'send' | 'flush' | 'openBytes' | 'deliveredOffsets' | 'acknowledgedRecords' | 'disconnect'
>;

export interface KafkaSinkOptions {
  kafka: KafkaConfig;
  topic: string;
  /** Where bad records go with onError 'dead-letter'. */
  deadLetterTopic?: string;
  onError: OnError;
  compression?: Compression;
  /** Each topic's max.message.bytes where known: batches stay under the smallest, records under the topic's. */
  maxMessageBytes: ReadonlyMap<string, number>;
  /** Called in send order as Kafka acknowledges each send, with the span it covered. */
  onDelivered: (span: Span) => void;
  /** Work that must follow each acknowledgement, one at a time (a checkpoint): a failure stops the next send. */
  commit?: () => Promise<void>;
}

/** Connects a BatchProducer (any other producer of that shape in tests). */
export type ConnectProducer = (options: BatchProducerOptions<Span>) => Promise<SinkProducer>;

/** Sends a flow's records to a Kafka topic (and its bad ones to a dead-letter topic), acknowledged span by span. */
export class KafkaSink {
  /** Appended since the last send. */
  private span = emptySpan(0);
  private producer!: SinkProducer;
  /** What stopped the producer: the flow's failure is Kafka's. */
  failure: Error | undefined;
  private committing: Promise<void> = Promise.resolve();
  private commitError: Error | undefined;
  private readonly recordLimit: number | undefined;

  private constructor(private readonly options: KafkaSinkOptions) {
    this.recordLimit = options.maxMessageBytes.get(options.topic);
  }

  /** Connects to Kafka; the topics must exist. */
  static async connect(
    options: KafkaSinkOptions,
    connectProducer: ConnectProducer = (o) => BatchProducer.connect<Span>(o),
  ): Promise<KafkaSink> {
    const sink = new KafkaSink(options);
    sink.producer = await connectProducer({
      kafka: options.kafka,
      topics: [options.topic, ...(options.deadLetterTopic ? [options.deadLetterTopic] : [])],
      compression: options.compression,
      batchBytes: Math.min(BATCH_BYTES, ...options.maxMessageBytes.values()),
      onDelivered: (done) => sink.delivered(done),
    });
    return sink;
  }

  /** Where the next span starts (a resume's first entry, the start of another pass). */
  startAt(index: number): void {
    this.span = emptySpan(index);
  }

  /** Adds a record to the topic, stamped `now`; `passOver` then moves past its entry. */
  append(key: string | null, value: Bytes, headers: readonly RecordHeader[], now: number): void {
    const { topic } = this.options;
    this.producer.append(topic, this.producer.partitionFor(topic, key), key, value, headers, now);
    this.span.sent++;
  }

  /** Moves the span past an entry (sent, skipped, dead-lettered or found already delivered): a resume starts after it. */
  passOver(entry: Entry): void {
    this.span.nextIndex = entry.index + 1;
    this.span.fileBytes += entry.end - entry.start + 1;
  }

  /** Whether the records appended make a send's worth. */
  get full(): boolean {
    return this.span.sent >= MAX_SEND_RECORDS || this.producer.openBytes >= SEND_BYTES;
  }

  /** Handles a bad record as onError says: 'stop' is left to the caller, which says where and why. */
  reject(item: SourceItem, reason: string, sourceName: string): OnError {
    const { onError } = this.options;
    if (onError === 'dead-letter') this.deadLetter(item, reason, sourceName);
    else if (onError === 'skip') this.passOver(item);
    return onError;
  }

  private deadLetter(item: SourceItem, reason: string, sourceName: string): void {
    const topic = this.options.deadLetterTopic!;
    const headers: RecordHeader[] = [
      ['pbx-error', reason],
      ['pbx-source', sourceName],
      ['pbx-line', String(item.line)],
      ['pbx-index', String(item.index)],
    ];
    this.producer.append(topic, this.producer.partitionFor(topic, null), null, item, headers, Date.now());
    this.span.deadLettered++;
    this.passOver(item);
  }

  /** What is wrong with a record the topic could not take (its max.message.bytes), or undefined. */
  tooLarge(key: string | null, value: Bytes, headers: readonly RecordHeader[]): string | undefined {
    const limit = this.recordLimit;
    if (limit === undefined || mostBytesOf(value) <= limit - RECORD_OVERHEAD_MARGIN) return undefined;
    const size = batchBytesOf(key, value, headers);
    if (size <= limit) return undefined;
    return `the record takes ${size} bytes in a batch, more than topic ${this.options.topic} takes (its max.message.bytes, ${limit})`;
  }

  /** Sends what was appended since the last send; waits while five sends are in flight. */
  async send(): Promise<void> {
    if (this.commitError) throw this.commitError;
    const done = this.span;
    this.span = emptySpan(done.nextIndex);
    await this.producer.send(done).catch((error: unknown) => this.failed(error));
  }

  /** A live source fell silent: what it said before leaves now. */
  async pause(): Promise<void> {
    if (this.producer.openBytes > 0) await this.send();
  }

  /** Sends the rest and waits until Kafka has acknowledged everything and every commit is done. */
  async drain(): Promise<void> {
    await this.send();
    await this.producer.flush().catch((error: unknown) => this.failed(error));
    await this.committing;
    if (this.commitError) throw this.commitError;
  }

  /** Waits for the commits under way, whatever they end in (after a failure, before a last commit). */
  settled(): Promise<void> {
    return this.committing.catch(() => undefined);
  }

  /** Next offset after what was delivered, per partition of the topic. */
  deliveredOffsets(): Record<string, string> {
    return this.producer.deliveredOffsets(this.options.topic);
  }

  /** Records of the topic Kafka acknowledged (after a failure, exactly what the topic holds from this sink). */
  acknowledged(): number {
    return this.producer.acknowledgedRecords(this.options.topic);
  }

  async close(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
  }

  private delivered(done: Span): void {
    this.options.onDelivered(done);
    const { commit } = this.options;
    if (commit === undefined) return;
    this.committing = this.committing.then(commit).catch((error: unknown) => {
      this.commitError ??= error as Error;
    });
  }

  private failed(error: unknown): never {
    this.failure = error instanceof Error ? error : new Error(String(error));
    throw this.failure;
  }
}

// A batch's header and a record's own fields, headers aside: the check above is exact only near the limit.
const RECORD_OVERHEAD_MARGIN = 64 * 1024;

/** At most what `value` takes, without reading it: a UTF-16 unit is at most three bytes in UTF-8. */
function mostBytesOf(value: Bytes): number {
  return typeof value === 'string' ? value.length * 3 : bytesOf(value);
}

function bytesOf(value: Bytes): number {
  if (value === null) return 0;
  if (typeof value === 'string') return Buffer.byteLength(value);
  return 'bytes' in value ? value.end - value.start : value.length;
}

/** What a record alone in a batch takes (record batch v2): the batch header, and the record's varints at their widest. */
function batchBytesOf(key: string | null, value: Bytes, headers: readonly RecordHeader[]): number {
  const headerBytes = headers.reduce((sum, [k, v]) => sum + 10 + bytesOf(k) + bytesOf(v), 0);
  return 61 + 1 + 5 * 5 + bytesOf(key) + bytesOf(value) + headerBytes;
}
