// A running pipeline's figures as text, one replica's or several replicas' (pbx run, pbx run --replicas N), within
// 80 columns: a table on a terminal, one line per interval otherwise.
import { formatDuration, renderTable, type Styler } from '../cli/output';
import type { Count, PartitionLag, PipelineFigures } from '../pipelines/runtime/figures';
import type { Percentiles } from '../pipelines/runtime/histogram';
import type { ViewSpec } from './live-view';
import { formatRate } from './replay-line';

/** Lag is listed partition by partition up to this many; beyond, summed with the worst named. */
const LISTED_PARTITIONS = 4;
const WIDTH = 80;
const STEP_WIDTH = 30;
const SINK_WIDTH = 28;

export interface PipelineViewOptions {
  pipeline: string;
  /** Without a terminal, a line at most this often (default 5000 ms). */
  plainEveryMs?: number;
}

/** The live view of `pbx run`: fed the latest snapshot of each replica (one for a single replica). */
export function pipelineView(options: PipelineViewOptions): ViewSpec<PipelineFigures[]> {
  return {
    to: 'stderr',
    render: (replicas, style) => pipelineTable(replicas, style),
    plain: (replicas, style) => pipelineLine(replicas, style),
    waiting: `${options.pipeline}: starting…`,
    plainEveryMs: options.plainEveryMs ?? 5000,
  };
}

/** The replicas' figures as one: counts and rates summed, every partition's lag, the earliest sink outage. */
export interface CombinedFigures {
  pipeline: string;
  replicas: PipelineFigures[];
  time: number;
  status: PipelineFigures['status'];
  sinkDown?: { name: string; since: number };
  consumed: Count;
  deadLetters: Count;
  stateKeys: number;
  operators: Array<{ index: number; label: string; in: Count; out: Count; errors: Count }>;
  sinks: Array<{ name: string; writes: Count; errors: Count; p50: number; p99: number }>;
  lag: PartitionLag[];
}

/** Sums the replicas' figures (pure); latency percentiles cannot be summed: a sink's are its slowest replica's. */
export function combineReplicas(replicas: PipelineFigures[]): CombinedFigures {
  const first = replicas[0]!;
  const sum = (counts: Count[]): Count => ({
    total: counts.reduce((a, c) => a + c.total, 0),
    perSecond: counts.reduce((a, c) => a + c.perSecond, 0),
  });
  const down = replicas.flatMap((r) => (r.sinkDown ? [r.sinkDown] : [])).sort((a, b) => a.since - b.since)[0];
  const statuses = replicas.map((r) => r.status);
  const sinkNames = [...new Set(replicas.flatMap((r) => r.sinks.map((s) => s.name)))];
  return {
    pipeline: first.pipeline,
    replicas,
    time: Math.max(...replicas.map((r) => r.time)),
    status: statuses.includes('retrying') ? 'retrying' : statuses.includes('stopping') ? 'stopping' : 'running',
    ...(down ? { sinkDown: down } : {}),
    consumed: sum(replicas.map((r) => r.consumed)),
    deadLetters: sum(replicas.map((r) => r.deadLetters)),
    stateKeys: replicas.reduce((a, r) => a + r.stateKeys, 0),
    operators: first.operators.map((op) => {
      const each = replicas.map((r) => r.operators[op.index] ?? op);
      return {
        index: op.index,
        label: op.label,
        in: sum(each.map((o) => o.in)),
        out: sum(each.map((o) => o.out)),
        errors: sum(each.map((o) => o.errors)),
      };
    }),
    sinks: sinkNames.map((name) => {
      const each = replicas.flatMap((r) => r.sinks.filter((s) => s.name === name));
      const latency = each.map((s) => s.latency.lastSecond).filter((p) => p.count > 0);
      return {
        name,
        writes: sum(each.map((s) => s.writes)),
        errors: sum(each.map((s) => s.errors)),
        p50: Math.max(0, ...latency.map((p) => p.p50)),
        p99: Math.max(0, ...latency.map((p) => p.p99)),
      };
    }),
    lag: replicas.flatMap((r) => r.lag).sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition),
  };
}

