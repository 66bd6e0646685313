// What Enter opens: a topic's partitions and readers, a group's partitions and owners, a pipeline's operators, sinks
// and replicas. Lines of text (the screen scrolls them), pure, for layout.ts.
import { lagText } from '../ui/pipeline-view';
import { tableLines, type Column, type ScreenLine, type Segment } from './columns';
import { compactBytes, compactCount, compactRate, percentilesCell, shortDuration, sparkline } from './format';
import type { DetailPanel } from './keys';
import { etaCell, panelRows, pipelineStatus, STATUS_STYLE, sum, trendCell } from './panels';
import type { GroupPartitionRow, Snapshot, TopicPartitionRow, TopicRow, GroupRow } from './snapshot';
import type { CombinedFigures } from '../ui/pipeline-view';

/** Every line of the opened row's details; a row gone from the snapshot says so. */
export function detailLines(
  snapshot: Snapshot,
  detail: { panel: DetailPanel; name: string },
  width: number,
): ScreenLine[] {
  const rows = panelRows(snapshot, '');
  const gone = (what: string): ScreenLine[] => [
    [{ text: `${what} ${detail.name} is no longer there (Esc goes back)`, color: 'yellow' }],
  ];
  switch (detail.panel) {
    case 'topics': {
      const topic = snapshot.topics.find((t) => t.name === detail.name);
      return topic ? topicDetail(topic, snapshot.groups, width) : gone('topic');
    }
    case 'groups': {
      const group = rows.groups.find((g) => g.id === detail.name);
      return group ? groupDetail(group, width) : gone('group');
    }
    case 'pipelines': {
      const pipeline = rows.pipelines.find((p) => p.pipeline === detail.name);
      return pipeline ? pipelineDetail(pipeline, width) : gone('pipeline');
    }
  }
}

/** "a · b · c" as a line, the first part bold. */
function summary(parts: Array<Segment | string>): ScreenLine {
  const line: ScreenLine = [];
  parts.forEach((part, i) => {
    if (i > 0) line.push({ text: ' · ' });
    line.push(typeof part === 'string' ? { text: part, ...(i === 0 ? { bold: true } : {}) } : part);
  });
  return line;
}

const all = <R>(columns: Column<R>[], rows: R[], title: string, width: number) =>
  tableLines({ columns, rows, width, height: rows.length + 1, title, counted: false });

function topicDetail(topic: TopicRow, groups: GroupRow[], width: number): ScreenLine[] {
  const spark = Math.max(10, Math.min(60, width - 30));
  const peak = Math.max(0, ...topic.history);
  const readers = groups.filter((g) => g.topics.includes(topic.name));
  return [
    summary([
      `TOPIC ${topic.name}`,
      `${topic.partitions} partitions`,
      `${compactCount(topic.records)} records`,
      compactBytes(topic.bytes),
      `${compactRate(topic.recordsPerSecond)} rec/s`,
      `${compactBytes(topic.bytesPerSecond)}/s`,
    ]),
    [
      { text: 'last minute ' },
      { text: sparkline(topic.history, spark), color: 'cyan' },
      { text: ` peak ${compactRate(peak)}/s`, dim: true },
    ],
    readers.length === 0
      ? [{ text: 'read by no consumer group', dim: true }]
      : [
          { text: 'read by ' },
          ...readers.flatMap((g, i): Segment[] => [
            { text: `${i > 0 ? ', ' : ''}${g.id} ` },
            { text: g.status, ...STATUS_STYLE[g.status] },
            { text: ` lag ${compactCount(g.lag)}` },
          ]),
        ],
    [],
    ...all(TOPIC_PARTITION_COLUMNS, topic.details, 'PARTITION', width),
  ];
}

const TOPIC_PARTITION_COLUMNS: Column<TopicPartitionRow>[] = [
  { header: 'PARTITION', width: 9, priority: 0, flex: true, cell: (p) => String(p.partition) },
  { header: 'LEADER', width: 6, priority: 1, right: true, cell: (p) => String(p.leader) },
  { header: 'START', width: 10, priority: 2, right: true, cell: (p) => String(p.startOffset) },
  { header: 'END', width: 10, priority: 0, right: true, cell: (p) => String(p.endOffset) },
  { header: 'RECORDS', width: 8, priority: 0, right: true, cell: (p) => compactCount(p.endOffset - p.startOffset) },
  { header: 'REC/S', width: 8, priority: 0, right: true, cell: (p) => compactRate(p.recordsPerSecond) },
  {
    header: 'OUT OF SYNC',
    width: 11,
    priority: 1,
    cell: (p) => (p.outOfSync.length > 0 ? { text: p.outOfSync.join(','), color: 'red' } : '–'),
  },
  { header: 'SIZE', width: 9, priority: 3, right: true, cell: (p) => compactBytes(p.bytes) },
  { header: 'BYTES/S', width: 9, priority: 3, right: true, cell: (p) => compactBytes(p.bytesPerSecond) },
];

function groupDetail(group: GroupRow, width: number): ScreenLine[] {
  return [
    summary([
      `GROUP ${group.id}`,
      { text: group.status, ...STATUS_STYLE[group.status] },
      group.state,
      `${group.members} member${group.members === 1 ? '' : 's'}`,
      `lag ${group.lag.toLocaleString('en-US')} records, ${shortDuration(group.lagMs)}`,
    ]),
    [
      { text: 'trend ' },
      segment(trendCell(group.lagTrend)),
      { text: ' · ETA ' },
      segment(etaCell(group)),
      { text: ` · topics ${group.topics.join(', ')}` },
    ],
    [],
    ...all(GROUP_PARTITION_COLUMNS, group.details, 'TOPIC', width),
  ];
}

