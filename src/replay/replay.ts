import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import type { Admin, Kafka } from 'kafkajs';
import { settlesWithin, sleep } from '../async';
import { ExitCode, UserError, UsageError } from '../cli/errors';
import type { ResolvedConfig } from '../config/load';
import { BatchProducer, RECOVERY_MS } from '../clients/batch-producer';
import { createKafka, kafkaClientConfig, loadKafkajs, type KafkaClientOptions } from '../clients/kafka';
import type { Bytes, Compression, RecordHeader } from '../clients/record-batch';
import { collidingTopic, TOPIC_PARTITIONS_DIFFER, TOPIC_REFUSED } from '../clients/topics';
import { endpointOf, kafkaEndpoint } from '../services/endpoints';
import { checkCheckpoint, checkWritable, CheckpointWriter, readCheckpoint } from './checkpoint';
import { shiftTime, Schedule, type Pace } from './pacing';
import { deliveredAfter, endOffsets, REPLAY_HEADER } from './resume';
import { bracketHint, getPath, openSource, textOf, type Source, type SourceItem, type SourceOptions } from './sources';
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
  compression?: Compression;
  limit?: number;
  from?: number;
  loop?: boolean;
  checkpoint?: string;
  onError?: OnError;
  deadLetterTopic?: string;
  signal: AbortSignal;
  /** Called about four times a second with the live figures. */
  onProgress?: (stats: ReplayStats) => void;
  /** Something to tell the user while the replay runs (where a checkpoint resumes it, why stopping takes a while). */
  onNote?: (text: string) => void;
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
  /** Where a checkpoint made this run start: the source's entries (of its pass) that earlier runs had done. */
  resumedAfter?: number;
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
const MAX_SEND_RECORDS = 10_000;
// Big sends cost the broker least, and at full speed the broker sets the pace: each request costs it work of its
// own. 1M reviews in 3.9–4.1 s with 2.1 s of the broker's CPU, against 4.3 s and 2.8 s in sends of 128 KiB; in
// sends of 960 KiB instead of 768 KiB, 2.65 s against 2.76 s and 2.39 s against 2.50 s (medians of two sets of 9
// and 7 alternating runs; kcat, whose requests are about 1 MB, 2.52 and 2.36 s). Records up to 40 KiB still fit.
export const SEND_BYTES = 960 * 1024;
// A partition's batch holds a whole send and more (one batch per partition per send), under the broker's default
// message.max.bytes (1 MiB), as librdkafka's default batch.size (1,000,000 bytes) is; smaller where a topic's
// max.message.bytes says so.
const BATCH_BYTES = 1000 * 1024;

type BadItem = Extract<SourceItem, { kind: 'bad' }>;

/** What one send covers of the source, applied when Kafka has acknowledged it. */
interface Span {
  sent: number;
  deadLettered: number;
  /** Source index after the span's last entry (sent, skipped, dead-lettered or found already delivered). */
  nextIndex: number;
  /** Its share of the file, for progress: lines and their newlines. */
  fileBytes: number;
}

const emptySpan = (nextIndex: number): Span => ({ sent: 0, deadLettered: 0, nextIndex, fileBytes: 0 });

