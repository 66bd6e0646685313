// pbx top as plain text: what a pipe, a file or a CI log gets (and the terminal until the screen is drawn), one
// block of tables a snapshot, each headed by the time it was taken.
import { formatDuration, renderTable, type Styler } from '../cli/output';
import { formatRate } from '../ui/replay-line';
import { formatBytes } from '../doctor/doctor';
import type { PipelineFigures } from '../pipelines/runtime/figures';
import type { ServiceStatus } from '../stack/status';
import type { GroupRow, Rate, ReplayRow, Snapshot, TopicRow } from './snapshot';

/** A snapshot as text: Kafka's state, then services, topics (Kafka's own left out), groups, pipelines, replays. */
export function snapshotText(snapshot: Snapshot, style: Styler): string {
  const { kafka } = snapshot;
  const at = new Date(snapshot.time).toTimeString().slice(0, 8);
  const state = kafka.up
    ? style.green(`up, ${kafka.brokers} broker${kafka.brokers === 1 ? '' : 's'}`)
    : style.red(
        `down${kafka.since !== undefined ? ` for ${formatDuration(snapshot.time - kafka.since)}` : ''}: ${kafka.error ?? ''}`,
      );
  const blocks = [`${style.bold(`pbx top: ${snapshot.target}`)} at ${at}, Kafka ${state}`];
  if (snapshot.services.length > 0) blocks.push(table(snapshot.services, SERVICE_COLUMNS));
  const topics = snapshot.topics.filter((t) => !t.internal);
  blocks.push(topics.length === 0 ? 'No topics.' : table(topics, topicColumns(topics)));
  if (snapshot.groups.length > 0) blocks.push(table(snapshot.groups, GROUP_COLUMNS));
  if (snapshot.pipelines.length > 0) blocks.push(table(snapshot.pipelines, PIPELINE_COLUMNS));
  if (snapshot.replays.length > 0) blocks.push(table(snapshot.replays, REPLAY_COLUMNS));
  if (snapshot.figuresError !== undefined) blocks.push(style.yellow(`Pipelines and replays: ${snapshot.figuresError}`));
  return blocks.join('\n\n');
}

/** A column of plain text: its header, and its cell in a row. */
type PlainColumn<R> = [header: string, cell: (row: R) => string | number];

/** The one way plain.ts draws a table: a header line, then a line a row, the columns aligned. */
function table<R>(rows: R[], columns: Array<PlainColumn<R>>): string {
  const keys = columns.map((_, i) => `c${i}`);
  return renderTable(
    rows.map((row) => Object.fromEntries(columns.map(([, cell], i) => [keys[i]!, cell(row)]))),
    columns.map(([header], i) => [keys[i]!, header]),
  );
}

const SERVICE_COLUMNS: Array<PlainColumn<ServiceStatus>> = [
  ['SERVICE', (s) => s.node],
  ['STATE', (s) => s.state],
  ['READY', (s) => (s.ready ? 'yes' : 'no')],
  ['CHECK', (s) => s.check],
];

/** Size and bytes/s only where the cluster says them (a Kafka before 1.0, or no right to describe the cluster). */
function topicColumns(topics: TopicRow[]): Array<PlainColumn<TopicRow>> {
  const bytes = topics.some((t) => t.bytes !== null);
  return [
    ['TOPIC', (t) => t.name],
    ['PARTITIONS', (t) => t.partitions],
    ['RECORDS', (t) => t.records],
    ...(bytes ? ([['SIZE', (t) => size(t.bytes)]] as Array<PlainColumn<TopicRow>>) : []),
    ['RECORDS/S', (t) => rate(t.recordsPerSecond)],
    ...(bytes ? ([['BYTES/S', (t) => size(t.bytesPerSecond)]] as Array<PlainColumn<TopicRow>>) : []),
    ['LAST MINUTE', (t) => sparkline(t.history)],
  ];
}

const GROUP_COLUMNS: Array<PlainColumn<GroupRow>> = [
  ['GROUP', (g) => g.id],
  ['MEMBERS', (g) => g.members],
  ['LAG', (g) => g.lag],
  ['LAG TIME', (g) => (g.lag > 0 ? formatDuration(g.lagMs) : '')],
  [
    'TREND',
    (g) =>
      g.lagTrend === null
        ? ''
        : `${g.lagTrend > 0 ? '+' : g.lagTrend < 0 ? '-' : ''}${formatRate(Math.abs(g.lagTrend))}/s`,
  ],
  [
    'ETA',
    (g) => (g.etaMs === null ? (g.lag > 0 ? 'not catching up' : '') : g.etaMs > 0 ? formatDuration(g.etaMs) : ''),
  ],
  ['STATUS', (g) => g.status],
];

const PIPELINE_COLUMNS: Array<PlainColumn<PipelineFigures>> = [
  ['PIPELINE', (p) => `${p.pipeline}/${p.replica}`],
  ['STATUS', (p) => p.status],
  ['IN/S', (p) => rate(p.consumed.perSecond)],
  ['ERRORS', (p) => p.operators.reduce((sum, o) => sum + o.errors.total, 0)],
  ['DEAD LETTERS', (p) => p.deadLetters.total],
  ['END-TO-END P99', (p) => `${Math.round(p.endToEnd.lastSecond.p99)} ms`],
];

const REPLAY_COLUMNS: Array<PlainColumn<ReplayRow>> = [
  ['REPLAY', (r) => r.id],
  ['TOPIC', (r) => r.topic],
  ['TARGET/S', (r) => (r.targetRate === null ? 'max' : rate(r.targetRate))],
  ['ACHIEVED/S', (r) => rate(r.achievedRate)],
  ['SENT', (r) => (r.total === null ? r.sent : `${r.sent}/${r.total}`)],
];

const size = (bytes: number | null) => (bytes === null ? '' : formatBytes(bytes));
const rate = (r: Rate) => (r === null ? '' : formatRate(r));

const BARS = '▁▂▃▄▅▆▇█';

/** Records/s of the last minute as block characters, scaled to its largest (pure). */
export function sparkline(values: number[]): string {
  const top = Math.max(...values, 0);
  return values.map((v) => (top <= 0 ? BARS[0] : BARS[Math.min(7, Math.floor((v / top) * 7.999))])).join('');
}
