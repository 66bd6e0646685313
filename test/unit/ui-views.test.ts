// Each command's view is props in, text out: the same text is the plain line and the terminal's live region.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { stripAnsi } from '../../src/cli/errors';
import { makeStyler, Output } from '../../src/cli/output';
import { Figures, type PipelineFigures } from '../../src/pipelines/runtime/figures';
import { ReplayStats } from '../../src/replay/stats';
import type { StatusResult } from '../../src/stack/status';
import { startLiveView } from '../../src/ui/live-view';
import { lagText, pipelineLine, pipelineTable, pipelineView } from '../../src/ui/pipeline-view';
import { replayLine, replayProgress } from '../../src/ui/replay-line';
import { stackProgress } from '../../src/ui/stack-progress';
import { statusTable, statusWatch } from '../../src/ui/status-view';
import { capture, FakeTerminal } from '../support/terminal';

// Ink reads CI when it loads, lazily inside startLiveView, and in a CI draws only the last frame: these tests are
// of a terminal's frames wherever they run (pbx itself never picks Ink in a CI: output.ts).
delete process.env.CI;
delete process.env.CONTINUOUS_INTEGRATION;

const plain = makeStyler(false);

afterEach(() => vi.useRealTimers());

describe('the replay view', () => {
  const props = {
    topic: 'reviews',
    sent: 120,
    skipped: 0,
    deadLettered: 0,
    elapsedMs: 60_000,
    target: 'target 2.00/s',
    currentRate: 2,
  };

  it('says the rate against its target, what was sent, how long it has run and how long is left', () => {
    expect(replayLine({ ...props, etaSeconds: 30 }, plain)).toBe(
      'replay → reviews: 2.00/s (target 2.00/s) · sent 120 · elapsed 1 min 0 s · ETA 30.0 s',
    );
  });

  it('names skipped and dead-lettered records only when there are some', () => {
    expect(replayLine({ ...props, skipped: 3, deadLettered: 1 }, plain)).toBe(
      'replay → reviews: 2.00/s (target 2.00/s) · sent 120 · skipped 3 · dead-lettered 1 · elapsed 1 min 0 s',
    );
  });

  it('is coloured by the styler it is given, not by the renderer', () => {
    const line = replayLine({ ...props, skipped: 3 }, makeStyler(true));
    expect(line).toContain('\u001B[1mreplay → reviews\u001B[22m');
    expect(line).toContain('sent \u001B[32m120\u001B[39m');
    expect(line).toContain('\u001B[33mskipped 3\u001B[39m');
  });

  it('without a terminal, writes its first line after 5 s, when there is a rate to show, then every 5 s', async () => {
    vi.useFakeTimers({ now: 0 });
    const err = capture();
    const stats = new ReplayStats(0, { kind: 'rate', perSecond: 2 });
    const view = await startLiveView(new Output('plain', false, capture().stream, err.stream), replayProgress('t'));
    for (let at = 0; at <= 11_000; at += 250) {
      vi.setSystemTime(at);
      if (at % 500 === 0 && at > 0) {
        stats.queuedAt(at);
        stats.delivered(1, at);
      }
      view.update(stats);
    }
    await view.stop();
    expect(err.text().split('\n').filter(Boolean)).toEqual([
      'replay → t: 2.22/s (target 2.00/s) · sent 10 · elapsed 5.0 s', // 10 records in the 4.5 s since the first
      'replay → t: 2.00/s (target 2.00/s) · sent 20 · elapsed 10.0 s',
    ]);
  });
});

