// The pure half of pbx top's collector: from one refresh's reading of the cluster (offsets, groups, the times of the
// records groups have yet to consume) and what earlier refreshes saw, the topic and group rows of a Snapshot — rates,
// a minute of history, lag trends, ETAs and statuses. No I/O and no clock: the reading carries its time.
import type { GroupPartitionRow, GroupRow, GroupStatus, Rate, TopicPartitionRow, TopicRow } from './snapshot';

export interface PartitionReading {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  start: number;
  end: number;
  /** The size on disk of its leader replica's log; undefined when the leader did not say. */
  bytes?: number;
}

export interface TopicReading {
  name: string;
  internal: boolean;
  partitions: PartitionReading[];
}

export interface MemberReading {
  clientId: string;
  host: string;
  assignment: Array<{ topic: string; partitions: number[] }>;
}

export interface GroupReading {
  id: string;
  state: string;
  members: MemberReading[];
  /** Offsets the group committed (partitions it never committed are left out). */
  committed: Array<{ topic: string; partition: number; offset: number }>;
}

export interface ClusterReading {
  /** When the end offsets were read, ms since the epoch: rates are between two readings' times. */
  time: number;
  topics: TopicReading[];
  groups: GroupReading[];
  /** The timestamp of the record at an offset, where it was read: the first record a group has not consumed. */
  recordTime: (topic: string, partition: number, offset: number) => number | undefined;
}

/** How far back a topic's sparkline goes. */
export const HISTORY_MS = 60_000;
/** What a group's trend and ETA are measured over: long enough to see past a consumer committing every 5 s. */
export const TREND_WINDOW_MS = 10_000;
/** A group with members whose committed offsets have not moved for this long while it lags is stalled. */
export const STALL_AFTER_MS = 10_000;
/** Lag growing by at least this many records a second over the window is falling behind, not noise. */
const BEHIND_RECORDS_PER_SECOND = 1;

/** Records per second between two counts taken `ms` apart (pure); null without an earlier count or any time. */
export function rateBetween(before: number | undefined, after: number, ms: number): Rate {
  if (before === undefined || ms <= 0) return null;
  return round((after - before) / (ms / 1000));
}

/** A leader replica's size on disk, and which broker's it is. */
export interface LeaderSize {
  leader: number;
  bytes: number;
}

/**
 * Bytes per second by which a partition's log grew between two refreshes `ms` apart (pure). Null when that cannot be
 * said: a size unknown at either end; another leader (another replica's log, whose segments differ); or a log that
 * shrank (segments deleted by retention or compacted meanwhile hide what was written): never a negative rate.
 */
export function growthRate(before: LeaderSize | undefined, after: LeaderSize | undefined, ms: number): Rate {
  if (!before || !after || before.leader !== after.leader || after.bytes < before.bytes) return null;
  return rateBetween(before.bytes, after.bytes, ms);
}

/**
 * A topic's figure from its partitions' (pure): their sum; null when none is known. With `all`, null as soon as one
 * is unknown (a size over some partitions would be smaller than the topic, not its size).
 */
export function sumOf(values: Rate[], all = false): Rate {
  const known = values.filter((v): v is number => v !== null);
  if (known.length === 0 || (all && known.length < values.length)) return null;
  return round(known.reduce((a, b) => a + b, 0));
}

/** One partition of a group over the trend window: its lag now, and its committed and end offsets at both ends. */
export interface PartitionProgress {
  lag: number;
  /** Committed and end offsets at the start of the window; absent for a partition first seen since. */
  base?: { committed: number; end: number };
  committed: number;
  end: number;
  windowMs: number;
}

/**
 * Time to catch up, ms, judged by the slowest partition (pure): each lagging partition closes its lag at its
 * consumption rate less its production rate. 0 when nothing lags; null when a lagging partition is not closing in
 * (or was not seen long enough to say).
 */
export function etaMs(partitions: PartitionProgress[]): number | null {
  let slowest = 0;
  for (const p of partitions) {
    if (p.lag <= 0) continue;
    if (!p.base || p.windowMs <= 0) return null;
    const seconds = p.windowMs / 1000;
    const closing = (p.committed - p.base.committed - (p.end - p.base.end)) / seconds;
    if (closing <= 0) return null;
    slowest = Math.max(slowest, (p.lag / closing) * 1000);
  }
  return Math.round(slowest);
}

/**
 * A group's status (pure). No members: stopped while it lags (its lag is shown, never zero), empty when it does
 * not. With members: ok when nothing lags; stalled when its committed offsets have not moved for STALL_AFTER_MS
 * while it lags; behind when its lag grows; ok otherwise (lagging, but holding or catching up).
 */
