// The five panels of `pbx top`: which rows each shows (filtered by name) and its columns, the lowest priorities
// dropped first on a narrow terminal. Pure, for layout.ts.
import type { ServiceStatus } from '../stack/status';
import { combineReplicas, type CombinedFigures } from '../ui/pipeline-view';
import type { Column, Segment } from './columns';
import { compactBytes, compactCount, compactRate, percentilesCell, shortDuration, sparkline } from './format';
import type { PanelName } from './keys';
import type { GroupRow, GroupStatus, ReplayRow, Snapshot, TopicRow } from './snapshot';

/** The rows of each panel, as shown: filtered by name, in a stable order (rows do not jump at each refresh). */
export interface PanelRows {
  services: ServiceStatus[];
  topics: TopicRow[];
  groups: GroupRow[];
  pipelines: CombinedFigures[];
  replays: ReplayRow[];
}

export const NAME_OF: { [P in PanelName]: (row: PanelRows[P][number]) => string } = {
  services: (s) => s.node,
  topics: (t) => t.name,
  groups: (g) => g.id,
  pipelines: (p) => p.pipeline,
  replays: (r) => r.topic,
};

export const TITLES: Record<PanelName, string> = {
  services: 'SERVICES',
  topics: 'TOPICS',
  groups: 'GROUPS',
  pipelines: 'PIPELINES',
  replays: 'REPLAYS',
};

/** Kafka's own topics (__consumer_offsets) are left out: they are not the data flow. */
export function panelRows(snapshot: Snapshot | undefined, filter: string): PanelRows {
  const wanted = filter.toLowerCase();
  const keep = (name: string) => name.toLowerCase().includes(wanted);
  const byName = <R>(rows: R[], name: (r: R) => string) =>
    rows.filter((r) => keep(name(r))).sort((a, b) => name(a).localeCompare(name(b)));
  if (!snapshot) return { services: [], topics: [], groups: [], pipelines: [], replays: [] };
  const replicas = new Map<string, Snapshot['pipelines']>();
  for (const figures of snapshot.pipelines) {
    replicas.set(figures.pipeline, [...(replicas.get(figures.pipeline) ?? []), figures]);
  }
  return {
    services: snapshot.services.filter((s) => keep(s.node)),
    topics: byName(
      snapshot.topics.filter((t) => !t.internal),
      (t) => t.name,
    ).sort((a, b) => flow(b) - flow(a)),
    groups: byName(snapshot.groups, (g) => g.id).sort((a, b) => SEVERITY[a.status] - SEVERITY[b.status]),
    pipelines: byName([...replicas.values()].map(combineReplicas), (p) => p.pipeline),
    replays: byName(snapshot.replays, (r) => `${r.topic} ${r.id}`),
  };
}

/**
 * The busiest topics first, their rates to two figures so that rows do not swap at every wobble (the sort is stable:
 * by name among equals).
 */
const flow = (t: TopicRow) => Number((t.recordsPerSecond ?? 0).toPrecision(2));

/** Groups that need a look come first. */
const SEVERITY: Record<GroupStatus, number> = { stalled: 0, stopped: 1, behind: 2, ok: 3, empty: 4 };

const text = (value: string, style: Omit<Segment, 'text'> = {}): Segment => ({ text: value, ...style });

export const SERVICE_COLUMNS: Column<ServiceStatus>[] = [
  { header: 'SERVICES', width: 10, priority: 0, flex: true, cell: (s) => s.node },
  { header: 'STATE', width: 9, priority: 0, cell: (s) => text(s.state, stateStyle(s.state)) },
  {
    header: 'READY',
    width: 5,
    priority: 0,
    cell: (s) => (s.ready ? text('yes', { color: 'green' }) : text('no', { color: 'red' })),
  },
  { header: 'RESTARTS', width: 8, priority: 1, right: true, cell: restartsCell },
  {
    header: 'UPTIME',
    width: 6,
    priority: 2,
    right: true,
    cell: (s) => (s.uptimeMs === undefined ? '' : shortDuration(s.uptimeMs)),
  },
  { header: 'ENDPOINT', width: 21, priority: 3, cell: (s) => s.endpoint.addresses.join(',') },
  { header: 'CHECK', width: 40, priority: 4, cell: (s) => s.check },
];

