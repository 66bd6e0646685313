// The project's figures topic: every replica of every pipeline publishes its figures there once a second, keyed by
// `${pipeline}/${replica}`, and so does every replay, keyed `replay/${host}/${pid}`; whoever shows them (pbx top on
// any machine, the parent of `pbx run --replicas N`) reads the latest snapshot of each from it.
import { setTimeout as sleep } from 'node:timers/promises';
import { settable } from '../../async';
import type { Admin, Producer } from 'kafkajs';
import { kafkaClientConfig, type KafkaEndpoint } from '../../clients/kafka';
import { loadFetchInternals, type FetchInternals } from '../../clients/kafkajs-internals';
import { ensureTopics } from '../../clients/topics';
import type { ReplayRow } from '../../top/snapshot';
import { FIGURES_SCHEMA, type PipelineFigures } from './figures';

export const FIGURES_TOPIC = 'pbx-figures';

/**
 * Creates the figures topic when missing. Compacted and deleted: compaction keeps a replica's latest snapshot
 * whatever the rate, and a retention of ten minutes (one-minute segments, for it to act) keeps the topic small and
 * forgets replicas long gone. Figures are a view, never data to recover: a lost snapshot is replaced within a second.
 */
export async function ensureFiguresTopic(options: {
  admin: Admin;
  endpoint: KafkaEndpoint;
  /** Default FIGURES_TOPIC. */
  topic?: string;
}): Promise<void> {
  const { admin, endpoint, topic = FIGURES_TOPIC } = options;
  await ensureTopics(
    admin,
    [
      {
        name: topic,
        namedIn: 'the figures topic of pbx run',
        partitions: 1,
        settings: { 'cleanup.policy': 'compact,delete', 'retention.ms': '600000', 'segment.ms': '60000' },
      },
    ],
    { endpoint, refusedSteps: [`Allow pbx to create the topic ${topic}, or create it yourself.`] },
  );
}

/** A running replay's figures, as published to the figures topic (`kind` tells them from a pipeline's). */
export interface ReplayFigures extends ReplayRow {
  schema: typeof FIGURES_SCHEMA;
  kind: 'replay';
}

/** What the figures topic holds: pipelines' replicas and replays. */
export type PublishedFigures = PipelineFigures | ReplayFigures;

export const isReplayFigures = (f: PublishedFigures): f is ReplayFigures => 'kind' in f && f.kind === 'replay';

/** The key of a replica's or a replay's figures. */
export const figuresKey = (f: PublishedFigures) =>
  isReplayFigures(f) ? `replay/${f.id}` : `${f.pipeline}/${f.replica}`;

export interface PublishFiguresOptions<F extends PublishedFigures> {
  /** A pipeline replica's Figures, or a replay's: each snapshot is published as it is. */
  figures: { snapshot(now: number): F };
  /** A plain (not transactional) producer, connected; the caller disconnects it after stop(). */
  producer: Producer;
  topic?: string;
  /** Default 1000. */
  everyMs?: number;
  /** Each snapshot, as published (the live view of this replica). */
  onSnapshot?: (snapshot: F) => void;
  /** A send (or onSnapshot) that failed: figures never stop a pipeline, the next second sends again. */
  onError?: (error: unknown) => void;
}

export interface FiguresPublisher {
  /** Publishes a last snapshot and a tombstone (the replica left: readers drop it at once), then stops; once. */
  stop(): Promise<void>;
}

/** Takes a snapshot every `everyMs` and publishes it; a send still under way makes the next one wait its turn. */
export function publishFigures<F extends PublishedFigures>(options: PublishFiguresOptions<F>): FiguresPublisher {
  const { figures, producer, topic = FIGURES_TOPIC, everyMs = 1000, onSnapshot, onError } = options;
  let sending: Promise<void> = Promise.resolve();
  let key: string | undefined;
  const send = (value: string | null) =>
    producer.send({ topic, acks: 1, messages: [{ key, value }] }).then(
      () => undefined,
      (error: unknown) => onError?.(error),
    );
  const tick = (): F => {
    const snapshot = figures.snapshot(Date.now());
    key = figuresKey(snapshot);
    try {
      onSnapshot?.(snapshot);
    } catch (error) {
      onError?.(error); // a view that failed to draw is no reason to stop publishing, nor the pipeline
    }
    sending = sending.then(() => send(JSON.stringify(snapshot)));
    return snapshot;
  };
  // Figures never keep a process alive: the pipeline's own work does.
  const timer = setInterval(tick, everyMs).unref();
  let stopped: Promise<void> | undefined;
  return {
    stop: () => {
      if (stopped) return stopped;
      clearInterval(timer);
      tick();
      sending = sending.then(() => send(null));
      return (stopped = sending);
    },
  };
}

