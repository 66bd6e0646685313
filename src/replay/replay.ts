import { randomUUID } from 'node:crypto';
import type { Admin, Kafka, Message, Producer } from 'kafkajs';
import { sleep } from '../async';
import { ExitCode, UserError, UsageError } from '../cli/errors';
import type { ResolvedConfig } from '../config/load';
import { kafkaClientConfig, loadKafkajs } from '../clients/kafka';
import { endpointOf } from '../services/endpoints';
import { checkCheckpoint, CheckpointWriter, readCheckpoint } from './checkpoint';
import { shiftTime, Schedule, type Pace } from './pacing';
import { deliveredAfter, endOffsets, REPLAY_HEADER } from './resume';
import { getPath, openSource, type Source, type SourceItem, type SourceOptions } from './sources';
import { ReplayStats } from './stats';

export type OnError = 'stop' | 'skip' | 'dead-letter';

export interface ReplayOptions {
  config: ResolvedConfig;
  source: SourceOptions;
  topic: string;
  pace: Pace;
  key?: string;
  headers?: Record<string, string>;
  partitions?: number;
  compression?: 'none' | 'gzip';
  limit?: number;
  from?: number;
  loop?: boolean;
  checkpoint?: string;
  onError?: OnError;
  deadLetterTopic?: string;
  signal: AbortSignal;
  /** Called about four times a second with the live figures. */
  onProgress?: (stats: ReplayStats) => void;
}

export interface ReplaySummary {
  source: string;
  format: string;
  topic: string;
  sent: number;
  skipped: number;
  deadLettered: number;
  /** Records a crashed run delivered after its last checkpoint, found in Kafka and not sent again. */
  recovered: number;
  outOfOrder: number;
  passes: number;
  /** Source index of the first record not delivered (what a checkpoint resumes from). */
  nextIndex: number;
  elapsedMs: number;
  targetRate?: number;
  achievedRate: number;
  stoppedBy: 'end' | 'limit' | 'interrupt';
  checkpoint?: string;
}

// Records due within this window leave together: single records still leave on time at low rates,
// while high rates fill batches.
const BATCH_WINDOW_MS = 5;
const MAX_BATCH_RECORDS = 5000;
// Batches this size went fastest through kafkajs here (64 KB: 55k/s, 512 KB: 45k/s on reviews) and stay far
// under the broker's default message.max.bytes (1 MiB), record overhead included.
const MAX_BATCH_BYTES = 64 * 1024;

type BadItem = Extract<SourceItem, { kind: 'bad' }>;

interface Pending {
  index: number;
  message: Message;
  /** Its share of the file, for progress: the line and its newline. */
  fileBytes: number;
}