describe('the status view', () => {
  const result: StatusResult = {
    project: 'demo',
    ready: false,
    services: [
      {
        service: 'redis',
        node: 'redis',
        state: 'running',
        ready: true,
        check: 'PONG',
        endpoint: { addresses: ['127.0.0.1:6379'], url: 'redis://127.0.0.1:6379' },
        image: 'redis:7',
        uptimeMs: 65_000,
        restarts: { count: 0 },
      },
      {
        service: 'cassandra',
        node: 'cassandra',
        state: 'running',
        ready: true,
        check: 'Cassandra 5.0.4',
        endpoint: { addresses: ['127.0.0.1:9042'], url: 'cassandra://127.0.0.1:9042' },
        image: 'cassandra:5',
        uptimeMs: 12_000,
        restarts: {
          count: 2,
          lastAt: '2026-01-01T12:00:00Z',
          sinceLastMs: 12_000,
          lastExit: { at: '2026-01-01T11:59:59Z', code: 137, oomKilled: true },
        },
      },
      {
        service: 'kafka',
        node: 'kafka',
        state: 'missing',
        ready: false,
        check: 'not started (pbx up)',
        endpoint: { addresses: ['127.0.0.1:9092'], url: 'kafka://127.0.0.1:9092' },
      },
    ],
  } as StatusResult;

  it('is a table of each service', () => {
    expect(statusTable(result, plain).split('\n')).toEqual([
      'SERVICE    STATE    READY  ENDPOINT        UPTIME     RESTARTS                                 IMAGE        CHECK',
      'redis      running  yes    127.0.0.1:6379  1 min 5 s  0                                        redis:7      PONG',
      'cassandra  running  yes    127.0.0.1:9042  12.0 s     2 (12.0 s ago: exit 137, out of memory)  cassandra:5  Cassandra 5.0.4',
      'kafka      missing  no     127.0.0.1:9092                                                                   not started (pbx up)',
    ]);
  });

  it('with --watch and no terminal, writes every frame to stdout under the time it was taken', async () => {
    const out = capture();
    const err = capture();
    const view = await startLiveView(new Output('plain', false, out.stream, err.stream), statusWatch(2000));
    const takenAt = new Date(2026, 0, 1, 12, 30, 5);
    view.update({ project: 'demo', result, takenAt });
    view.update({ project: 'demo', result, takenAt: new Date(takenAt.getTime() + 2000) });
    await view.stop();
    const lines = out.text().split('\n');
    expect(lines.filter((l) => l.startsWith('demo at '))).toEqual([
      'demo at 12:30:05, every 2 s (Ctrl-C stops)',
      'demo at 12:30:07, every 2 s (Ctrl-C stops)',
    ]);
    expect(lines.filter((l) => l.startsWith('SERVICE'))).toHaveLength(2);
    expect(out.text()).not.toContain('\u001B['); // no screen clearing in a pipe
    expect(err.text()).toBe('');
  });
});

describe('the up view', () => {
  it('without a terminal, writes a line on stderr for each change of a service, with the time since the start', async () => {
    vi.useFakeTimers({ now: 0 });
    const out = capture();
    const err = capture();
    const view = await startLiveView(
      new Output('plain', false, out.stream, err.stream),
      stackProgress(['zookeeper', 'redis']),
    );
    vi.setSystemTime(1200);
    view.update({ service: 'redis', phase: 'waiting', detail: 'PING' });
    vi.setSystemTime(2500);
    view.update({ service: 'redis', phase: 'ready' });
    await view.stop();
    expect(err.text()).toBe('[  1.2 s] redis      waiting for a protocol answer: PING\n[  2.5 s] redis      ready\n');
    expect(out.text()).toBe('');
  });

  it('on a terminal, draws a listr2 tree on stderr, each service ending as it ended, and notes under it', async () => {
    const terminal = new FakeTerminal(100, 30);
    const out = capture();
    const view = await startLiveView(
      new Output('tty', false, out.stream, terminal.stream),
      stackProgress(['redis', 'kafka']),
    );
    view.update({ service: 'redis', phase: 'waiting', detail: 'PING' });
    view.update({ service: 'redis', phase: 'ready' });
    view.note('a note');
    await view.stop();
    const frames = stripAnsi(terminal.text);
    expect(frames).toMatch(/✔ redis: ready \(\d+(\.\d)? m?s\)/);
    expect(frames).toContain('kafka: not started'); // never began: said so when the view ends
    expect(frames.lastIndexOf('a note')).toBeGreaterThan(frames.lastIndexOf('redis: ready'));
    expect(out.text()).toBe('');
  });
});