const GROUP_PARTITION_COLUMNS: Column<GroupPartitionRow>[] = [
  { header: 'TOPIC', width: 14, priority: 0, flex: true, cell: (p) => p.topic },
  { header: 'PART', width: 4, priority: 0, right: true, cell: (p) => String(p.partition) },
  {
    header: 'COMMITTED',
    width: 10,
    priority: 2,
    right: true,
    cell: (p) => (p.committed === null ? '–' : String(p.committed)),
  },
  { header: 'END', width: 10, priority: 2, right: true, cell: (p) => String(p.endOffset) },
  { header: 'LAG', width: 7, priority: 0, right: true, cell: (p) => compactCount(p.lag) },
  { header: 'LAG TIME', width: 8, priority: 0, right: true, cell: (p) => shortDuration(p.lagMs) },
  { header: 'READ/S', width: 8, priority: 1, right: true, cell: (p) => compactRate(p.consumedPerSecond) },
  { header: 'OWNER', width: 20, priority: 3, cell: (p) => p.owner ?? '–' },
];

function pipelineDetail(p: CombinedFigures, width: number): ScreenLine[] {
  const lines: ScreenLine[] = [
    summary([
      `PIPELINE ${p.pipeline}`,
      pipelineStatus(p),
      `${p.replicas.length} replica${p.replicas.length === 1 ? '' : 's'}`,
      `read ${compactRate(p.consumed.perSecond)}/s`,
      p.deadLetters.total > 0 ? { text: `${p.deadLetters.total} dead letters`, color: 'yellow' } : 'no dead letters',
      `${compactCount(p.stateKeys)} keys`,
    ]),
  ];
  if (p.sinkDown)
    lines.push([
      {
        text: `retrying ${p.sinkDown.name}, down since ${new Date(p.sinkDown.since).toTimeString().slice(0, 8)}`,
        color: 'yellow',
      },
    ]);
  lines.push([{ text: `lag ${lagText(p.lag)}` }], []);
  if (p.operators.length > 0) lines.push(...all(OPERATOR_COLUMNS, p.operators, 'STEP', width), []);
  if (p.sinks.length > 0) lines.push(...all(SINK_COLUMNS, p.sinks, 'SINK', width), []);
  lines.push(...all(REPLICA_COLUMNS, p.replicas, 'REPLICA', width));
  return lines;
}

type Operator = CombinedFigures['operators'][number];
type Sink = CombinedFigures['sinks'][number];
type Replica = CombinedFigures['replicas'][number];

const errors = (count: { perSecond: number; total: number }): Segment | string =>
  count.total > 0 ? { text: `${compactRate(count.perSecond)} (${compactCount(count.total)})`, color: 'red' } : '0';

const OPERATOR_COLUMNS: Column<Operator>[] = [
  { header: 'STEP', width: 16, priority: 0, flex: true, cell: (o) => `${o.index} ${o.label}` },
  { header: 'IN/S', width: 8, priority: 0, right: true, cell: (o) => compactRate(o.in.perSecond) },
  { header: 'OUT/S', width: 8, priority: 0, right: true, cell: (o) => compactRate(o.out.perSecond) },
  { header: 'ERR/S (TOTAL)', width: 16, priority: 0, cell: (o) => errors(o.errors) },
  { header: 'IN', width: 8, priority: 2, right: true, cell: (o) => compactCount(o.in.total) },
  { header: 'OUT', width: 8, priority: 2, right: true, cell: (o) => compactCount(o.out.total) },
];

const SINK_COLUMNS: Column<Sink>[] = [
  { header: 'SINK', width: 16, priority: 0, flex: true, cell: (s) => s.name },
  { header: 'WRITES/S', width: 8, priority: 0, right: true, cell: (s) => compactRate(s.writes.perSecond) },
  { header: 'P50', width: 8, priority: 0, right: true, cell: (s) => latency(s.p50, s) },
  { header: 'P99', width: 8, priority: 0, right: true, cell: (s) => latency(s.p99, s) },
  { header: 'ERR/S (TOTAL)', width: 16, priority: 0, cell: (s) => errors(s.errors) },
  { header: 'WRITES', width: 8, priority: 2, right: true, cell: (s) => compactCount(s.writes.total) },
];

function latency(ms: number, s: Sink): string {
  return s.writes.perSecond > 0 || ms > 0 ? shortDuration(ms) : '–';
}

const REPLICA_COLUMNS: Column<Replica>[] = [
  { header: 'REPLICA', width: 16, priority: 0, flex: true, cell: (r) => `${r.replica} ${r.host}:${r.pid}` },
  { header: 'READ/S', width: 8, priority: 0, right: true, cell: (r) => compactRate(r.consumed.perSecond) },
  { header: 'LAG', width: 7, priority: 0, right: true, cell: (r) => compactCount(sum(r.lag.map((l) => l.lag))) },
  { header: 'E2E P50/P95/P99', width: 17, priority: 0, cell: (r) => percentilesCell(r.endToEnd.lastSecond) },
  {
    header: 'STATUS',
    width: 8,
    priority: 1,
    cell: (r) => (r.status === 'running' ? r.status : { text: r.status, color: 'yellow' }),
  },
];

function segment(value: Segment | string): Segment {
  return typeof value === 'string' ? { text: value } : value;
}