/** Replays a dataset into Kafka in order, paced, and says exactly what was delivered. */
export async function replay(options: ReplayOptions): Promise<ReplaySummary> {
  const { config, topic, signal } = options;
  const onError = options.onError ?? 'stop';
  if (onError === 'dead-letter' && !options.deadLetterTopic) {
    throw new UsageError('--on-error dead-letter needs --dead-letter-topic.');
  }
  if (options.key && options.source.format === 'lines') {
    throw new UsageError('--key needs structured records (JSON or CSV), not plain lines.');
  }

  const { kafka, admin, producer } = await connect(options);
  const started = Date.now();
  const stats = new ReplayStats(started, options.pace.kind === 'rate' ? options.pace.perSecond : undefined);
  const schedule = new Schedule(options.pace);
  const writer = options.checkpoint ? new CheckpointWriter(options.checkpoint) : undefined;
  let source: Source | undefined;
  let nextIndex = 0;
  let pass = 0;
  let runId: string = randomUUID();
  let offsets: Record<string, string> = {};
  let alreadyDelivered = new Set<string>(); // `${pass}:${index}` found in Kafka on resume
  let recovered = 0;
  let stoppedBy: ReplaySummary['stoppedBy'] = 'end';
  let batch: Pending[] = [];
  let batchBytes = 0;
  let queued = 0; // records handed to a batch: what --limit counts
  let inFlight: Promise<void> = Promise.resolve();
  let sendError: Error | undefined;

  // Progress counts what was handled, not what was read: reading runs up to a chunk ahead of the sending.
  let handledBytes = 0;
  const progressBytes = (s: Source) => (s.gzipped ? s.bytesRead() : handledBytes);
  const progress = setInterval(() => {
    if (source) stats.bytesDone = progressBytes(source);
    options.onProgress?.(stats);
  }, 250);

  const saveCheckpoint = async (force = false) => {
    if (!writer?.due(force) || !source) return;
    // The end offsets now bound where a record sent after this save can be: what a resume reads back.
    offsets = await endOffsets(admin, topic).catch(() => offsets);
    await writer.save({
      source: source.name,
      size: source.totalBytes,
      topic,
      nextIndex,
      pass,
      sent: stats.sent,
      runId,
      offsets,
    });
  };

  // One send in flight at a time keeps Kafka's order equal to the file's; the next batch is built meanwhile.
  const flush = async () => {
    if (batch.length === 0) return;
    const records = batch;
    batch = [];
    batchBytes = 0;
    await inFlight;
    if (sendError) throw sendError;
    inFlight = producer
      .send({
        topic,
        acks: -1,
        compression: options.compression === 'gzip' ? 1 : 0,
        messages: records.map((r) => r.message),
      })
      .then(
        () => {
          stats.delivered(records.length, Date.now());
          for (const r of records) handledBytes += r.fileBytes;
          nextIndex = records.at(-1)!.index + 1;
          return saveCheckpoint();
        },
        (error: unknown) => {
          sendError = error instanceof Error ? error : new Error(String(error));
        },
      );
  };
  const drain = async () => {
    await flush();
    await inFlight;
    if (sendError) throw sendError;
  };

  const deadLetter = async (item: BadItem) => {
    await drain(); // keep the dead letter in order with what came before it
    await producer.send({
      topic: options.deadLetterTopic!,
      acks: -1,
      messages: [
        {
          value: item.raw,
          headers: {
            'pbx-error': item.reason,
            'pbx-source': source!.name,
            'pbx-line': String(item.line),
            'pbx-index': String(item.index),
          },
        },
      ],
    });
    stats.deadLettered++;
    handledBytes += item.raw.length + 1;
    nextIndex = item.index + 1;
  };

  try {
    let startIndex = options.from ?? 0;
    let countInPass = 0;
    if (options.checkpoint) {
      source = await openSource(options.source);
      const saved = await readCheckpoint(options.checkpoint);
      if (saved) {
        checkCheckpoint(options.checkpoint, saved, source.name, source.totalBytes, topic);
        startIndex = Math.max(startIndex, saved.nextIndex);
        pass = saved.pass;
        runId = saved.runId;
        alreadyDelivered = await deliveredAfter(kafka, admin, topic, saved.offsets, saved.runId);
      }
      offsets = await endOffsets(admin, topic);
    }
    nextIndex = startIndex;
    passes: for (;;) {
      source ??= await openSource(options.source);
      stats.totalBytes = options.loop ? undefined : source.totalBytes;
      for await (const item of source.items) {
        if (signal.aborted) {
          stoppedBy = 'interrupt';
          break passes;
        }
        if (item.index < startIndex) continue;
        if (alreadyDelivered.delete(`${pass}:${item.index}`)) {
          recovered++;
          if (batch.length === 0) nextIndex = item.index + 1;
          continue;
        }
        if (options.limit !== undefined && queued >= options.limit) {
          stoppedBy = 'limit';
          break passes;
        }
        countInPass++;
        const built = toMessage(item, pass);
        if ('problem' in built) {
          const bad: BadItem = {
            kind: 'bad',
            index: item.index,
            line: item.line,
            raw: item.raw,
            reason: built.problem,
          };
          if (onError === 'skip') {
            stats.skipped++;
            handledBytes += item.raw.length + 1;
            if (batch.length === 0) nextIndex = item.index + 1;
            continue;
          }
          if (onError === 'dead-letter') {
            await deadLetter(bad);
            continue;
          }
          await drain();
          nextIndex = item.index;
          await saveCheckpoint(true);
          throw badRecord(source.name, bad, stats.sent);
        }
        const wait = started + built.dueMs - Date.now();
        if (wait > BATCH_WINDOW_MS) {
          await flush();
          await sleep(wait, signal);
          if (signal.aborted) {
            stoppedBy = 'interrupt';
            break passes;
          }
        }
        batch.push({ index: item.index, message: built.message, fileBytes: item.raw.length + 1 });
        queued++;
        batchBytes += messageBytes(built.message);
        if (batch.length >= MAX_BATCH_RECORDS || batchBytes >= MAX_BATCH_BYTES) await flush();
      }
      await drain();
      if (options.loop && options.limit !== undefined && queued >= options.limit) {
        stoppedBy = 'limit';
        break;
      }
      if (!options.loop || signal.aborted) {
        if (signal.aborted) stoppedBy = 'interrupt';
        break;
      }
      if (pass === 0) schedule.endFirstPass();
      if (countInPass === 0) break; // an empty pass would loop forever
      pass++;
      countInPass = 0;
      startIndex = 0;
      nextIndex = 0;
      source.close();
      source = undefined;
    }
    await drain();
    await saveCheckpoint(true);

    // The message for one record, or what is wrong with it.
    function toMessage(item: SourceItem, pass: number): { message: Message; dueMs: number } | { problem: string } {
      if (item.kind === 'bad') return { problem: item.reason };
      const due = schedule.next(item.value, pass);
      if ('error' in due) return { problem: due.error };
      let key: string | null = null;
      if (options.key !== undefined) {
        const value = getPath(item.value, options.key);
        if (value === undefined || value === null) return { problem: `no field ${options.key} for the key` };
        key = typeof value === 'string' ? value : JSON.stringify(value);
      }
      const shift = options.pace.kind === 'event-time' ? pass * schedule.shiftPerPass : 0;
      const value =
        shift !== 0 && options.pace.kind === 'event-time' // (narrows pace for .field)
          ? JSON.stringify(shiftTime(item.value, options.pace.field, shift))
          : source!.format === 'ndjson' || source!.format === 'lines'
            ? item.raw // the exact bytes of the file
            : JSON.stringify(item.value);
      const headers = writer
        ? { ...options.headers, [REPLAY_HEADER]: `${runId}:${pass}:${item.index}` }
        : options.headers;
      return { message: { key, value, headers }, dueMs: due.dueMs };
    }
  } catch (error) {
    if (sendError || (error as { name?: string }).name?.startsWith('Kafka')) {
      await inFlight.catch(() => undefined);
      await saveCheckpoint(true).catch(() => undefined);
      throw kafkaFailed(config, error, stats.sent, options.checkpoint);
    }
    if (error instanceof UserError && error.code === 'SOURCE_MALFORMED') {
      // The rest of the source cannot be read: deliver what came before, as a bad record does.
      await drain();
      await saveCheckpoint(true);
      throw new UserError(
        `${error.message.replace(/\.$/, '')}. Stopped after delivering ${plural(stats.sent, 'record')}.`,
        {
          code: error.code,
          nextSteps: error.nextSteps,
          details: { sent: stats.sent },
        },
      );
    }
    throw error;
  } finally {
    clearInterval(progress);
    source?.close();
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
  const now = Date.now();
  if (source) stats.bytesDone = progressBytes(source);
  options.onProgress?.(stats);
  return {
    source: source?.name ?? options.source.path ?? '',
    format: source?.format ?? '',
    topic,
    sent: stats.sent,
    skipped: stats.skipped,
    deadLettered: stats.deadLettered,
    recovered,
    outOfOrder: schedule.outOfOrder,
    passes: pass + 1,
    nextIndex,
    elapsedMs: now - started,
    targetRate: stats.targetRate,
    achievedRate: stats.overallRate(now),
    stoppedBy,
    checkpoint: options.checkpoint,
  };
}

/** Connects, creating the topics that are missing; the admin stays connected for checkpoint offsets. */
async function connect(options: ReplayOptions): Promise<{ kafka: Kafka; admin: Admin; producer: Producer }> {
  const { Kafka, logLevel } = await loadKafkajs();
  const kafka = new Kafka({
    ...kafkaClientConfig(options.config, 'pbx-replay'),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5000 },
  });
  const admin = kafka.admin();
  // Idempotent with acks from all in-sync replicas: a retried batch is never written twice.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const wanted = [options.topic, ...(options.deadLetterTopic ? [options.deadLetterTopic] : [])].filter(
      (t) => !existing.has(t),
    );
    if (wanted.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: wanted.map((topic) => ({ topic, numPartitions: options.partitions ?? 1 })),
      });
    }
    await producer.connect();
  } catch (error) {
    await admin.disconnect().catch(() => undefined);
    throw kafkaFailed(options.config, error, 0, undefined);
  }
  return { kafka, admin, producer };
}