export function groupStatus(group: {
  members: number;
  lag: number;
  lagTrend: Rate;
  sinceProgressMs: number;
}): GroupStatus {
  if (group.members === 0) return group.lag > 0 ? 'stopped' : 'empty';
  if (group.lag === 0) return 'ok';
  if (group.sinceProgressMs >= STALL_AFTER_MS) return 'stalled';
  if (group.lagTrend !== null && group.lagTrend >= BEHIND_RECORDS_PER_SECOND) return 'behind';
  return 'ok';
}

interface GroupSample {
  time: number;
  lag: number;
  /** Committed and end offset of each partition, by `topic/partition`. */
  partitions: Map<string, { committed: number; end: number }>;
}

const keyOf = (topic: string, partition: number) => `${topic}/${partition}`;

/** What earlier refreshes saw, for the rates, history, trends and statuses of the next one. */
export class FlowHistory {
  /** The last reading's end offset of each partition, and its time. */
  private lastEnds = new Map<string, number>();
  /** The last reading's leader size of each partition, where the leader said it. */
  private lastSizes = new Map<string, LeaderSize>();
  private lastTime: number | undefined;
  private readonly topicHistory = new Map<string, Array<{ time: number; rate: number }>>();
  private readonly groupSamples = new Map<string, GroupSample[]>();
  /** When each group's committed offsets last moved (or were first seen), and their sum then. */
  private readonly progress = new Map<string, { committed: number; at: number }>();
  /** The last known age of each group partition's first record not consumed, by group and `topic/partition`. */
  private readonly lagMs = new Map<string, Map<string, number>>();

  /** The rows of one reading; what it saw is kept for the next. */
  rows(reading: ClusterReading): { topics: TopicRow[]; groups: GroupRow[] } {
    const ends = new Map<string, number>();
    const sizes = new Map<string, LeaderSize>();
    for (const topic of reading.topics) {
      for (const p of topic.partitions) {
        ends.set(keyOf(topic.name, p.partition), p.end);
        if (p.bytes !== undefined) sizes.set(keyOf(topic.name, p.partition), { leader: p.leader, bytes: p.bytes });
      }
    }
    const topics = reading.topics.map((topic) => this.topicRow(topic, reading.time, sizes)).sort(byName);
    const groups = reading.groups
      .map((group) => this.groupRow(group, reading, ends))
      .sort((a, b) => a.id.localeCompare(b.id));
    this.forgetGone(reading);
    this.lastEnds = ends;
    this.lastSizes = sizes;
    this.lastTime = reading.time;
    return { topics, groups };
  }

  private topicRow(topic: TopicReading, time: number, sizes: Map<string, LeaderSize>): TopicRow {
    const ms = this.lastTime === undefined ? 0 : time - this.lastTime;
    const details = topic.partitions
      .map((p): TopicPartitionRow => {
        const key = keyOf(topic.name, p.partition);
        return {
          partition: p.partition,
          leader: p.leader,
          outOfSync: p.replicas.filter((r) => !p.isr.includes(r)),
          startOffset: p.start,
          endOffset: p.end,
          recordsPerSecond: rateBetween(this.lastEnds.get(key), p.end, ms),
          bytes: p.bytes ?? null,
          bytesPerSecond: growthRate(this.lastSizes.get(key), sizes.get(key), ms),
        };
      })
      .sort((a, b) => a.partition - b.partition);
    // A partition added since the last refresh has no rate yet (nor one whose log shrank): the topic's is over the
    // others. Its size is that of its leader replicas (the data once), unknown while one of them does not say.
    const recordsPerSecond = sumOf(details.map((d) => d.recordsPerSecond));
    let history = this.topicHistory.get(topic.name) ?? [];
    if (recordsPerSecond !== null) history.push({ time, rate: recordsPerSecond });
    history = history.filter((h) => h.time > time - HISTORY_MS);
    this.topicHistory.set(topic.name, history);
    return {
      name: topic.name,
      partitions: details.length,
      records: details.reduce((sum, d) => sum + d.endOffset - d.startOffset, 0),
      bytes: sumOf(
        details.map((d) => d.bytes),
        true,
      ),
      recordsPerSecond,
      bytesPerSecond: sumOf(details.map((d) => d.bytesPerSecond)),
      history: history.map((h) => h.rate),
      internal: topic.internal,
      details,
    };
  }

