// A pipeline's figures: the latency histogram against exact percentiles, rates between snapshots, and the table a
// reader keeps of each replica's latest snapshot.
import { describe, expect, it } from 'vitest';
import { Figures, FIGURES_SCHEMA, type PipelineFigures } from '../../src/pipelines/runtime/figures';
import { figuresKey, FiguresTable, parseFigures, type ReplayFigures } from '../../src/pipelines/runtime/figures-topic';
import { Histogram, type Percentiles } from '../../src/pipelines/runtime/histogram';

/** A seeded generator (mulberry32): the same samples at every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Percentiles to two significant digits: the histogram reports the middle of a bucket, within 0.4% of its values. */
const rounded = (p: Percentiles) =>
  Object.fromEntries(Object.entries(p).map(([k, v]) => [k, k === 'count' ? v : Number(v.toPrecision(2))]));

/** The nearest-rank percentile of `sorted`, computed without the histogram. */
const exact = (sorted: number[], q: number) => sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;

describe('the latency histogram', () => {
  const distributions: Array<[string, (r: () => number) => number]> = [
    // Latencies as pipelines have them: most a few ms, a long tail (log-normal), in whole ms (Kafka timestamps).
    [
      'log-normal whole ms',
      (r) => Math.round(Math.exp(2 + 1.2 * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(6.283185 * r()))),
    ],
    ['uniform 0–5 ms, in µs', (r) => Math.round(r() * 5000) / 1000],
    ['uniform 0–10 min', (r) => r() * 600_000],
    ['exponential, mean 40 ms', (r) => -40 * Math.log(1 - r())],
    ['uniform 30 min–3 h (beyond 2^31 µs)', (r) => 1_800_000 + r() * 9_000_000],
  ];

  it.each(distributions)('gives p50, p95, p99 within 1%% of the exact ones: %s', (_name, draw) => {
    for (const seed of [1, 2, 3]) {
      const r = random(seed);
      const histogram = new Histogram();
      const samples = Array.from({ length: 20_000 }, () => draw(r));
      for (const sample of samples) histogram.record(sample);
      const sorted = samples.map((s) => Math.round(s * 1000) / 1000).sort((a, b) => a - b);
      const got = histogram.percentiles();
      expect(got.count).toBe(samples.length);
      expect(got.max).toBe(sorted.at(-1));
      for (const [q, value] of [
        [0.5, got.p50],
        [0.95, got.p95],
        [0.99, got.p99],
      ] as const) {
        const want = exact(sorted, q);
        expect(Math.abs(value - want), `p${q * 100}: ${value} vs ${want}`).toBeLessThanOrEqual(want * 0.01 + 0.001);
      }
    }
  });

  it('is exact below 256 µs, and counts a negative latency (clocks that disagree) as 0', () => {
    const histogram = new Histogram();
    for (const ms of [0.001, 0.002, 0.1, 0.255, -5]) histogram.record(ms);
    expect(histogram.quantiles([0.2, 0.4, 0.6, 0.8, 1])).toEqual([0, 0.001, 0.002, 0.1, 0.255]);
  });

  it('gives zeros when empty, and starts again after clear()', () => {
    const histogram = new Histogram();
    expect(histogram.percentiles()).toEqual({ count: 0, p50: 0, p95: 0, p99: 0, max: 0 });
    histogram.record(12);
    histogram.clear();
    histogram.record(3);
    expect(histogram.percentiles()).toEqual({ count: 1, p50: 3, p95: 3, p99: 3, max: 3 });
  });

  it('adds another histogram: the percentiles of both sets of values', () => {
    const a = new Histogram();
    const b = new Histogram();
    for (let i = 1; i <= 50; i++) a.record(i);
    for (let i = 51; i <= 100; i++) b.record(i);
    a.add(b);
    expect(rounded(a.percentiles())).toEqual({ count: 100, p50: 50, p95: 95, p99: 99, max: 100 });
  });

  it('keeps values beyond its range in its last bucket', () => {
    const histogram = new Histogram();
    histogram.record(1e12); // 31 years
    expect(histogram.percentiles().p50).toBeGreaterThan(1e9 * 0.99);
  });
});

