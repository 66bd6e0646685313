// `pbx run`: a pipeline's topics made ready, its sinks opened, its worker(s) in the pipeline's consumer group,
// and the end of the run: Ctrl-C or SIGTERM (what is done is committed, the group left cleanly), --until-end
// (every input partition at the end offsets seen at start, and every result written), or a failure.
import { hostname } from 'node:os';
import type { Writable } from 'node:stream';
import type { Admin, Kafka } from 'kafkajs';
import { sleep } from '../../async';
import { ExitCode, UsageError, UserError } from '../../cli/errors';
import { createKafka, isAuthorizationFailure, kafkaClientConfig } from '../../clients/kafka';
import { ensureTopics, highWatermarks, type TopicRequest } from '../../clients/topics';
import { loadClusterReads, type ClusterReads } from '../../clients/kafkajs-internals';
import type { ResolvedConfig } from '../../config/load';
import type { OnError } from '../../flow/kafka-sink';
import { endpointOf, kafkaEndpoint } from '../../services/endpoints';
import { toMs, type PipelineSpec } from '../api';
import { RecordProblem } from './messages';
import { BatchFailed } from './shell-operators';
import { canSpawnReplicas, replicaSettings, runReplicas } from './replicas';
import { Figures, type PipelineFigures } from './figures';
import { ensureFiguresTopic, publishFigures, readFigures } from './figures-topic';
import { RunFigures, type RunTotals } from './run-figures';
import { openSinks } from './sinks';
import { StdoutClosed } from '../sinks/stdout';
import { SinkRefused } from './sink-writes';
import { describeTopology, topologyOf, type Topology } from './topology';
import { Worker } from './worker';
import { IDLE_TIMEOUT_DEFAULT } from './idleness';

export interface RunOptions {
  spec: PipelineSpec;
  file: string;
  config: ResolvedConfig;
  replicas: number;
  from: 'earliest' | 'latest';
  untilEnd: boolean;
  reset: boolean;
  onError: OnError;
  deadLetterTopic?: string;
  sinkTimeoutMs: number;
  /** --idle-timeout: how long a source partition with nothing to read holds a live run's windows open (default
   * IDLE_TIMEOUT_DEFAULT; Infinity: until it has records again). */
  idleTimeoutMs?: number;
  signal: AbortSignal;
  onNote: (text: string) => void;
  /** The latest figures of each replica, about once a second (one replica's, unless --replicas). */
  onFigures?: (replicas: PipelineFigures[]) => void;
  /** Names this worker among the replicas of one machine (its transactional id). */
  replica?: number;
  /** Where a stdout() sink prints: the command's standard output. */
  stdout?: Writable;
}

export interface RunSummary {
  pipeline: string;
  file: string;
  topology: string;
  records: number;
  errors: number;
  deadLetters: number;
  /** Records committed per Kafka topic, internal ones included. */
  sent: Record<string, number>;
  /** Values acknowledged per Cassandra or Redis sink. */
  wrote: Record<string, number>;
  elapsedMs: number;
  /** stdout-closed: the reader of a stdout sink went away (`| head`), which ends the run as the end of its input. */
  stoppedBy: 'end' | 'interrupt' | 'stdout-closed';
  /** --replicas: how many replicas were killed and started again. */
  restarts?: number;
}