/** Replays a dataset into Kafka in order, paced, and says exactly what was delivered. */
export async function replay(options: ReplayOptions): Promise<ReplaySummary> {
  const { config, topic, signal } = options;
  const onError = options.onError ?? 'stop';
  if (onError === 'dead-letter' && !options.deadLetterTopic) {
    throw new UsageError('--on-error dead-letter needs --dead-letter-topic.');
  }
  if (options.deadLetterTopic && onError !== 'dead-letter') {
    throw new UsageError(
      `--dead-letter-topic is for --on-error dead-letter, which was not given (bad records would ${onError}).`,
    );
  }
  if (options.key?.trim() === '') throw new UsageError('--key needs a field (a dotted path), got "".');
  if (options.deadLetterTopic === topic) {
    throw new UsageError('--dead-letter-topic must not be --topic: bad records would land among the good ones.');
  }
  if (options.loop && options.source.path === '-') {
    throw new UsageError('--loop needs a file or --exec: stdin can be read only once.');
  }
  if (options.loop && options.source.path !== undefined && isPipe(options.source.path)) {
    throw new UsageError(
      `--loop needs a file or --exec: ${options.source.path} is a pipe, which can be read only once.`,
    );
  }
  if (options.key && options.source.format === 'lines') {
    throw new UsageError('--key needs structured records (JSON or CSV), not plain lines.');
  }

  // Without a key or a time field nothing reads the records' fields: NDJSON lines are only checked.
  const sourceOptions = {
    ...options.source,
    checkOnly: options.key === undefined && options.pace.kind !== 'event-time',
    signal,
  };
  if (options.checkpoint) await checkWritable(options.checkpoint);
  // A file opens first, so that a missing or empty one is reported as such, not as Kafka being down. A command
  // or stdin is read only once Kafka has answered: what it printed meanwhile would be lost.
  const fromFile = options.source.path !== undefined && options.source.path !== '-';
  const opened = fromFile ? await openSource(sourceOptions) : undefined;
  // (Deliveries start only after the first send, once `delivered` below exists.)
  const { kafka, admin, producer, recordLimit } = await connect(options, (done) => delivered(done)).catch(
    (error: unknown) => {
      opened?.close();
      throw error;
    },
  );
  const started = Date.now();
  let scheduleStart: number | undefined;
  const stats = new ReplayStats(started, options.pace, options.limit);
  const schedule = new Schedule(options.pace);
  const writer = options.checkpoint ? new CheckpointWriter(options.checkpoint) : undefined;
  let source: Source | undefined = opened;
  let nextIndex = 0;
  let pass = 0;
  let runId: string = randomUUID();
  let offsets: Record<string, string> = {};
  let alreadyDelivered = new Set<string>(); // `${pass}:${index}` found in Kafka on resume
  let recovered = 0;
  let resumedAfter: number | undefined;
  let stoppedBy: ReplaySummary['stoppedBy'] = 'end';
  let span = emptySpan(0); // appended since the last send
  let sendError: Error | undefined;
  let checkpointing: Promise<void> = Promise.resolve();
  let checkpointError: Error | undefined; // a save that failed stops the replay at its next send
  const fixedHeaders: RecordHeader[] = Object.entries(options.headers ?? {});
  // The record being sent: one object, filled again for each (a million records make no garbage here).
  const message: { key: string | null; value: Bytes; headers: readonly RecordHeader[]; dueMs: number } = {
    key: null,
    value: null,
    headers: fixedHeaders,
    dueMs: 0,
  };
  // Progress counts what was handled, not what was read: reading runs up to a chunk ahead of the sending.
  let handledBytes = 0;
  const progressBytes = (s: Source) => (s.gzipped ? s.bytesRead() : handledBytes);
  const progress = setInterval(() => {
    if (source) stats.bytesDone = progressBytes(source);
    options.onProgress?.(stats);
  }, 250);

  const saveCheckpoint = async (force = false) => {
    if (!writer?.due(force) || !source) return;
    // Where the delivered records end in each partition: anything later of this run lies beyond, where a
    // resume reads back.
    Object.assign(offsets, producer.deliveredOffsets(topic));
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

  // Kafka acknowledges the sends in order: what was delivered is always a prefix of the source.
  const delivered = (done: Span) => {
    stats.delivered(done.sent, Date.now());
    stats.deadLettered += done.deadLettered;
    handledBytes += done.fileBytes;
    nextIndex = done.nextIndex;
    checkpointing = checkpointing
      .then(() => saveCheckpoint())
      .catch((error: unknown) => {
        checkpointError ??= error as Error;
      });
  };
  const producerFailed = (error: unknown) => {
    sendError = error instanceof Error ? error : new Error(String(error));
    throw sendError;
  };
  // Up to five sends are in flight; the next is built meanwhile.
  const send = async () => {
    if (checkpointError) throw checkpointError;
    const done = span;
    span = emptySpan(done.nextIndex);
    await producer.send(done).catch(producerFailed);
  };
  // What was read before a live source (stdin, a command) pauses leaves then, not when it next says something.
  const pause = async () => {
    if (producer.openBytes > 0) await send();
  };
  const drain = async () => {
    await send();
    await producer.flush().catch(producerFailed);
    await checkpointing;
    if (checkpointError) throw checkpointError;
  };
  const append = (key: string | null, value: Bytes, headers: readonly RecordHeader[], now: number) => {
    stats.queuedAt(now);
    producer.append(topic, producer.partitionFor(topic, key), key, value, headers, now);
  };
  /** Moves the span past an entry (sent, skipped, dead-lettered or found already delivered): a resume starts after it. */
  const passOver = (item: SourceItem) => {
    span.nextIndex = item.index + 1;
    span.fileBytes += item.end - item.start + 1;
  };

  const deadLetter = (item: BadItem) => {
    const deadLetterTopic = options.deadLetterTopic!;
    producer.append(
      deadLetterTopic,
      producer.partitionFor(deadLetterTopic, null),
      null,
      item,
      [
        ['pbx-error', item.reason],
        ['pbx-source', source!.name],
        ['pbx-line', String(item.line)],
        ['pbx-index', String(item.index)],
      ],
      Date.now(),
    );
    span.deadLettered++;
    passOver(item);
  };

  // Interrupted, the records in flight are still delivered: say why stopping takes a while when it does.
  let stopping: NodeJS.Timeout | undefined;
  const sayWhyStoppingWaits = () => {
    stopping = setTimeout(
      () =>
        options.onNote?.(
          `Waiting for Kafka to acknowledge the records in flight (up to ${RECOVERY_MS / 1000} s while it does not answer); Ctrl-C again stops at once${options.checkpoint ? `, and ${options.checkpoint} still resumes with nothing sent twice` : ''}.`,
        ),
      1000,
    );
  };
  signal.addEventListener('abort', sayWhyStoppingWaits, { once: true });

  try {
    let startIndex = options.from ?? 0;
    let countInPass = 0;
    let indexEnd = 0; // after the last record read
    if (options.checkpoint) {
      source ??= await openSource(sourceOptions);
      const saved = await readCheckpoint(options.checkpoint);
      if (saved) {
        checkCheckpoint(options.checkpoint, saved, source.name, source.totalBytes, topic);
        startIndex = Math.max(startIndex, saved.nextIndex);
        pass = saved.pass;
        runId = saved.runId;
        resumedAfter = saved.nextIndex;
        options.onNote?.(
          `Resuming from ${options.checkpoint}: the first ${plural(saved.nextIndex, 'record')} of ${source.name}${saved.pass > 0 ? ` (pass ${saved.pass + 1})` : ''} were done by an earlier run.`,
        );
        alreadyDelivered = await deliveredAfter(kafka, admin, topic, saved.offsets, saved.runId);
      }
      offsets = await endOffsets(admin, topic);
    }
    nextIndex = startIndex;
    span = emptySpan(startIndex);
    passes: for (;;) {
      source ??= await openSource(sourceOptions);
      stats.totalBytes = options.loop ? undefined : source.totalBytes;
      const chunks = source.live ? withPauses(source.batches, pause, signal) : source.batches;
      for await (const items of chunks) {
        // The records' create time: read once per chunk at full speed (a chunk takes about a millisecond), again
        // after anything that waits.
        let now = Date.now();
        for (const item of items) {
          if (signal.aborted) {
            stoppedBy = 'interrupt';
            break passes;
          }
          indexEnd = item.index + 1;
          if (item.index < startIndex) {
            // Done by an earlier run (or before --from): not part of what this one has left, for its ETA.
            if (stats.totalBytes !== undefined && !source.gzipped) stats.totalBytes -= item.end - item.start + 1;
            continue;
          }
          if (alreadyDelivered.size > 0 && alreadyDelivered.delete(`${pass}:${item.index}`)) {
            recovered++;
            passOver(item);
            continue;
          }
          countInPass++;
          const problem = toMessage(item, pass);
          if (problem !== undefined) {
            const { index, line, bytes, start, end } = item;
            const bad: BadItem = { kind: 'bad', index, line, bytes, start, end, reason: problem };
            if (onError === 'skip') {
              stats.skipped++;
              passOver(item);
              continue;
            }
            if (onError === 'dead-letter') {
              deadLetter(bad);
              continue;
            }
            await drain();
            nextIndex = item.index;
            await saveCheckpoint(true);
            throw badRecord(source.name, bad, stats.sent);
          }
          // Due times count from the first record, not from the start: connecting and opening the file must
          // not make the first records late and then leave in a burst.
          scheduleStart ??= now;
          if (message.dueMs !== 0) {
            now = Date.now();
            const wait = scheduleStart + message.dueMs - now;
            if (wait > BATCH_WINDOW_MS) {
              await send();
              await sleep(wait, signal);
              if (signal.aborted) {
                stoppedBy = 'interrupt';
                break passes;
              }
              now = Date.now();
            }
          }
          append(message.key, message.value, message.headers, now);
          span.sent++;
          passOver(item);
          // At once: a live source need not say more for the replay to end.
          if (options.limit !== undefined && stats.queued >= options.limit) {
            stoppedBy = 'limit';
            break passes;
          }
          if (span.sent >= MAX_SEND_RECORDS || producer.openBytes >= SEND_BYTES) {
            await send();
            now = Date.now();
          }
        }
      }
      await drain();
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
      span = emptySpan(0);
      source.close();
      source = undefined;
    }
    await drain();
    if (options.from !== undefined && options.from > indexEnd && pass === 0 && stoppedBy === 'end') {
      throw new UsageError(
        `--from ${options.from} is past the end of ${source?.name ?? 'the source'}, which holds ${plural(indexEnd, 'record')}: nothing was sent.`,
      );
    }
    await saveCheckpoint(true);

    // Makes `message` the one for this record and returns undefined, or returns what is wrong with the record.
    function toMessage(item: SourceItem, pass: number): string | undefined {
      if (item.kind === 'bad') return item.reason;
      const due = schedule.next(item.value, pass);
      if ('error' in due) return due.error;
      let key: string | null = null;
      if (options.key !== undefined) {
        const value = getPath(item.value, options.key);
        if (value === undefined) return `no field ${options.key} for the key${bracketHint(options.key)}`;
        if (value === null) return `field ${options.key} is null, which is no key`;
        key = typeof value === 'string' ? value : JSON.stringify(value);
      }
      const shift = options.pace.kind === 'event-time' ? pass * schedule.shiftPerPass : 0;
      message.key = key;
      message.value =
        shift !== 0 && options.pace.kind === 'event-time' // (narrows pace for .field)
          ? JSON.stringify(shiftTime(item.value, options.pace.field, shift))
          : source!.format === 'csv'
            ? JSON.stringify(item.value) // (its bytes are the row as written, for messages)
            : item; // the file's exact bytes; for a JSON array, the element's compact JSON, made as it was read
      message.headers = writer ? [...fixedHeaders, [REPLAY_HEADER, `${runId}:${pass}:${item.index}`]] : fixedHeaders;
      message.dueMs = due.dueMs;
      if (recordLimit !== undefined && mostBytesOf(message.value) > recordLimit - RECORD_OVERHEAD_MARGIN) {
        const size = batchBytesOf(message.key, message.value, message.headers);
        if (size > recordLimit) {
          return `the record takes ${size} bytes in a batch, more than topic ${topic} takes (its max.message.bytes, ${recordLimit})`;
        }
      }
      return undefined;
    }
  } catch (error) {
    if (sendError || (error as { name?: string }).name?.startsWith('Kafka')) {
      await checkpointing.catch(() => undefined);
      await saveCheckpoint(true).catch(() => undefined);
      // Counted from Kafka's acknowledgements: a failed send may have had some of its batches written.
      throw kafkaFailed(config, topic, error, producer.acknowledgedRecords(topic), options.checkpoint);
    }
    if (error instanceof UserError && error.code === 'CHECKPOINT_UNWRITABLE') {
      // Kafka's answers, not the checkpoint, say what was delivered.
      throw new UserError(`${error.message}. Delivered before that: ${plural(stats.sent, 'record')}.`, {
        code: error.code,
        nextSteps: error.nextSteps,
        details: { sent: stats.sent },
      });
    }
    if (error instanceof UserError && (error.code === 'SOURCE_MALFORMED' || error.code === 'SOURCE_COMMAND_FAILED')) {
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
    signal.removeEventListener('abort', sayWhyStoppingWaits);
    clearTimeout(stopping);
    clearInterval(progress);
    // The last figures, whatever ended the replay: a live line left at its last tick would show fewer sent.
    if (source) stats.bytesDone = progressBytes(source);
    options.onProgress?.(stats);
    source?.close();
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
  const now = Date.now();
  return {
    source: source?.name ?? options.source.path ?? '',
    format: source?.format ?? '',
    topic,
    sent: stats.sent,
    skipped: stats.skipped,
    deadLettered: stats.deadLettered,
    recovered,
    resumedAfter,
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

/**
 * The source's chunks, calling `onPause` when the next is not there within a batch window. An interrupt ends the
 * wait for it: a silent pipe or command would hold the replay for ever.
 */
async function* withPauses<T>(
  chunks: AsyncGenerator<T>,
  onPause: () => Promise<void>,
  signal: AbortSignal,
): AsyncGenerator<T> {
  for (;;) {
    const next = chunks.next();
    if (!(await settlesWithin(next, BATCH_WINDOW_MS))) {
      await onPause();
      if (!(await settlesWithin(next, Infinity, signal))) {
        next.catch(() => undefined); // the source is closed after the interrupt, which may end the read in an error
        return;
      }
    }
    const result = await next;
    if (result.done) return;
    yield result.value;
  }
}

/** A FIFO, the shell's <(cmd), a device: not a file to read again. (A path that is not there is the source's to say.) */
function isPipe(path: string): boolean {
  try {
    const info = statSync(path);
    return !info.isFile() && !info.isDirectory();
  } catch {
    return false;
  }
}

const REPLAY_CLIENT: KafkaClientOptions = {
  clientId: 'pbx-replay',
  connectionTimeout: 3000,
  retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5000 },
};

/** Connects, creating the topics that are missing; the admin stays connected for checkpoint offsets. */
async function connect(
  options: ReplayOptions,
  onDelivered: (done: Span) => void,
): Promise<{ kafka: Kafka; admin: Admin; producer: BatchProducer<Span>; recordLimit?: number }> {
  const endpoint = kafkaEndpoint(options.config);
  const kafka = await createKafka(endpoint, REPLAY_CLIENT);
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const topics = [options.topic, ...(options.deadLetterTopic ? [options.deadLetterTopic] : [])];
    const wanted = topics.filter((t) => !existing.has(t));
    for (const topic of wanted) {
      const other = collidingTopic(topic, existing);
      if (other === undefined) continue;
      throw new UserError(
        `Topic ${topic} would collide with topic ${other}, which exists: Kafka refuses a topic whose name differs from another's only by "." and "_".`,
        { code: TOPIC_REFUSED, nextSteps: [`Replay into ${other}, or choose a name that differs otherwise.`] },
      );
    }
    if (options.partitions !== undefined && existing.has(options.topic)) {
      const [topic] = (await admin.fetchTopicMetadata({ topics: [options.topic] })).topics;
      const count = topic?.partitions.length;
      if (count !== options.partitions) {
        throw new UserError(
          `Topic ${options.topic} already has ${count} partition(s): --partitions ${options.partitions} applies only to a topic pbx creates.`,
          {
            code: TOPIC_PARTITIONS_DIFFER,
            nextSteps: ['Drop --partitions, or add partitions with kafka-topics.sh --alter --partitions N.'],
          },
        );
      }
    }

    if (wanted.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: wanted.map((topic) => ({ topic, numPartitions: options.partitions ?? 1 })),
      });
    }
    const settings = await topicSettings(admin, topics);
    // Kafka would refuse each unkeyed record with a bare "failed the validation on broker".
    const unkeyed = options.key === undefined ? topics : topics.slice(1); // dead letters carry no key
    const compacted = unkeyed.find((topic) => settings.get(topic)?.compacted);
    if (compacted !== undefined) {
      throw new UsageError(
        `Topic ${compacted} is compacted (cleanup.policy=compact): Kafka takes only records with a key there.`,
        {
          nextSteps: [
            compacted === options.topic
              ? 'Give --key FIELD, the field whose value identifies a record, or replay into a topic that is not compacted.'
              : 'Give a --dead-letter-topic that is not compacted.',
          ],
        },
      );
    }
    const limits = [...settings.values()].flatMap((s) => (s.maxMessageBytes ? [s.maxMessageBytes] : []));
    const producer = await BatchProducer.connect<Span>({
      kafka: kafkaClientConfig(endpoint, REPLAY_CLIENT),
      topics,
      compression: options.compression,
      batchBytes: Math.min(BATCH_BYTES, ...limits),
      onDelivered,
    });
    return { kafka, admin, producer, recordLimit: settings.get(options.topic)?.maxMessageBytes };
  } catch (error) {
    await admin.disconnect().catch(() => undefined);
    if (error instanceof UserError) throw error;
    throw kafkaFailed(options.config, options.topic, error, 0, undefined);
  }
}

// A batch's header and a record's own fields, headers aside: the check below is exact only near the limit.
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

interface TopicSettings {
  /** The largest record batch the topic takes (its max.message.bytes, the broker's default unless set). */
  maxMessageBytes?: number;
  /** cleanup.policy includes compact: Kafka refuses records without a key. */
  compacted: boolean;
}

/** What replay needs of each topic's settings. A client that may not read them (ACLs) gets pbx's defaults. */
async function topicSettings(admin: Admin, topics: string[]): Promise<Map<string, TopicSettings>> {
  const { ConfigResourceTypes } = await loadKafkajs();
  const described = await admin
    .describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['max.message.bytes', 'cleanup.policy'],
      })),
    })
    .catch(() => ({ resources: [] }));
  return new Map(
    described.resources.map((resource) => {
      const value = (name: string) => resource.configEntries.find((e) => e.configName === name)?.configValue;
      const bytes = Number(value('max.message.bytes'));
      return [
        resource.resourceName,
        {
          maxMessageBytes: Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined,
          compacted: (value('cleanup.policy') ?? '').split(',').includes('compact'),
        },
      ];
    }),
  );
}

