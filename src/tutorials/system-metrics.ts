// system-metrics (after the streaming demo): vmstat's lines, one a second, replayed into Kafka with `pbx replay
// --exec`, stamped by a pipeline with the time each was received and written to Cassandra as (sent, received), the
// end-to-end latency live in `pbx top`. The last check reads the rows back: one for every second of the last minute,
// and the p99 of received − sent, computed here from the rows, under P99_BOUND_MS.
import { describeAction } from './actions';
import { count, plural, withSchema } from './checks';
import type { Action, CheckResult, StepContext, Tutorial } from './types';

const TOPIC = 'vmstat';
const TABLE = 'metrics.vmstat';
const PIPELINE = 'stamp';
/** -n: vmstat's header once, not again every screenful. */
const SOURCE = 'vmstat -n 1';
const REPLAY: Action = {
  kind: 'start',
  name: 'vmstat replay',
  argv: ['replay', '--exec', SOURCE, '--topic', TOPIC, '--format', 'lines'],
};
/** The bound on the p99 of received − sent over the last minute: a line a second is stamped before the next is sent. */
export const P99_BOUND_MS = 1000;
const SECOND_MS = 1000;
const MINUTE_SECONDS = 60;
/** The second just gone is given this long to reach Cassandra before it counts as missing. */
const GRACE_MS = 1000;
/** How recent the newest row must be for the replay and the pipeline to count as flowing. */
const FRESH_MS = 3000;
/** How far back the flowing step looks, and how many rows it wants there. */
const RECENT_MS = 10_000;
const RECENT_ROWS = 3;

/** A row's two stamps, ms; received is NaN when the row has none. */
export interface Stamped {
  sent: number;
  received: number;
}

/** The last minute of the once-a-second source, as its rows show it. */
export interface MinuteFinding {
  /** The first and the last of its sixty seconds (ms, on the source's grid). */
  from: number;
  to: number;
  /** Its seconds that hold no row (ms, on the source's grid), oldest first. */
  missing: number[];
  rows: number;
  /** Rows with no received time. */
  unstamped: number;
  /** received − sent over its stamped rows, ms (nearest rank); undefined when none is stamped. */
  p50?: number;
  p99?: number;
}

/** The phase within the second (ms) that times share: their circular mean, so 999 and 1 average to 0 (0 for none). */
function commonPhase(times: readonly number[]): number {
  let x = 0;
  let y = 0;
  for (const t of times) {
    const angle = (2 * Math.PI * (t % SECOND_MS)) / SECOND_MS;
    x += Math.cos(angle);
    y += Math.sin(angle);
  }
  if (x === 0 && y === 0) return 0;
  return ((((Math.atan2(y, x) / (2 * Math.PI)) * SECOND_MS) % SECOND_MS) + SECOND_MS) % SECOND_MS;
}

/** The value at quantile q of sorted values (nearest rank). */
const quantile = (sorted: readonly number[], q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];

/**
 * The last minute of a source that sends a line a second, from its rows' sent times: sixty seconds ending GRACE_MS
 * before `now`, and which of them hold no row. The seconds are the source's own: vmstat samples a second after its
 * last sample, not on the clock's seconds, and a sent time carries the replay's jitter, so each row is placed on the
 * one-second grid of its rows' common phase, not in its clock second: a row sent late is not a missing second
 * (nor two rows either side of a clock second one).
 */
export function lastMinute(rows: readonly Stamped[], now: number): MinuteFinding {
  const end = now - GRACE_MS;
  const near = rows.filter((r) => r.sent > end - (MINUTE_SECONDS + 1) * SECOND_MS && r.sent <= end + SECOND_MS);
  const phase = commonPhase(near.map((r) => r.sent));
  const place = (t: number) => Math.round((t - phase) / SECOND_MS);
  const last = Math.floor((end - phase) / SECOND_MS);
  const first = last - MINUTE_SECONDS + 1;
  const inMinute = near.filter((r) => place(r.sent) >= first && place(r.sent) <= last);
  const held = new Set(inMinute.map((r) => place(r.sent)));
  const missing: number[] = [];
  for (let k = first; k <= last; k++) if (!held.has(k)) missing.push(phase + k * SECOND_MS);
  const latencies = inMinute
    .filter((r) => Number.isFinite(r.received))
    .map((r) => r.received - r.sent)
    .sort((a, b) => a - b);
  return {
    from: phase + first * SECOND_MS,
    to: phase + last * SECOND_MS,
    missing,
    rows: inMinute.length,
    unstamped: inMinute.length - latencies.length,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
  };
}