/**
 * The latest snapshot of each replica and replay, from records of the figures topic in its order (pure). A
 * publisher's records share a key, hence a partition: the last read is the newest, whatever the machines' clocks say.
 */
export class FiguresTable {
  private readonly latest = new Map<string, { figures: PublishedFigures; readAt: number }>();

  /** A record of the topic, read at `readAt`: a snapshot replaces the replica's last one; a tombstone removes it. */
  apply(key: string | null, value: string | null, readAt: number): void {
    if (key === null) return;
    const figures = value === null ? undefined : parseFigures(value);
    if (value === null) this.latest.delete(key);
    else if (figures) this.latest.set(key, { figures, readAt });
  }

  /** Every replica read from within `staleMs` of `now` (one that died stops being heard), by pipeline and replica. */
  replicas(now: number, staleMs: number, pipeline?: string): PipelineFigures[] {
    return this.live(now, staleMs)
      .filter((f): f is PipelineFigures => !isReplayFigures(f) && (pipeline === undefined || f.pipeline === pipeline))
      .sort(
        (a, b) => a.pipeline.localeCompare(b.pipeline) || a.replica.localeCompare(b.replica, 'en', { numeric: true }),
      );
  }

  /** Every replay read from within `staleMs` of `now`, oldest first. */
  replays(now: number, staleMs: number): ReplayFigures[] {
    return this.live(now, staleMs)
      .filter(isReplayFigures)
      .sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id));
  }

  private live(now: number, staleMs: number): PublishedFigures[] {
    return [...this.latest.values()].filter(({ readAt }) => now - readAt <= staleMs).map(({ figures }) => figures);
  }
}

/** A snapshot of the schema this pbx knows, a pipeline's or a replay's, or undefined (not JSON, another version…). */
export function parseFigures(value: string): PublishedFigures | undefined {
  try {
    const parsed = JSON.parse(value) as (Partial<PipelineFigures> & Partial<ReplayFigures>) | null;
    if (parsed?.schema !== FIGURES_SCHEMA || typeof parsed.time !== 'number') return undefined;
    if (parsed.kind === 'replay') return typeof parsed.id === 'string' ? (parsed as ReplayFigures) : undefined;
    if (parsed.kind !== undefined || typeof parsed.pipeline !== 'string') return undefined;
    return parsed as PipelineFigures;
  } catch {
    return undefined;
  }
}

export interface ReadFiguresOptions {
  endpoint: KafkaEndpoint;
  /** Connected; used to create the topic when missing and to find where to start. */
  admin: Admin;
  topic?: string;
  /** Only this pipeline's replicas. */
  pipeline?: string;
  /**
   * How far back to start reading (default twice staleMs): a replica publishes every second, so this finds every one
   * that published within staleMs, with room for a publisher's clock behind this one's or a second send delayed.
   */
  lookBackMs?: number;
  /** A replica not heard from for this long (by this machine's clock) is gone (default 5000). */
  staleMs?: number;
}

export interface FiguresReader {
  /** The latest snapshot of each live replica, by pipeline and replica. */
  replicas(now?: number): PipelineFigures[];
  /** The latest figures of each running replay, oldest first. */
  replays(now?: number): ReplayFigures[];
  /**
   * Resolves once every partition was read up to its end as it was when the reader started: from then on replicas()
   * and replays() hold every one that published within staleMs before the start.
   */
  caughtUp: Promise<void>;
  /** Yields replicas() each time a snapshot arrives (coalesced), until close() or the signal. */
  updates(signal?: AbortSignal): AsyncIterable<PipelineFigures[]>;
  close(): Promise<void>;
}

/** How long a fetch waits at the broker for new records: also how long close() may take. */
const FETCH_WAIT_MS = 500;

/**
 * Follows the figures topic from `lookBackMs` ago (creating it when missing), keeping each replica's latest snapshot.
 * It reads the topic's partitions itself, with no consumer group: no group to list among the cluster's, no
 * rebalance to wait for, nothing committed. Resolves once it is connected and placed.
 */