/** The terminal's live region: a heading, steps, sinks, lag, end-to-end latency (per replica when several). */
export function pipelineTable(replicas: PipelineFigures[], style: Styler): string {
  if (replicas.length === 0) return style.dim('waiting for the figures of a replica…');
  const c = combineReplicas(replicas);
  const lines = [heading(c, style)];
  if (c.operators.length > 0) lines.push(stepsTable(c, style));
  if (c.sinks.length > 0) lines.push(sinksTable(c, style));
  if (c.sinkDown) lines.push(style.yellow(clip(`${outage(c.sinkDown, c.time)}; nothing committed past it`, WIDTH)));
  lines.push(clip(`LAG  ${lagText(c.lag)}`, WIDTH));
  if (replicas.length === 1) lines.push(`END TO END  ${percentilesText(replicas[0]!.endToEnd.lastSecond)}`);
  else lines.push(replicasTable(replicas, style));
  return lines.join('\n');
}

function heading(c: CombinedFigures, style: Styler): string {
  const status = { running: style.green, retrying: style.yellow, stopping: style.dim }[c.status](c.status);
  const parts = [
    c.replicas.length > 1 ? `${c.replicas.length} replicas` : undefined,
    `read ${rate(c.consumed.perSecond)}/s`,
    c.deadLetters.total > 0 ? style.yellow(`${c.deadLetters.total} dead letters`) : undefined,
    c.stateKeys > 0 ? `${c.stateKeys.toLocaleString('en-US')} keys` : undefined,
  ].filter((part) => part !== undefined);
  return `${style.bold(clip(c.pipeline, 30))} ${status} · ${parts.join(' · ')}`;
}

function stepsTable(c: CombinedFigures, style: Styler): string {
  return renderTable(
    c.operators.map((op) => ({
      step: clip(`${op.index} ${op.label}`, STEP_WIDTH),
      in: rate(op.in.perSecond),
      out: rate(op.out.perSecond),
      errors: errorsText(op.errors, style),
    })),
    [
      ['step', 'STEP'],
      ['in', 'IN/S'],
      ['out', 'OUT/S'],
      ['errors', 'ERRORS/S (TOTAL)'],
    ],
  );
}

function sinksTable(c: CombinedFigures, style: Styler): string {
  return renderTable(
    c.sinks.map((sink) => ({
      sink: clip(sink.name, SINK_WIDTH),
      writes: rate(sink.writes.perSecond),
      p50: sink.writes.perSecond > 0 || sink.p50 > 0 ? formatMs(sink.p50) : '–',
      p99: sink.writes.perSecond > 0 || sink.p99 > 0 ? formatMs(sink.p99) : '–',
      errors: errorsText(sink.errors, style),
    })),
    [
      ['sink', 'SINK'],
      ['writes', 'WRITES/S'],
      ['p50', 'P50'],
      ['p99', 'P99'],
      ['errors', 'ERRORS/S (TOTAL)'],
    ],
  );
}

function replicasTable(replicas: PipelineFigures[], style: Styler): string {
  return renderTable(
    replicas.map((r) => ({
      replica: clip(`${r.replica} ${r.host}:${r.pid}`, 24),
      read: rate(r.consumed.perSecond),
      lag: r.lag.reduce((a, p) => a + p.lag, 0).toLocaleString('en-US'),
      e2e: percentilesText(r.endToEnd.lastSecond, false),
      status: r.status === 'running' ? r.status : style.yellow(r.status),
    })),
    [
      ['replica', 'REPLICA'],
      ['read', 'READ/S'],
      ['lag', 'LAG'],
      ['e2e', 'END TO END P50/P95/P99'],
      ['status', 'STATUS'],
    ],
  );
}