/** 07:51:14 (UTC): the clock second a time falls in. */
const clock = (ms: number) => new Date(Math.floor(ms / SECOND_MS) * SECOND_MS).toISOString().slice(11, 19);

/** Seconds as runs, "07:51:14–07:51:16, 07:51:40", the first five runs and how many more. */
export function secondsText(seconds: readonly number[]): string {
  const runs: Array<[number, number]> = [];
  for (const s of seconds) {
    const run = runs.at(-1);
    if (run && Math.round((s - run[1]) / SECOND_MS) === 1) run[1] = s;
    else runs.push([s, s]);
  }
  const shown = runs.slice(0, 5).map(([a, b]) => (a === b ? clock(a) : `${clock(a)}–${clock(b)}`));
  return `${shown.join(', ')}${runs.length > 5 ? ` and ${runs.length - 5} more` : ''}`;
}

const ms = (n: number) => `${count(Math.round(n))} ms`;

const MINUTE_EXPECTED = `a row in ${TABLE} for every second of the last minute, and a p99 of received − sent (from the rows) under ${ms(P99_BOUND_MS)}`;

/** The last check's words: what the minute holds against what it should. */
export function minuteResult(f: MinuteFinding): CheckResult {
  const expected = MINUTE_EXPECTED;
  const span = `${clock(f.from)}–${clock(f.to)} UTC`;
  if (f.rows === 0) {
    const found = `${TABLE} has no row sent in the last minute (${span}): are the replay and \`pbx run ${PIPELINE}\` running?`;
    return { ok: false, expected, found };
  }
  const latency = f.p99 === undefined ? undefined : `received − sent p50 ${ms(f.p50!)}, p99 ${ms(f.p99)}`;
  const problems = [
    ...(f.missing.length > 0
      ? [`no row for ${f.missing.length} of its ${MINUTE_SECONDS} seconds: ${secondsText(f.missing)}`]
      : []),
    ...(f.unstamped > 0 ? [`${plural(f.unstamped, 'row')} with no received time`] : []),
    ...(latency && f.p99! >= P99_BOUND_MS ? [`${latency}, not under ${ms(P99_BOUND_MS)}`] : []),
  ];
  if (problems.length > 0) return { ok: false, expected, found: `${TABLE}, ${span}: ${problems.join('; ')}` };
  return {
    ok: true,
    expected,
    found: `${TABLE} has a row for each of the last ${MINUTE_SECONDS} seconds (${span}); ${latency ?? ''}`,
  };
}

/** The rows sent after `since`, with their stamps. */
async function rowsSince({ services }: StepContext, since: number): Promise<Stamped[]> {
  const rows = await services.query(`SELECT sent, received FROM ${TABLE} WHERE sent > ? ALLOW FILTERING`, [
    new Date(since),
  ]);
  return rows.map((r) => ({
    sent: (r.sent as Date).getTime(),
    received: (r.received as Date | null)?.getTime() ?? NaN,
  }));
}

async function stackCheck({ services }: StepContext): Promise<CheckResult> {
  const expected = `Kafka with the topic ${TOPIC}, Cassandra with the table ${TABLE}`;
  if ((await services.topicRecords(TOPIC)) === undefined)
    return { ok: false, expected, found: `Kafka answers but has no topic ${TOPIC}` };
  const tables = await services.query("SELECT table_name FROM system_schema.tables WHERE keyspace_name = 'metrics'");
  if (!tables.some((t) => t.table_name === 'vmstat'))
    return { ok: false, expected, found: `Cassandra has no ${TABLE}` };
  return { ok: true, expected, found: `Kafka has ${TOPIC}; Cassandra has ${TABLE}` };
}

async function pipelineCheck({ services }: StepContext): Promise<CheckResult> {
  const members = await services.groupMembers(`pbx-${PIPELINE}`);
  return {
    ok: members > 0,
    expected: `the pipeline ${PIPELINE} running: a member in its consumer group pbx-${PIPELINE}`,
    found: `pbx-${PIPELINE} has ${plural(members, 'member')}${members > 0 ? ', waiting for lines' : ''}`,
  };
}