function badRecord(source: string, item: BadItem, sent: number): UserError {
  const text = textOf(item);
  const where = item.line > 0 ? `${source}:${item.line}` : `${source}: element ${item.index}`;
  return new UserError(`${where}: ${item.reason}. Stopped after delivering ${plural(sent, 'record')}.`, {
    code: 'BAD_RECORD',
    hint: text.length > 200 ? `${text.slice(0, 200)}…` : text,
    nextSteps: [
      // A lone "{" on the first line: pretty-printed JSON, which NDJSON's one value per line cannot be.
      ...(item.line === 1 && text.trim() === '{'
        ? [`This is JSON spread over lines; pbx reads one value per line: \`jq -c . ${source} > one-per-line.json\`.`]
        : []),
      'Fix the record, or replay with `--on-error skip` (count and go on) or `--on-error dead-letter --dead-letter-topic T`.',
    ],
    details: { line: item.line, index: item.index, sent },
  });
}

function kafkaFailed(
  config: ResolvedConfig,
  topic: string,
  error: unknown,
  sent: number,
  checkpoint: string | undefined,
): UserError {
  const brokers = endpointOf(config, 'kafka').addresses.join(',');
  const resume = checkpoint
    ? `Run the same command again: it resumes from ${checkpoint}.`
    : 'Use --checkpoint FILE to resume where a replay stopped.';
  const delivered = `Delivered before that: ${plural(sent, 'record')}.`;
  // kafkajs gathers each topic's own error from a CreateTopics under a general one ("Topic creation errors").
  const [own] = (error as { errors?: unknown[] }).errors ?? [];
  if (own !== undefined) {
    const named = (own as { topic?: string }).topic ?? topic; // the dead-letter topic is created alongside
    const refused = kafkaFailed(config, named, own, sent, checkpoint);
    if (refused.code !== 'KAFKA_UNAVAILABLE') return refused;
    return new UserError(`Kafka at ${brokers} refused to create topic ${named}: ${(own as Error).message}`, {
      code: TOPIC_REFUSED,
      nextSteps: [
        "Check --partitions against the broker's limits, or create the topic with Kafka's own tools and replay into it.",
      ],
      cause: error,
    });
  }
  const type = (error as { type?: string }).type;
  // Batches are cut to the topic's limit, so only a single record can still be too large: the data's problem.
  if (type === 'MESSAGE_TOO_LARGE') {
    return new UserError(
      `A record is larger than the topic's max.message.bytes allows: Kafka refused it. ${delivered}`,
      {
        code: 'RECORD_TOO_LARGE',
        nextSteps: [
          "Raise the topic's max.message.bytes (kafka-configs.sh --alter --entity-type topics --add-config max.message.bytes=N).",
          resume,
        ],
        details: { sent },
        cause: error,
      },
    );
  }
  // A cluster's ACLs: nothing pbx or a retry can change.
  if (type?.endsWith('_AUTHORIZATION_FAILED')) {
    const user = config.services.kafka.external?.sasl?.username ?? 'pbx';
    const [what, rights] =
      type === 'CLUSTER_AUTHORIZATION_FAILED'
        ? ['use its idempotent producer', 'IDEMPOTENT_WRITE on the cluster (brokers before Kafka 2.8 ask for it)']
        : [
            `write to topic ${topic}`,
            `WRITE and DESCRIBE on topic ${topic} (CREATE too when pbx is to create it), or replay into a topic you may write to`,
          ];
    return new UserError(
      `Kafka at ${brokers} does not let ${user} ${what}: ${(error as Error).message}. ${delivered}`,
      {
        code: 'KAFKA_NOT_AUTHORIZED',
        nextSteps: [`Ask the cluster's administrator for ${rights}.`, resume],
        details: { sent },
        cause: error,
      },
    );
  }
  return new UserError(`Kafka at ${brokers} did not accept the records: ${(error as Error).message}. ${delivered}`, {
    code: 'KAFKA_UNAVAILABLE',
    exitCode: ExitCode.unhealthy,
    nextSteps: ['Check the stack with `pbx status kafka` (start it with `pbx up kafka`).', resume],
    cause: error,
  });
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