  private groupRow(group: GroupReading, reading: ClusterReading, ends: Map<string, number>): GroupRow {
    const { time } = reading;
    const samples = this.groupSamples.get(group.id) ?? [];
    const previous = samples.at(-1);
    const details = this.groupPartitions(group, reading, ends, previous);
    const lag = details.reduce((sum, d) => sum + d.lag, 0);
    const partitions = new Map(
      details.map((d) => [keyOf(d.topic, d.partition), { committed: d.committed ?? 0, end: d.endOffset }]),
    );
    samples.push({ time, lag, partitions });
    // Keep the newest sample at or before the window's start: the trend spans the whole window once it can.
    while (samples.length > 2 && samples[1]!.time <= time - TREND_WINDOW_MS) samples.shift();
    this.groupSamples.set(group.id, samples);
    const base = samples.length > 1 ? samples[0]! : undefined;
    const windowMs = base ? time - base.time : 0;
    const lagTrend = base ? rateBetween(base.lag, lag, windowMs) : null;
    const committedSum = details.reduce((sum, d) => sum + (d.committed ?? 0), 0);
    const progress = this.progress.get(group.id);
    if (!progress || progress.committed !== committedSum)
      this.progress.set(group.id, { committed: committedSum, at: time });
    const sinceProgressMs = time - this.progress.get(group.id)!.at;
    const eta = etaMs(
      details.map((d) => ({
        lag: d.lag,
        base: base?.partitions.get(keyOf(d.topic, d.partition)),
        committed: d.committed ?? 0,
        end: d.endOffset,
        windowMs,
      })),
    );
    return {
      id: group.id,
      state: group.state,
      members: group.members.length,
      topics: [...new Set(details.map((d) => d.topic))].sort(),
      lag,
      lagMs: details.reduce((max, d) => Math.max(max, d.lagMs), 0),
      lagTrend,
      etaMs: eta,
      status: groupStatus({ members: group.members.length, lag, lagTrend, sinceProgressMs }),
      details,
    };
  }

  /** A group's partitions: those it committed and those its members hold, with their lag in records and time. */
  private groupPartitions(
    group: GroupReading,
    reading: ClusterReading,
    ends: Map<string, number>,
    previous: GroupSample | undefined,
  ): GroupPartitionRow[] {
    const owners = new Map<string, string>();
    for (const member of group.members)
      for (const { topic, partitions } of member.assignment)
        for (const partition of partitions) owners.set(keyOf(topic, partition), `${member.clientId}@${member.host}`);
    const committed = new Map(group.committed.map((c) => [keyOf(c.topic, c.partition), c]));
    const keys = new Set([...committed.keys(), ...owners.keys()]);
    const starts = new Map(
      reading.topics.flatMap((t) => t.partitions.map((p) => [keyOf(t.name, p.partition), p.start] as const)),
    );
    const ms = previous ? reading.time - previous.time : 0;
    const rows: GroupPartitionRow[] = [];
    for (const key of keys) {
      const end = ends.get(key);
      if (end === undefined) continue; // a topic deleted since the group committed to it
      const at = key.lastIndexOf('/');
      const topic = key.slice(0, at);
      const partition = Number(key.slice(at + 1));
      const offset = committed.get(key)?.offset ?? null;
      const lag = offset === null ? 0 : Math.max(0, end - offset);
      rows.push({
        topic,
        partition,
        committed: offset,
        endOffset: end,
        lag,
        lagMs: this.lagAge(group.id, key, lag, reading, Math.max(offset ?? 0, starts.get(key) ?? 0)),
        owner: owners.get(key) ?? null,
        consumedPerSecond: offset === null ? null : rateBetween(previous?.partitions.get(key)?.committed, offset, ms),
      });
    }
    return rows.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  /** The age of a lagging partition's first record not consumed; its last known age when it could not be read. */
  private lagAge(group: string, key: string, lag: number, reading: ClusterReading, offset: number): number {
    let known = this.lagMs.get(group);
    if (!known) this.lagMs.set(group, (known = new Map<string, number>()));
    if (lag === 0) {
      known.delete(key);
      return 0;
    }
    const at = key.lastIndexOf('/');
    const timestamp = reading.recordTime(key.slice(0, at), Number(key.slice(at + 1)), offset);
    if (timestamp === undefined) return known.get(key) ?? 0;
    const age = Math.max(0, reading.time - timestamp);
    known.set(key, age);
    return age;
  }

  /** Topics and groups that are gone take their history with them. */
  private forgetGone(reading: ClusterReading): void {
    const topics = new Set(reading.topics.map((t) => t.name));
    for (const name of this.topicHistory.keys()) if (!topics.has(name)) this.topicHistory.delete(name);
    const groups = new Set(reading.groups.map((g) => g.id));
    for (const id of this.groupSamples.keys()) {
      if (groups.has(id)) continue;
      this.groupSamples.delete(id);
      this.progress.delete(id);
      this.lagMs.delete(id);
    }
  }
}

const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);

/** Rates to 3 decimals, as pbx run's figures: no float noise in the JSON. */
const round = (n: number) => Math.round(n * 1000) / 1000;