function badRecord(source: string, item: BadItem, sent: number): UserError {
  const where = item.line > 0 ? `${source}:${item.line}` : `${source}: element ${item.index}`;
  return new UserError(`${where}: ${item.reason}. Stopped after delivering ${plural(sent, 'record')}.`, {
    code: 'BAD_RECORD',
    hint: item.raw.length > 200 ? `${item.raw.slice(0, 200)}…` : item.raw,
    nextSteps: [
      'Fix the record, or replay with `--on-error skip` (count and go on) or `--on-error dead-letter --dead-letter-topic T`.',
    ],
    details: { line: item.line, index: item.index, sent },
  });
}

function kafkaFailed(config: ResolvedConfig, error: unknown, sent: number, checkpoint: string | undefined): UserError {
  const brokers = endpointOf(config, 'kafka').addresses.join(',');
  return new UserError(
    `Kafka at ${brokers} did not accept the records: ${(error as Error).message}. Delivered before that: ${plural(sent, 'record')}.`,
    {
      code: 'KAFKA_UNAVAILABLE',
      exitCode: ExitCode.unhealthy,
      nextSteps: [
        'Check the stack with `pbx status kafka` (start it with `pbx up kafka`).',
        checkpoint
          ? `Run the same command again: it resumes from ${checkpoint}.`
          : 'Use --checkpoint FILE to resume where a replay stopped.',
      ],
      cause: error,
    },
  );
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Bytes a message adds to a batch, near enough: key, value and headers, plus a per-record allowance. */
function messageBytes(message: Message): number {
  const size = (value: string | Buffer | null | undefined) =>
    typeof value === 'string' ? Buffer.byteLength(value) : (value?.length ?? 0);
  let bytes = 24 + size(message.key) + size(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {}))
    bytes += name.length + size(value as string | Buffer);
  return bytes;
}