/** Why no row arrives, from the lines in the topic and how many there were at the check before (in `memo`). */
async function noRowsFinding({ services, memo }: StepContext, now: number): Promise<string> {
  const lines = (await services.topicRecords(TOPIC)) ?? 0;
  const before = memo.get(TOPIC) as { lines: number; at: number } | undefined;
  memo.set(TOPIC, { lines, at: now });
  const held = `${TOPIC} holds ${plural(lines, 'line')}`;
  const noRow = `${TABLE} has no row sent in the last ${RECENT_MS / SECOND_MS} s`;
  if (lines === 0)
    return `${TOPIC} holds no line: is the replay running? (\`${SOURCE}\` by itself prints a line a second)`;
  if (before === undefined) return `${held}, and ${noRow}: are the replay and \`pbx run ${PIPELINE}\` running?`;
  if (lines === before.lines) {
    const since = ((now - before.at) / SECOND_MS).toFixed(1);
    return `${held}, none new in the last ${since} s: is the replay running? (\`${SOURCE}\` by itself prints a line a second)`;
  }
  return `${TOPIC} grows (${plural(lines, 'line')}), but ${noRow}: is \`pbx run ${PIPELINE}\` running, writing rows?`;
}

async function flowingCheck(context: StepContext): Promise<CheckResult> {
  const expected = `rows arriving in ${TABLE} a second apart, the newest sent less than ${FRESH_MS / SECOND_MS} s ago`;
  const now = Date.now();
  const rows = await rowsSince(context, now - RECENT_MS);
  if (rows.length === 0) return { ok: false, expected, found: await noRowsFinding(context, now) };
  const newest = rows.reduce((a, r) => (r.sent > a.sent ? r : a));
  const age = now - newest.sent;
  const stamp = Number.isFinite(newest.received)
    ? `received ${ms(newest.received - newest.sent)} after it was sent`
    : 'with no received time';
  return {
    ok: rows.length >= RECENT_ROWS && age < FRESH_MS && Number.isFinite(newest.received),
    expected,
    found: `${TABLE} holds ${plural(rows.length, 'row')} sent in the last ${RECENT_MS / SECOND_MS} s, the newest ${(age / SECOND_MS).toFixed(1)} s ago, ${stamp}`,
  };
}

async function topCheck({ services }: StepContext): Promise<CheckResult> {
  const expected = `pbx top to show the pipeline ${PIPELINE} with its end-to-end latency`;
  const snapshot = await services.top();
  if (!snapshot.kafka.up) return { ok: false, expected, found: `pbx top finds Kafka down (${snapshot.kafka.error})` };
  const replicas = snapshot.pipelines.filter((p) => p.pipeline === PIPELINE);
  if (replicas.length === 0) {
    const shown = [...new Set(snapshot.pipelines.map((p) => p.pipeline))];
    const why = snapshot.figuresError ? ` (${snapshot.figuresError})` : '';
    const found = `pbx top shows ${shown.length > 0 ? `the pipelines ${shown.join(', ')}` : 'no pipeline'}${why}: is \`pbx run ${PIPELINE}\` running?`;
    return { ok: false, expected, found };
  }
  // Percentiles of several replicas cannot be merged: the slowest one's, as pbx top's panel shows.
  const slowest = replicas.reduce((a, r) => (r.endToEnd.run.p99 > a.endToEnd.run.p99 ? r : a));
  const { run, lastSecond } = slowest.endToEnd;
  if (run.count === 0)
    return { ok: false, expected, found: `pbx top shows ${PIPELINE} ${slowest.status}, with no row written yet` };
  const second =
    lastSecond.count > 0 ? `${[lastSecond.p50, lastSecond.p95, lastSecond.p99].map(Math.round).join('/')} ms` : '–';
  return {
    ok: true,
    expected,
    found: `pbx top shows ${PIPELINE}: E2E P50/P95/P99 ${second} in its last second; p99 ${ms(run.p99)} over its ${plural(run.count, 'row')}`,
  };
}

