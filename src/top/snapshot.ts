// What `pbx top` shows, as plain data: one Snapshot a refresh. The collector (collect.ts) makes it from a few
// batched requests to Docker and Kafka and the figures pipelines and replays publish; the Ink view, `--json` and
// the plain-text lines all draw this one shape, so a test of the JSON is a test of what the screen shows.
import type { PipelineFigures } from '../pipelines/runtime/figures';
import type { ServiceStatus } from '../stack/status';

/** The version of Snapshot's shape, for scripts reading `--json`. */
export const SNAPSHOT_SCHEMA = 1;

/** A figure measured between two refreshes; null until two have been seen (the first snapshot has no rates). */
export type Rate = number | null;

export interface TopicPartitionRow {
  partition: number;
  leader: number;
  /** Replicas not in sync (under-replicated when non-empty). */
  outOfSync: number[];
  /** Log start and end offsets (decimal strings are not needed below 2^53). */
  startOffset: number;
  endOffset: number;
  recordsPerSecond: Rate;
  /** The size on disk of the leader replica's log segments; null where the leader does not say. */
  bytes: number | null;
  /** The change of that size over the last refresh; null when it shrank (segments deleted) or the leader changed. */
  bytesPerSecond: Rate;
}

export interface TopicRow {
  name: string;
  partitions: number;
  /** Records held: the sum of end less start offsets. */
  records: number;
  /**
   * Size on disk: the leader replicas' log segments (the data once, however many replicas keep it; indexes not
   * counted), from DescribeLogDirs; null while a leader does not say (a Kafka before 1.0, no right to describe the
   * cluster, a log directory offline).
   */
  bytes: number | null;
  recordsPerSecond: Rate;
  /** How fast that size grows: the sum of its partitions' (those whose size shrank meanwhile left out); never negative. */
  bytesPerSecond: Rate;
  /** Records/s of each second of the last minute, oldest first (at most 60; fewer just after start). */
  history: number[];
  internal: boolean;
  details: TopicPartitionRow[];
}

/** ok: keeping up; behind: lag growing; stalled: members but no progress while lag > 0; stopped: no members. */
export type GroupStatus = 'ok' | 'behind' | 'stalled' | 'stopped' | 'empty';

export interface GroupPartitionRow {
  topic: string;
  partition: number;
  committed: number | null;
  endOffset: number;
  lag: number;
  /** Age of the oldest record not yet consumed (now less its timestamp), ms; 0 when caught up. */
  lagMs: number;
  /** Member (client id / host) that holds it; null when the group has none. */
  owner: string | null;
  consumedPerSecond: Rate;
}

export interface GroupRow {
  id: string;
  /** The group's state as Kafka says it: Stable, Empty, PreparingRebalance… */
  state: string;
  members: number;
  topics: string[];
  lag: number;
  /** The largest lagMs over its partitions. */
  lagMs: number;
  /** Records/s by which the lag changes (negative: catching up). */
  lagTrend: Rate;
  /** Time to catch up at the present rates, judged by the slowest partition; null when not catching up. */
  etaMs: number | null;
  status: GroupStatus;
  details: GroupPartitionRow[];
}

export interface ReplayRow {
  /** Who published it: host/pid. */
  id: string;
  topic: string;
  source: string;
  /** Records/s asked for; null at --rate max or paced by the file's timestamps. */
  targetRate: number | null;
  achievedRate: number;
  sent: number;
  /** Records the source is known to hold, when known. */
  total: number | null;
  startedAt: number;
  time: number;
}

export interface Snapshot {
  schema: typeof SNAPSHOT_SCHEMA;
  /** ms since the epoch. */
  time: number;
  /** The project, or the external cluster's bootstrap servers. */
  target: string;
  /** Kafka's answer this refresh: down when it did not answer (the rest then holds the last known rows). */
  kafka: { up: boolean; error?: string; brokers: number; since?: number };
  services: ServiceStatus[];
  topics: TopicRow[];
  groups: GroupRow[];
  /** The latest figures of each pipeline replica, as `pbx run` publishes them. */
  pipelines: PipelineFigures[];
  replays: ReplayRow[];
  /** Why pipelines and replays could not be read (the figures topic refused or not answering); absent when they can. */
  figuresError?: string;
  /** How long collecting this snapshot took, ms. */
  collectMs: number;
}