describe('the pipeline view', () => {
  /** A replica 12 s into its run: `scale` times the records of replica 0, its sink down since the start. */
  function replica(id: number, scale: number, options: { down?: boolean } = {}): PipelineFigures {
    const f = new Figures({
      pipeline: 'reviews-per-hour',
      replica: String(id),
      operators: ['filter', 'keyBy', 'tumbling count'],
      host: `host-${id}`,
      pid: 100 + id,
      startedAt: 0,
    });
    f.consumed(1200 * scale);
    f.operator(0).in(1200 * scale);
    f.operator(0).out(1000 * scale);
    f.operator(0).error(3);
    f.operator(1).in(1000 * scale);
    f.operator(1).out(1000 * scale);
    f.operator(2).in(1000 * scale);
    f.operator(2).out(12 * scale);
    f.sink('cassandra reviews.per_hour').written(12 * scale, 3.1);
    for (let i = 1; i <= 100; i++) f.endToEnd(0, i * scale);
    for (let p = 0; p < 3; p++) f.lag('movie_reviews', p + id * 3, 0, 10 * p * scale);
    f.state('pbx-reviews-per-hour-repartition', id, 5000);
    if (options.down) f.sinkDown('cassandra reviews.per_hour', 0);
    return f.snapshot(12_000);
  }

  it('shows one replica’s steps, sinks, lag per partition and end-to-end latency, within 80 columns', () => {
    const lines = pipelineTable([replica(0, 1)], plain).split('\n');
    expect(lines).toEqual([
      'reviews-per-hour running · read 100/s · 5,000 keys',
      'STEP              IN/S  OUT/S  ERRORS/S (TOTAL)',
      '0 filter          100   83.3   0.25 (3)',
      '1 keyBy           83.3  83.3   0',
      '2 tumbling count  83.3  1.00   0',
      'SINK                        WRITES/S  P50     P99     ERRORS/S (TOTAL)',
      'cassandra reviews.per_hour  1.00      3.1 ms  3.1 ms  0',
      'LAG  movie_reviews/0 0 · movie_reviews/1 10 · movie_reviews/2 20',
      'END TO END  p50 50 ms · p95 95 ms · p99 99 ms',
    ]);
  });

  it('sums several replicas, names the worst partition, gives each replica its latency, and says a sink is down', () => {
    const lines = pipelineTable([replica(0, 1, { down: true }), replica(1, 2)], plain).split('\n');
    expect(lines).toEqual([
      'reviews-per-hour retrying · 2 replicas · read 300/s · 10,000 keys',
      'STEP              IN/S  OUT/S  ERRORS/S (TOTAL)',
      '0 filter          300   250    0.50 (6)',
      '1 keyBy           250   250    0',
      '2 tumbling count  250   3.00   0',
      'SINK                        WRITES/S  P50     P99     ERRORS/S (TOTAL)',
      'cassandra reviews.per_hour  3.00      3.1 ms  3.1 ms  0',
      'retrying: cassandra reviews.per_hour down for 12.0 s; nothing committed past it',
      'LAG  90 over 6 partitions, most on movie_reviews/5: 40',
      'REPLICA       READ/S  LAG  END TO END P50/P95/P99    STATUS',
      '0 host-0:100  100     30   50 ms / 95 ms / 99 ms     retrying',
      '1 host-1:101  200     60   100 ms / 190 ms / 198 ms  running',
    ]);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('cuts long step and sink names to keep within 80 columns', () => {
    const f = new Figures({ pipeline: 'p', replica: '0', operators: ['x'.repeat(60)], startedAt: 0 });
    f.sink(`cassandra ${'k'.repeat(40)}.${'t'.repeat(40)}`).written(1_000_000, 12_345);
    f.operator(0).error(1_000_000);
    for (const line of pipelineTable([f.snapshot(1000)], plain).split('\n')) {
      expect(line.length).toBeLessThanOrEqual(80);
    }
  });

  it('lists up to four partitions, then sums them and names the one most behind', () => {
    const lag = (n: number) => Array.from({ length: n }, (_, i) => ({ topic: 't', partition: i, lag: i * 10 }));
    expect(lagText([])).toBe('no partition assigned');
    expect(lagText(lag(4))).toBe('t/0 0 · t/1 10 · t/2 20 · t/3 30');
    expect(lagText(lag(12))).toBe('660 over 12 partitions, most on t/11: 110');
    expect(lagText(lag(12).map((p) => ({ ...p, lag: 0 })))).toBe('0 over 12 partitions');
  });

  it('as a plain line: rates, lag, end-to-end latency (the slowest replica’s), a sink being retried', () => {
    expect(pipelineLine([replica(0, 1)], plain)).toBe(
      'reviews-per-hour: read 100/s · written 1.00/s · errors 0.25/s · lag 30 · end to end p50/p95/p99 50 ms / 95 ms / 99 ms',
    );
    expect(pipelineLine([replica(0, 1), replica(1, 2, { down: true })], plain)).toBe(
      'reviews-per-hour (2 replicas): read 300/s · written 3.00/s · errors 0.50/s · lag 90 · end to end p50/p95/p99 100 ms / 190 ms / 198 ms (slowest replica) · retrying: cassandra reviews.per_hour down for 12.0 s',
    );
  });

  it('without a terminal, writes the plain line every 5 s; on a terminal, draws the table', async () => {
    vi.useFakeTimers({ now: 0 });
    const err = capture();
    const view = await startLiveView(
      new Output('plain', false, capture().stream, err.stream),
      pipelineView({ pipeline: 'reviews-per-hour' }),
    );
    for (let at = 1000; at <= 10_000; at += 1000) {
      vi.setSystemTime(at);
      view.update([replica(0, 1)]);
    }
    await view.stop();
    expect(err.text().split('\n').filter(Boolean)).toEqual([
      pipelineLine([replica(0, 1)], plain),
      pipelineLine([replica(0, 1)], plain),
    ]);
    vi.useRealTimers();

    const terminal = new FakeTerminal(80, 24);
    const live = await startLiveView(
      new Output('tty', false, capture().stream, terminal.stream),
      pipelineView({ pipeline: 'reviews-per-hour' }),
    );
    live.update([replica(0, 1)]);
    await live.stop();
    const frames = stripAnsi(terminal.text);
    expect(frames).toContain('2 tumbling count  83.3  1.00   0');
    expect(frames).toContain('END TO END  p50 50 ms · p95 95 ms · p99 99 ms');
  });
});