export const systemMetrics: Tutorial = {
  name: 'system-metrics',
  title: 'Live system metrics and their latency',
  after: 'the streaming demo',
  summary:
    'vmstat, a line a second, through Kafka and a pipeline that stamps each into Cassandra; the latency in pbx top.',
  minutes: 10,
  projectFiles: ['pbx.yaml', 'schema.cql', 'README.md'],
  steps: [
    {
      id: 'stack',
      title: 'The stack',
      teaches:
        'The streaming demo had five stages, a container each: an input, Kafka, a processor, Cassandra and a display. Here the input is a command, the processor a pipeline module, the display `pbx top`; `pbx up` starts Kafka (KRaft, no ZooKeeper) and Cassandra with the table metrics.vmstat: per line, when it was sent and when it was received.',
      todo: ['$ pbx up'],
      expects: `Kafka with the topic ${TOPIC}, Cassandra with the table ${TABLE}`,
      check: withSchema(stackCheck, `the table ${TABLE} of schema.cql`),
      hint: 'Run `pbx up` where pbx.yaml is; schema.cql is applied once Cassandra answers.',
      solution: [{ kind: 'run', argv: ['up'] }],
      solveTimeoutMs: 60_000,
    },
    {
      id: 'stamp',
      title: 'A pipeline that stamps each line',
      teaches:
        'A record in Kafka carries its create time: when the replay sent it. The pipeline adds the time it received it, and writes both with a few of vmstat’s figures as a row of metrics.vmstat: received − sent is the time from the source to the processor. Start it first: it waits for lines, so the first ones are not read late.',
      todo: ['write pipelines/stamp.ts', '$ pbx run stamp   (leave it running)'],
      starters: { 'pipelines/stamp.ts': 'starters/pipelines/stamp.ts' },
      expects: `the pipeline ${PIPELINE} running`,
      check: pipelineCheck,
      hint: ".filter((line) => /^[\\s\\d]+$/.test(line)).map((line, record) => ({ host: hostname(), sent: record.timestamp, received: Date.now(), … })).to(cassandra('metrics.vmstat')). `pbx run stamp --check` checks the module without running it.",
      solution: [
        { kind: 'write', path: 'pipelines/stamp.ts', from: 'solution/pipelines/stamp.ts' },
        { kind: 'start', name: 'stamp pipeline', argv: ['run', PIPELINE] },
      ],
    },
    {
      id: 'source',
      title: 'The host’s figures, a line a second',
      teaches:
        '`pbx replay --exec` replays a command’s output as it comes: each line vmstat prints (processes, memory, swap, I/O, CPU) is a record, sent the moment it is read. `--format lines` takes a line as it is, not as JSON. Stopping the replay stops vmstat too.',
      todo: [describeAction(REPLAY)],
      expects: `rows arriving in ${TABLE} a second apart`,
      check: flowingCheck,
      hint: `Run \`${SOURCE}\` by itself first: a line a second (vmstat comes with procps). No row while ${TOPIC} fills? \`pbx run ${PIPELINE}\` says what it wrote; \`.pbx/tutorial.log\` holds the output of commands the tutorial ran for you.`,
      solution: [REPLAY],
      solveTimeoutMs: 20_000,
    },
    {
      id: 'top',
      title: 'The latency, live in pbx top',
      teaches:
        'Every pipeline publishes its figures once a second, and `pbx top` shows them: in the PIPELINES panel, stamp’s E2E P50/P95/P99 is the time from a line’s Kafka create time to Cassandra’s acknowledgement of its row (the row’s own stamps stop at the pipeline). At a line a second, each second’s figures are one line’s; Enter opens the pipeline, per operator and per sink. The VMSTAT topic’s sparkline shows its one record a second.',
      todo: ['$ pbx top   (in another terminal: Tab to PIPELINES; q quits)'],
      expects: `pbx top to show ${PIPELINE}’s end-to-end latency`,
      check: topCheck,
      hint: '`pbx top --json` prints one snapshot: .pipelines[].endToEnd holds the latency, over the last second and over the run.',
      solution: [{ kind: 'run', argv: ['top', '--json'] }],
      solveTimeoutMs: 30_000,
    },
    {
      id: 'minute',
      title: 'A minute, every second',
      teaches: `The last check reads the rows of the last minute back from Cassandra: a row for every one of its sixty seconds (the source’s seconds: vmstat keeps its own beat), and the p99 of received − sent computed from the rows, under ${ms(P99_BOUND_MS)}: a line a second must be stamped before the next is sent. Stop the replay for a few seconds and start it again to see the check name the seconds missing.`,
      todo: ['leave the replay and the pipeline running for a minute'],
      expects: MINUTE_EXPECTED,
      check: async (context) => {
        const now = Date.now();
        return minuteResult(
          lastMinute(await rowsSince(context, now - GRACE_MS - (MINUTE_SECONDS + 2) * SECOND_MS), now),
        );
      },
      hint: 'Missing seconds at the end: the replay or the pipeline stopped (is each still running?). In the middle: one of them stopped for a while. A p99 over the bound: the pipeline falls behind (`pbx top` shows its lag).',
      solution: [],
      solveTimeoutMs: 120_000,
    },
  ],
};