export async function readFigures(options: ReadFiguresOptions): Promise<FiguresReader> {
  const { endpoint, admin, topic = FIGURES_TOPIC, pipeline, staleMs = 5000, lookBackMs = 2 * staleMs } = options;
  await ensureFiguresTopic({ admin, endpoint, topic });
  const internals = await loadFetchInternals(kafkaClientConfig(endpoint, { clientId: 'pbx-figures-reader' }));
  await internals.connect();
  await internals.addTopics([topic]);
  const startAt = async () =>
    new Map(
      (await admin.fetchTopicOffsetsByTimestamp(topic, Date.now() - lookBackMs)).map((o) => [o.partition, o.offset]),
    );
  const table = new FiguresTable();
  const waiting = new Set<() => void>();
  let closed = false;
  const caughtUp = settable<void>();
  const read = new Set<number>();
  const following = follow({
    internals,
    topic,
    positions: await startAt(),
    replace: startAt,
    closed: () => closed,
    onRecord: (key, value, timestamp, partition) => {
      // What was published before the reader started is as old as its timestamp says (by the publisher's clock, at
      // most now): a replica that published 8 s before is not live for staleMs more. What comes after is read live.
      const now = Date.now();
      table.apply(key, value, read.has(partition) || !(timestamp >= 0) ? now : Math.min(now, timestamp));
    },
    onCaughtUp: (partition) => {
      read.add(partition);
      if (read.size >= internals.partitionsOf(topic).length) caughtUp.resolve();
    },
    onBatch: () => {
      for (const wake of waiting) wake();
      waiting.clear();
    },
  });
  const replicas = (now = Date.now()) => table.replicas(now, staleMs, pipeline);
  return {
    replicas,
    caughtUp: caughtUp.promise,
    replays: (now = Date.now()) => table.replays(now, staleMs),
    updates: (signal) => updatesOf(replicas, waiting, () => closed || Boolean(signal?.aborted), signal),
    close: async () => {
      closed = true;
      for (const wake of waiting) wake();
      await following;
      await internals.disconnect();
    },
  };
}

interface Following {
  internals: FetchInternals;
  topic: string;
  /** The next offset to read of each partition. */
  positions: Map<number, string>;
  /** Where to start again when the next offset is gone (retention deleted it). */
  replace: () => Promise<Map<number, string>>;
  closed: () => boolean;
  onRecord: (key: string | null, value: string | null, timestamp: number, partition: number) => void;
  onBatch: () => void;
  /** A partition's fetch came back with nothing left to read. */
  onCaughtUp: (partition: number) => void;
}

/** Fetches from each partition's leader until closed; a failure (a leader moved, Kafka away) is retried. */
async function follow(f: Following): Promise<void> {
  while (!f.closed()) {
    try {
      const leaders = new Map<number, number[]>();
      for (const { partitionId, leader } of f.internals.partitionsOf(f.topic)) {
        if (f.positions.has(partitionId)) leaders.set(leader, [...(leaders.get(leader) ?? []), partitionId]);
      }
      await Promise.all([...leaders].map(([nodeId, partitions]) => fetchFrom(f, nodeId, partitions)));
    } catch (error) {
      if (f.closed()) return;
      await sleep(FETCH_WAIT_MS);
      if ((error as Error).name === 'KafkaJSOffsetOutOfRange') f.positions = await f.replace().catch(() => f.positions);
      await f.internals.refreshMetadata().catch(() => undefined);
    }
  }
}

async function fetchFrom(f: Following, nodeId: number, partitions: number[]): Promise<void> {
  const answer = await f.internals.fetch({
    nodeId,
    topic: f.topic,
    partitions: partitions.map((partition) => ({ partition, fetchOffset: f.positions.get(partition)! })),
    maxWaitMs: FETCH_WAIT_MS,
  });
  let any = false;
  for (const { partition, messages } of answer) {
    const from = BigInt(f.positions.get(partition) ?? 0);
    for (const message of messages) {
      if (BigInt(message.offset) < from) continue; // a batch comes whole, from before the offset asked for
      f.onRecord(
        message.key?.toString() ?? null,
        message.value?.toString() ?? null,
        Number(message.timestamp),
        partition,
      );
      f.positions.set(partition, String(BigInt(message.offset) + 1n));
      any = true;
    }
  }
  for (const { partition, highWatermark } of answer)
    if (BigInt(f.positions.get(partition) ?? 0) >= BigInt(highWatermark)) f.onCaughtUp(partition);
  if (any) f.onBatch();
}

async function* updatesOf(
  replicas: () => PipelineFigures[],
  waiting: Set<() => void>,
  ended: () => boolean,
  signal?: AbortSignal,
): AsyncGenerator<PipelineFigures[]> {
  const wakeAll = () => {
    for (const wake of waiting) wake();
  };
  signal?.addEventListener('abort', wakeAll, { once: true });
  try {
    while (!ended()) {
      await new Promise<void>((resolve) => waiting.add(resolve));
      if (!ended()) yield replicas();
    }
  } finally {
    signal?.removeEventListener('abort', wakeAll);
  }
}