describe('a replica’s figures', () => {
  const options = {
    pipeline: 'reviews',
    replica: '1',
    operators: ['filter', 'keyBy', 'tumbling count'],
    host: 'h',
    pid: 7,
  };

  it('gives per-second rates between two snapshots, and totals since the start', () => {
    const figures = new Figures({ ...options, startedAt: 10_000 });
    figures.consumed(500);
    figures.operator(0).in(500);
    figures.operator(0).out(400);
    figures.operator(0).error(2);
    const first = figures.snapshot(12_000); // 2 s after the start
    expect(first.intervalMs).toBe(2000);
    expect(first.consumed).toEqual({ total: 500, perSecond: 250 });
    expect(first.operators[0]).toEqual({
      index: 0,
      label: 'filter',
      in: { total: 500, perSecond: 250 },
      out: { total: 400, perSecond: 200 },
      errors: { total: 2, perSecond: 1 },
    });
    figures.consumed(100);
    figures.operator(0).in(100);
    const second = figures.snapshot(12_500);
    expect(second.consumed).toEqual({ total: 600, perSecond: 200 });
    expect(second.operators[0]!.out).toEqual({ total: 400, perSecond: 0 });
    expect(second.operators[2]!.label).toBe('tumbling count');
  });

  it('snapshots plain, versioned JSON that names the replica', () => {
    const figures = new Figures({ ...options, startedAt: 0 });
    const snapshot = figures.snapshot(1000);
    expect(snapshot).toMatchObject({ schema: FIGURES_SCHEMA, pipeline: 'reviews', replica: '1', host: 'h', pid: 7 });
    expect(snapshot).toMatchObject({ time: 1000, startedAt: 0, status: 'running' });
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
  });

  it('keeps sink writes, errors and latency, end-to-end latency over the last second and the run', () => {
    const figures = new Figures({ ...options, startedAt: 0 });
    const sink = figures.sink('cassandra reviews.per_hour');
    expect(figures.sink('cassandra reviews.per_hour')).toBe(sink);
    sink.written(10, 4);
    sink.written(10, 6);
    sink.error();
    for (let i = 1; i <= 100; i++) figures.endToEnd(5000, 5000 + i);
    const first = figures.snapshot(1000);
    const [written] = first.sinks;
    expect(first.sinks).toHaveLength(1);
    expect(written).toMatchObject({
      name: 'cassandra reviews.per_hour',
      writes: { total: 20, perSecond: 20 },
      errors: { total: 1, perSecond: 1 },
    });
    expect(rounded(written!.latency.lastSecond)).toEqual({ count: 2, p50: 4, p95: 6, p99: 6, max: 6 });
    expect(rounded(written!.latency.run)).toEqual(rounded(written!.latency.lastSecond));
    expect(rounded(first.endToEnd.lastSecond)).toEqual({ count: 100, p50: 50, p95: 95, p99: 99, max: 100 });
    figures.endToEnd(0, 1000);
    const second = figures.snapshot(2000);
    expect(rounded(second.endToEnd.lastSecond)).toEqual({ count: 1, p50: 1000, p95: 1000, p99: 1000, max: 1000 });
    expect(rounded(second.endToEnd.run)).toMatchObject({ count: 101, p50: 51, max: 1000 });
    expect(second.sinks[0]!.latency.lastSecond.count).toBe(0);
  });

  it('keeps the lag and state of the partitions it reads, until a rebalance takes them', () => {
    const figures = new Figures(options);
    figures.lag('reviews', 0, '90', '100');
    figures.lag('reviews', 1, 5, 5);
    figures.lag('reviews', 0, '95', '100');
    figures.state('pbx-reviews-repartition', 0, 40);
    figures.state('pbx-reviews-repartition', 1, 2);
    expect(figures.snapshot()).toMatchObject({
      lag: [
        { topic: 'reviews', partition: 0, lag: 5 },
        { topic: 'reviews', partition: 1, lag: 0 },
      ],
      stateKeys: 42,
    });
    figures.revoked('reviews', 0);
    figures.revoked('pbx-reviews-repartition', 1);
    expect(figures.snapshot()).toMatchObject({ lag: [{ topic: 'reviews', partition: 1, lag: 0 }], stateKeys: 40 });
  });

  it('says when a sink is down and since when, then running again, and stopping', () => {
    const figures = new Figures(options);
    figures.sinkDown('redis json', 1000);
    figures.sinkDown('redis json', 2000); // still the same outage
    expect(figures.snapshot(3000)).toMatchObject({ status: 'retrying', sinkDown: { name: 'redis json', since: 1000 } });
    figures.sinkUp('redis json');
    expect(figures.snapshot(4000).status).toBe('running');
    expect(figures.snapshot(4000).sinkDown).toBeUndefined();
    figures.stopping();
    expect(figures.snapshot(5000).status).toBe('stopping');
  });

  it('refuses a step it was not given', () => {
    expect(() => new Figures(options).operator(3)).toThrow(/no step 3/);
  });
});