/** One line with the essentials, for a log: rates, lag, end-to-end latency, a sink being retried. */
export function pipelineLine(replicas: PipelineFigures[], style: Styler): string {
  if (replicas.length === 0) return 'waiting for the figures of a replica…';
  const c = combineReplicas(replicas);
  const errors = [...c.operators.map((o) => o.errors.perSecond), ...c.sinks.map((s) => s.errors.perSecond)];
  const worst = worstPercentiles(replicas.map((r) => r.endToEnd.lastSecond));
  return [
    `${style.bold(c.pipeline)}${c.replicas.length > 1 ? ` (${c.replicas.length} replicas)` : ''}: read ${rate(c.consumed.perSecond)}/s`,
    `written ${rate(c.sinks.reduce((a, s) => a + s.writes.perSecond, 0))}/s`,
    `errors ${rate(errors.reduce((a, b) => a + b, 0))}/s`,
    c.deadLetters.total > 0 ? `dead letters ${c.deadLetters.total}` : undefined,
    `lag ${c.lag.reduce((a, p) => a + p.lag, 0).toLocaleString('en-US')}`,
    `end to end p50/p95/p99 ${percentilesText(worst, false)}${replicas.length > 1 ? ' (slowest replica)' : ''}`,
    c.sinkDown ? style.yellow(outage(c.sinkDown, c.time)) : undefined,
    c.status === 'stopping' ? 'stopping' : undefined,
  ]
    .filter((part) => part !== undefined)
    .join(' · ');
}

/** "retrying: cassandra reviews.per_hour down for 12.0 s". */
function outage(down: { name: string; since: number }, now: number): string {
  return `retrying: ${down.name} down for ${formatDuration(Math.max(0, now - down.since))}`;
}

/** Every partition's lag when few ("t/0 12 · t/1 40"), else their sum and the worst ("52 over 12 partitions…"). */
export function lagText(lag: PartitionLag[]): string {
  if (lag.length === 0) return 'no partition assigned';
  const name = (p: PartitionLag) => `${p.topic}/${p.partition}`;
  if (lag.length <= LISTED_PARTITIONS) return lag.map((p) => `${name(p)} ${p.lag.toLocaleString('en-US')}`).join(' · ');
  const total = lag.reduce((a, p) => a + p.lag, 0);
  const worst = lag.reduce((a, p) => (p.lag > a.lag ? p : a));
  const sum = `${total.toLocaleString('en-US')} over ${lag.length} partitions`;
  return total === 0 ? sum : `${sum}, most on ${name(worst)}: ${worst.lag.toLocaleString('en-US')}`;
}

/** "p50 12 ms · p95 30 ms · p99 45 ms", or "12 / 30 / 45 ms"; a dash when nothing was acknowledged. */
function percentilesText(p: Percentiles, named = true): string {
  if (p.count === 0) return '–';
  if (!named) return `${[p.p50, p.p95, p.p99].map(formatMs).join(' / ')}`;
  return `p50 ${formatMs(p.p50)} · p95 ${formatMs(p.p95)} · p99 ${formatMs(p.p99)}`;
}

function worstPercentiles(list: Percentiles[]): Percentiles {
  const heard = list.filter((p) => p.count > 0);
  const max = (pick: (p: Percentiles) => number) => Math.max(0, ...heard.map(pick));
  return {
    count: heard.reduce((a, p) => a + p.count, 0),
    p50: max((p) => p.p50),
    p95: max((p) => p.p95),
    p99: max((p) => p.p99),
    max: max((p) => p.max),
  };
}

/** "0.42 ms", "3.1 ms", "45 ms", "1.2 s". */
export function formatMs(ms: number): string {
  if (ms >= 1000) return formatDuration(ms);
  return `${ms < 1 ? ms.toFixed(2) : ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

const rate = (perSecond: number) => (perSecond === 0 ? '0' : formatRate(perSecond));

function errorsText(errors: Count, style: Styler): string {
  if (errors.total === 0) return '0';
  const text = `${rate(errors.perSecond)} (${errors.total.toLocaleString('en-US')})`;
  return style.red(text);
}

function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}