function stateStyle(state: string): Omit<Segment, 'text'> {
  if (state === 'running' || state === 'external') return { color: 'green' };
  return state === 'restarting' || state === 'created' ? { color: 'yellow' } : { color: 'red' };
}

function restartsCell(s: ServiceStatus): Segment | string {
  const count = s.restarts?.count ?? 0;
  return count > 0 ? text(String(count), { color: 'yellow' }) : '0';
}

/** The sparkline's width: the whole minute when there is room, a fifth of it on an 80-column terminal. */
export function sparkWidth(columns: number): number {
  return columns >= 160 ? 60 : columns >= 120 ? 30 : 12;
}

/**
 * The topics' columns at this width; size and bytes/s only where the cluster says them (DescribeLogDirs: not before
 * Kafka 1.0, nor without the right to describe the cluster).
 */
export function topicColumns(columns: number, topics: TopicRow[]): Column<TopicRow>[] {
  const spark = sparkWidth(columns);
  const bytes = topics.some((t) => t.bytes !== null || t.bytesPerSecond !== null);
  const all: Column<TopicRow>[] = [
    { header: 'TOPICS', width: 16, priority: 0, flex: true, cell: (t) => t.name },
    { header: 'REC/S', width: 8, priority: 0, right: true, cell: (t) => compactRate(t.recordsPerSecond) },
    { header: 'BYTES/S', width: 9, priority: 1, right: true, cell: (t) => bytesRate(t.bytesPerSecond) },
    {
      header: 'LAST MINUTE',
      width: spark,
      priority: 1,
      cell: (t) => text(sparkline(t.history, spark), { color: 'cyan' }),
    },
    { header: 'RECORDS', width: 7, priority: 2, right: true, cell: (t) => compactCount(t.records) },
    { header: 'PARTS', width: 5, priority: 2, right: true, cell: (t) => String(t.partitions) },
    { header: 'SIZE', width: 8, priority: 3, right: true, cell: (t) => compactBytes(t.bytes) },
  ];
  return bytes ? all : all.filter((c) => c.header !== 'BYTES/S' && c.header !== 'SIZE');
}

function bytesRate(rate: number | null): string {
  return rate === null ? '–' : rate === 0 ? '0' : `${compactBytes(rate)}`;
}

export const STATUS_STYLE: Record<GroupStatus, Omit<Segment, 'text'>> = {
  ok: { color: 'green' },
  behind: { color: 'yellow' },
  stalled: { color: 'red', bold: true },
  stopped: { color: 'red' },
  empty: { dim: true },
};

export const GROUP_COLUMNS: Column<GroupRow>[] = [
  { header: 'GROUPS', width: 16, priority: 0, flex: true, cell: (g) => g.id },
  { header: 'STATUS', width: 7, priority: 0, cell: (g) => text(g.status, STATUS_STYLE[g.status]) },
  { header: 'MEMBERS', width: 7, priority: 1, right: true, cell: (g) => String(g.members) },
  { header: 'LAG', width: 7, priority: 0, right: true, cell: (g) => compactCount(g.lag) },
  { header: 'LAG TIME', width: 8, priority: 0, right: true, cell: (g) => shortDuration(g.lagMs) },
  { header: 'TREND', width: 8, priority: 2, right: true, cell: (g) => trendCell(g.lagTrend) },
  { header: 'ETA', width: 6, priority: 1, right: true, cell: etaCell },
  { header: 'TOPICS', width: 24, priority: 4, cell: (g) => g.topics.join(',') },
  { header: 'STATE', width: 18, priority: 5, cell: (g) => g.state },
];

/** "+12/s" when the lag grows (yellow), "-40/s" when it shrinks. */
export function trendCell(trend: number | null): Segment | string {
  if (trend === null) return '–';
  if (trend === 0) return '0/s';
  const value = `${trend > 0 ? '+' : '-'}${compactRate(Math.abs(trend))}/s`;
  return trend > 0 ? text(value, { color: 'yellow' }) : text(value, { color: 'green' });
}