describe('the latest figures of each replica', () => {
  const snapshot = (replica: string, time: number, pipeline = 'reviews') =>
    new Figures({ pipeline, replica, operators: [] }).snapshot(time);
  const put = (table: FiguresTable, f: PipelineFigures, readAt: number) =>
    table.apply(`${f.pipeline}/${f.replica}`, JSON.stringify(f), readAt);

  it('keeps the last snapshot read of each replica, drops one that left (a tombstone) or went silent', () => {
    const table = new FiguresTable();
    put(table, snapshot('0', 1000), 1000);
    put(table, snapshot('0', 900), 2000); // a restarted replica on a machine whose clock is behind: still the last
    put(table, snapshot('10', 3000), 3000);
    put(table, snapshot('2', 3000), 3000);
    put(table, snapshot('1', 500), 500);
    put(table, snapshot('0', 3000, 'words'), 3000);
    expect(table.replicas(4000, 3000).map((f) => `${f.pipeline}/${f.replica}@${f.time}`)).toEqual([
      'reviews/0@900',
      'reviews/2@3000',
      'reviews/10@3000',
      'words/0@3000',
    ]);
    expect(table.replicas(4000, 5000, 'reviews').map((f) => f.replica)).toEqual(['0', '1', '2', '10']);
    table.apply('reviews/2', null, 4000);
    table.apply('reviews/10', 'not a snapshot', 4000); // skipped: the last snapshot stays
    expect(table.replicas(4000, 3000, 'reviews').map((f) => f.replica)).toEqual(['0', '10']);
  });

  it("keeps replays' figures beside the pipelines', each dropped by its tombstone or when silent", () => {
    const table = new FiguresTable();
    const replay = (id: string, time: number): ReplayFigures => ({
      schema: FIGURES_SCHEMA,
      kind: 'replay',
      id,
      topic: 't',
      source: 'data.json',
      targetRate: 500,
      achievedRate: 499.5,
      sent: 1000,
      total: null,
      startedAt: time - 2000,
      time,
    });
    for (const [f, readAt] of [
      [replay('a/1', 1000), 1000],
      [replay('b/2', 3000), 3000],
    ] as const) {
      table.apply(figuresKey(f), JSON.stringify(f), readAt);
    }
    put(table, snapshot('0', 3000), 3000);
    expect(table.replays(4000, 5000).map((r) => r.id)).toEqual(['a/1', 'b/2']);
    expect(table.replays(4000, 2000).map((r) => r.id)).toEqual(['b/2']);
    expect(table.replicas(4000, 5000).map((f) => f.replica)).toEqual(['0']);
    table.apply('replay/b/2', null, 4000);
    expect(table.replays(4000, 5000).map((r) => r.id)).toEqual(['a/1']);
    expect(parseFigures(JSON.stringify({ ...replay('c/3', 1), id: 3 }))).toBeUndefined();
    expect(parseFigures(JSON.stringify({ ...replay('c/3', 1), kind: 'other' }))).toBeUndefined();
  });

  it('skips what is not a snapshot of its schema', () => {
    expect(parseFigures('not json')).toBeUndefined();
    expect(parseFigures('null')).toBeUndefined();
    expect(parseFigures(JSON.stringify({ ...snapshot('0', 1), schema: 2 }))).toBeUndefined();
    expect(parseFigures(JSON.stringify(snapshot('0', 1)))).toMatchObject({ replica: '0' });
  });
});