/** Runs a pipeline until its input ends (--until-end), a signal, or a failure. */
export async function runPipeline(options: RunOptions): Promise<RunSummary> {
  const topology = topologyOf(options.spec, options.deadLetterTopic);
  const started = Date.now();
  const shared = replicaSettings();
  const kafka = await createKafka(kafkaEndpoint(options.config), {
    clientId: `pbx-run-${topology.name}`,
    connectionTimeout: 3000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5000 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    // The parent of replicas prepares and resets once; each replica then finds everything in place.
    const layout = await prepare(admin, topology, { ...options, reset: options.reset && shared.replica === undefined });
    if (options.replicas > 1 && shared.replica === undefined) {
      return await supervise(options, topology, admin, layout, started);
    }
    const ends = shared.ends ?? layout.ends;
    return await runWorker(options, topology, kafka, admin, { ...layout, ends }, shared.replica ?? 0, started);
  } catch (error) {
    throw failed(error, options);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** One worker in this process, with the sinks it writes to and its figures published once a second. */
async function runWorker(
  options: RunOptions,
  topology: Topology,
  kafka: Kafka,
  admin: Admin,
  layout: Layout,
  replica: number,
  started: number,
): Promise<RunSummary> {
  const sinkTopics = new Set(topology.sinks.flatMap((s) => (s.kind === 'kafka' ? [s.topic] : [])));
  const steps = [...topology.head, ...(topology.keyed ? [topology.keyed] : []), ...topology.tail];
  const figures = new Figures({
    pipeline: topology.name,
    replica: String(replica),
    operators: steps.map((s) => s.label),
  });
  const run = new RunFigures(figures, sinkTopics);
  const sinks = await openSinks(topology, {
    config: options.config,
    stdout: options.stdout,
    sinkTimeoutMs: options.sinkTimeoutMs,
    figures: run,
    note: options.onNote,
  });
  await ensureFiguresTopic({ admin, endpoint: kafkaEndpoint(options.config) });
  const figuresProducer = kafka.producer();
  await figuresProducer.connect();
  const publisher = publishFigures({ figures, producer: figuresProducer, onSnapshot: (s) => options.onFigures?.([s]) });
  const worker = new Worker({
    topology,
    config: options.config,
    kafka,
    admin,
    // Stable per machine and replica: a restarted worker fences its predecessor and aborts what it left open.
    transactionalId: `${topology.groupId}-${hostname()}-${replica}`,
    from: options.from,
    until: options.untilEnd ? layout.ends : undefined,
    sourcePartitions: [...layout.ends.keys()],
    // --until-end marks each partition's end instead: nothing there depends on how long a partition waited.
    idleTimeoutMs: options.untilEnd ? Infinity : (options.idleTimeoutMs ?? toMs(IDLE_TIMEOUT_DEFAULT)),
    repartitionPartitions: layout.partitions,
    onError: options.onError,
    sinks,
    sinkTimeoutMs: options.sinkTimeoutMs,
    figures: run,
    note: options.onNote,
  });
  try {
    await worker.start();
    const stoppedBy = await runUntil(worker, admin, topology, layout, options);
    figures.stopping();
    await worker.stop();
    if (worker.error instanceof StdoutClosed) {
      options.onNote(
        'stdout was closed by its reader: stopped. The batch being printed was not committed; the next run prints it again from its first value.',
      );
      return summary(options, topology, run.totals, started, 'stdout-closed');
    }
    if (worker.error !== undefined) throw worker.error as Error;
    return summary(options, topology, run.totals, started, stoppedBy);
  } finally {
    await worker.stop();
    await publisher.stop();
    await figuresProducer.disconnect().catch(() => undefined);
    await Promise.all(sinks.flatMap((s) => (s ? [s.close().catch(() => undefined)] : [])));
  }
}

/** --replicas N: N processes of this command, their summaries added up. */
async function supervise(
  options: RunOptions,
  topology: Topology,
  admin: Admin,
  layout: Layout,
  started: number,
): Promise<RunSummary> {
  if (!canSpawnReplicas()) {
    throw new UsageError(
      '--replicas runs copies of the pbx binary, and this is not it (a development run under Node).',
      {
        nextSteps: ['Build it with `npm run build` and run `dist/pbx run …`.'],
      },
    );
  }
  const reader = await readFigures({ endpoint: kafkaEndpoint(options.config), admin, pipeline: topology.name });
  const stopReading = new AbortController();
  void (async () => {
    for await (const replicas of reader.updates(stopReading.signal)) options.onFigures?.(replicas);
  })();
  const outcome = await runReplicas({
    replicas: options.replicas,
    argv: process.argv.slice(2),
    ends: options.untilEnd ? layout.ends : undefined,
    signal: options.signal,
    onNote: options.onNote,
  }).finally(async () => {
    stopReading.abort();
    await reader.close();
  });
  const empty = { records: 0, errors: 0, deadLetters: 0, sent: {}, wrote: {} };
  const total = summary(options, topology, empty, started, options.signal.aborted ? 'interrupt' : 'end');
  for (const each of outcome.summaries as RunSummary[]) {
    total.records += each.records;
    total.errors += each.errors;
    total.deadLetters += each.deadLetters;
    for (const [k, v] of Object.entries(each.sent)) total.sent[k] = (total.sent[k] ?? 0) + v;
    for (const [k, v] of Object.entries(each.wrote)) total.wrote[k] = (total.wrote[k] ?? 0) + v;
  }
  total.restarts = outcome.restarts;
  return total;
}

interface Layout {
  /** Partitions of the repartition and changelog topics: the most any source has. */
  partitions: number;
  /** Each source partition's end offset now, by `topic/partition`. */
  ends: Map<string, bigint>;
  /** Source partitions with no record now: --until-end has nothing to read there. */
  empty: Set<string>;
}

/** Creates the topics the pipeline writes, starts over with --reset, and reads where each source ends now. */
async function prepare(admin: Admin, topology: Topology, options: RunOptions): Promise<Layout> {
  const { topics } = await admin.fetchTopicMetadata();
  const known = new Map(topics.map((t) => [t.name, t.partitions.length]));
  const missing = topology.sources.filter((t) => !known.has(t));
  if (missing.length > 0)
    options.onNote(`Created ${missing.join(', ')} (1 partition): the pipeline waits for records there.`);
  const partitions = Math.max(1, ...topology.sources.map((t) => known.get(t) ?? 1));
  const requests: TopicRequest[] = [
    ...missing.map((name) => ({ name, namedIn: 'from()' })),
    ...topology.sinks.flatMap((s) => (s.kind === 'kafka' ? [{ name: s.topic, namedIn: 'to()', partitions }] : [])),
  ];
  const { repartition, changelog, deadLetter } = topology.topics;
  if (repartition)
    requests.push({ name: repartition, namedIn: 'keyBy()', partitions, existing: { require: 'the pipeline' } });
  if (changelog) {
    // compact keeps the latest state of each key; delete lets --reset drop the records (Kafka refuses that on compact alone).
    const settings = { 'cleanup.policy': 'compact,delete', 'retention.ms': '-1' };
    requests.push({ name: changelog, namedIn: 'keyBy()', partitions, settings, existing: { require: 'the pipeline' } });
  }
  if (options.onError === 'dead-letter') requests.push({ name: deadLetter, namedIn: '--dead-letter-topic' });
  await ensureTopics(admin, requests, {
    endpoint: kafkaEndpoint(options.config),
    refusedSteps: ['Check the names in the pipeline module against what the cluster allows.'],
  });
  if (options.reset) await reset(admin, topology);
  const ends = new Map<string, bigint>();
  const empty = new Set<string>();
  for (const topic of topology.sources) {
    for (const o of await admin.fetchTopicOffsets(topic)) {
      ends.set(`${topic}/${o.partition}`, BigInt(o.high));
      if (BigInt(o.high) === BigInt(o.low)) empty.add(`${topic}/${o.partition}`);
    }
  }
  return { partitions, ends, empty };
}

/** --reset: the group's offsets and the pipeline's state go; the next run reads its input again from the start. */
async function reset(admin: Admin, topology: Topology): Promise<void> {
  const groups = await admin.describeGroups([topology.groupId]);
  const members = groups.groups[0]?.members.length ?? 0;
  if (members > 0) {
    throw new UserError(
      `Pipeline ${topology.name} is running (${members} worker(s) in group ${topology.groupId}): --reset would pull its offsets from under it.`,
      {
        code: 'PIPELINE_RUNNING',
        nextSteps: ['Stop every run of it (Ctrl-C), then run with --reset again.'],
      },
    );
  }
  // A group Kafka never saw is 'Dead': nothing to delete (deleting it would be an error).
  if (groups.groups[0]?.state !== 'Dead') await admin.deleteGroups([topology.groupId]);
  for (const topic of [topology.topics.repartition, topology.topics.changelog]) {
    if (!topic) continue;
    const offsets = await admin.fetchTopicOffsets(topic);
    await admin.deleteTopicRecords({
      topic,
      partitions: offsets.map((o) => ({ partition: o.partition, offset: o.high })),
    });
  }
}

/** Waits for the run's end: a signal, the worker failing, or (--until-end) every input done and written. */
async function runUntil(
  worker: Worker,
  admin: Admin,
  topology: Topology,
  layout: Layout,
  options: RunOptions,
): Promise<'end' | 'interrupt'> {
  let finished = false;
  void worker.done.then(() => (finished = true));
  // Connected once the sources are read: only the end's last check needs it.
  let reads: ClusterReads | undefined;
  const connected = async () => (reads ??= await endReads(options));
  try {
    while (!finished) {
      if (options.signal.aborted) return 'interrupt';
      if (options.untilEnd && (await reachedEnd(admin, connected, endOf(topology, layout), worker.positions))) {
        await worker.closeAtEnd();
        return 'end';
      }
      // --until-end looks for its end often, and at once when a batch ends: a short run's end found half a second
      // late is a share of its time.
      await Promise.race([
        sleep(options.untilEnd ? 100 : 500, options.signal),
        worker.done,
        ...(options.untilEnd ? [worker.batchEnded] : []),
      ]);
    }
    return 'end';
  } finally {
    await reads?.disconnect().catch(() => undefined);
  }
}

async function endReads(options: RunOptions): Promise<ClusterReads> {
  const reads = await loadClusterReads(
    kafkaClientConfig(kafkaEndpoint(options.config), { clientId: 'pbx-run-end', connectionTimeout: 3000 }),
  );
  await reads.connect();
  return reads;
}

/** What --until-end's end is: the group's source partitions read to their ends at start, and its repartition topic. */
export interface RunEnd {
  groupId: string;
  /** Each source partition's end offset at start, by `topic/partition`. */
  ends: Map<string, bigint>;
  /** Source partitions with no record at start. */
  empty: Set<string>;
  repartition?: string;
}

function endOf(topology: Topology, { ends, empty }: Layout): RunEnd {
  return { groupId: topology.groupId, ends, empty, repartition: topology.topics.repartition };
}

/**
 * Whether the group has read every source partition to its end at start, and stage B everything stage A wrote.
 * A partition's committed offset can stop short of its end by the marker of a transaction, which kafkajs skips
 * without a batch: this worker's own position counts too.
 */
export async function reachedEnd(
  admin: Admin,
  reads: () => Promise<ClusterReads>,
  { groupId, ends, empty, repartition }: RunEnd,
  positions: Map<string, bigint>,
): Promise<boolean> {
  const sources = [...new Set([...ends.keys()].map((key) => key.slice(0, key.lastIndexOf('/'))))];
  const committed = new Map<string, bigint>();
  for (const { topic, partitions } of await admin.fetchOffsets({
    groupId,
    topics: [...sources, ...(repartition ? [repartition] : [])],
  })) {
    for (const p of partitions) committed.set(`${topic}/${p.partition}`, BigInt(p.offset));
  }
  const at = (key: string) => {
    const c = committed.get(key) ?? -1n;
    const p = positions.get(key) ?? -1n;
    return c > p ? c : p;
  };
  for (const [key, end] of ends) if (!empty.has(key) && at(key) < end) return false;
  if (!repartition) return true;
  // Stage A's last transaction is committed, but its records may not be readable yet: the high watermark counts them
  // (the last stable offset would not, until the markers are written). Every write to the repartition topic is
  // transactional: past its last record comes a marker, or will.
  const highs = await highWatermarks(await reads(), repartition);
  for (const o of await admin.fetchTopicOffsets(repartition)) {
    const high = highs.get(o.partition) ?? BigInt(o.high);
    if (high > BigInt(o.low) && at(`${repartition}/${o.partition}`) < high - 1n) return false;
  }
  return true;
}

function summary(
  options: RunOptions,
  topology: Topology,
  totals: RunTotals,
  started: number,
  stoppedBy: RunSummary['stoppedBy'],
): RunSummary {
  return {
    pipeline: topology.name,
    file: options.file,
    topology: describeTopology(topology),
    records: totals.records,
    errors: totals.errors,
    deadLetters: totals.deadLetters,
    sent: { ...totals.sent },
    wrote: { ...totals.wrote },
    elapsedMs: Date.now() - started,
    stoppedBy,
  };
}

/** What ended a run, in words the user can act on. */
function failed(error: unknown, options: RunOptions): unknown {
  if (error instanceof UserError) return error;
  const resume =
    'Run the same command again: it goes on from the last committed batch, with nothing lost or written twice.';
  if (error instanceof BatchFailed) {
    return new UserError(
      `Batch ${error.at ?? '?'}: ${error.message}. Stopped there (--on-error stop); nothing of this batch is committed, everything before it is.`,
      {
        code: 'RECORD_FAILED',
        nextSteps: [
          'Fix the command or the data, then run again: it starts at this batch.',
          "Or run with --on-error skip, or --on-error dead-letter to keep the batch's records aside with the reason.",
        ],
        cause: error,
      },
    );
  }
  if (error instanceof RecordProblem || error instanceof SinkRefused) {
    const problem = error instanceof SinkRefused ? error.problem : error;
    return new UserError(
      `Record ${problem.at ?? '?'}: ${problem.message}. Stopped there (--on-error stop); everything before it is committed.`,
      {
        code: 'RECORD_FAILED',
        nextSteps: [
          'Fix the pipeline or the data, then run again: it starts at this record.',
          'Or run with --on-error skip, or --on-error dead-letter to keep such records aside with the reason.',
        ],
        cause: error,
      },
    );
  }
  const brokers = endpointOf(options.config, 'kafka').addresses.join(',');
  if (isAuthorizationFailure(error)) {
    return new UserError(`Kafka at ${brokers} refused the pipeline: ${(error as Error).message}.`, {
      code: 'KAFKA_NOT_AUTHORIZED',
      nextSteps: [
        "Ask the cluster's administrator for READ on the source topics and the group, WRITE on the sink topics, and transactional rights (TransactionalId WRITE).",
      ],
      cause: error,
    });
  }
  // Every error of kafkajs's is a KafkaJS… class: the cluster failed the run, not pbx.
  if ((error as Error).name?.startsWith('KafkaJS')) {
    return new UserError(`Kafka at ${brokers} failed the pipeline: ${(error as Error).message}.`, {
      code: 'KAFKA_UNAVAILABLE',
      exitCode: ExitCode.unhealthy,
      nextSteps: ['Check the stack with `pbx status kafka`.', resume],
      cause: error,
    });
  }
  return error;
}