/** Time to catch up; "never" when there is lag and it is not shrinking (a stopped group's never is red). */
export function etaCell(g: GroupRow): Segment | string {
  if (g.lag === 0) return '–';
  if (g.etaMs !== null) return shortDuration(g.etaMs);
  return text('never', { color: g.status === 'ok' ? 'yellow' : 'red' });
}

export const PIPELINE_COLUMNS: Column<CombinedFigures>[] = [
  { header: 'PIPELINES', width: 14, priority: 0, flex: true, cell: (p) => p.pipeline },
  { header: 'STATUS', width: 8, priority: 0, cell: (p) => pipelineStatus(p) },
  { header: 'REPL', width: 4, priority: 2, right: true, cell: (p) => String(p.replicas.length) },
  { header: 'READ/S', width: 8, priority: 0, right: true, cell: (p) => compactRate(p.consumed.perSecond) },
  {
    header: 'OUT/S',
    width: 8,
    priority: 1,
    right: true,
    cell: (p) => compactRate(sum(p.sinks.map((s) => s.writes.perSecond))),
  },
  { header: 'ERR/S', width: 7, priority: 1, right: true, cell: errorsCell },
  { header: 'DEAD', width: 6, priority: 2, right: true, cell: (p) => compactCount(p.deadLetters.total) },
  { header: 'LAG', width: 7, priority: 2, right: true, cell: (p) => compactCount(sum(p.lag.map((l) => l.lag))) },
  { header: 'E2E P50/P95/P99', width: 17, priority: 1, cell: (p) => percentilesCell(slowest(p)) },
];

export function pipelineStatus(p: CombinedFigures): Segment {
  const style = { running: { color: 'green' }, retrying: { color: 'yellow' }, stopping: { dim: true } } as const;
  return text(p.status, style[p.status]);
}

function errorsCell(p: CombinedFigures): Segment | string {
  const perSecond = sum([...p.operators.map((o) => o.errors.perSecond), ...p.sinks.map((s) => s.errors.perSecond)]);
  return perSecond > 0 ? text(compactRate(perSecond), { color: 'red' }) : '0';
}

/** End-to-end latency of the slowest replica: percentiles of several replicas cannot be merged. */
export function slowest(p: CombinedFigures) {
  const heard = p.replicas.map((r) => r.endToEnd.lastSecond).filter((l) => l.count > 0);
  if (heard.length === 0) return { count: 0, p50: 0, p95: 0, p99: 0 };
  return heard.reduce((a, l) => (l.p99 > a.p99 ? l : a));
}

export const REPLAY_COLUMNS: Column<ReplayRow>[] = [
  { header: 'REPLAYS', width: 14, priority: 0, flex: true, cell: (r) => r.topic },
  {
    header: 'TARGET/S',
    width: 8,
    priority: 0,
    right: true,
    cell: (r) => (r.targetRate === null ? 'max' : compactRate(r.targetRate)),
  },
  { header: 'ACHIEVED/S', width: 10, priority: 0, right: true, cell: achievedCell },
  { header: 'SENT', width: 7, priority: 1, right: true, cell: (r) => compactCount(r.sent) },
  {
    header: 'DONE',
    width: 5,
    priority: 1,
    right: true,
    cell: (r) => (r.total ? `${Math.floor((100 * r.sent) / r.total)}%` : '–'),
  },
  { header: 'SOURCE', width: 24, priority: 3, cell: (r) => r.source },
  { header: 'BY', width: 20, priority: 4, cell: (r) => r.id },
];

/** Yellow when more than 5% off its target. */
function achievedCell(r: ReplayRow): Segment | string {
  const value = compactRate(r.achievedRate);
  const off = r.targetRate !== null && Math.abs(r.achievedRate - r.targetRate) > 0.05 * r.targetRate;
  return off ? text(value, { color: 'yellow' }) : value;
}

export function sum(values: number[]): number {
  return values.reduce((a, v) => a + v, 0);
}
