// The system-metrics tutorial without services: the last check's reading of a minute of rows (the source's own
// seconds, jitter and drift, the seconds missing named, the p99 against its bound), what it says, and the solution's
// pipeline turning a vmstat line into a stamped row.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { StreamRecord } from '../../src/pipelines/api';
import { loadPipeline } from '../../src/pipelines/load';
import { shapeOf } from '../../src/pipelines/shape';
import { describeAction } from '../../src/tutorials/actions';
import { findTutorial } from '../../src/tutorials/catalog';
import { tutorialFile } from '../../src/tutorials/files';
import { P99_BOUND_MS, lastMinute, minuteResult, secondsText, type Stamped } from '../../src/tutorials/system-metrics';

const tutorial = findTutorial('system-metrics')!;
const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** 07:51:00.000 UTC on the day of this session. */
const T0 = Date.UTC(2026, 11, 2, 7, 51, 0);
/** Now: 80 s after T0, so the minute checked (ending a second before now) is T0+19 s … T0+78 s. */
const NOW = T0 + 80_000;

/** A source that sends a line every `period` ms from T0 + phase, `latency` ms to the pipeline; jitter per row. */
function rows(options: { phase: number; period?: number; latency?: number; jitter?: (i: number) => number }) {
  const { phase, period = 1000, latency = 20, jitter = () => 0 } = options;
  const result: Stamped[] = [];
  for (let i = 0; T0 + phase + i * period + jitter(i) < NOW; i++) {
    const sent = Math.round(T0 + phase + i * period + jitter(i));
    result.push({ sent, received: sent + latency });
  }
  return result;
}

/** Deterministic jitter in [-amplitude, amplitude]. */
const jitter = (amplitude: number) => (i: number) => Math.round(amplitude * Math.sin(i * 12.9898));

describe("the last check's minute", () => {
  it('holds a row for each second of a source a second apart, whatever its phase, jitter or drift', () => {
    const sources = [
      rows({ phase: 437 }),
      rows({ phase: 998, jitter: jitter(8) }), // on the clock's second boundary: its clock seconds skip and double
      rows({ phase: 3, jitter: jitter(8) }),
      rows({ phase: 250, jitter: jitter(350) }), // a replay stalled now and then
      rows({ phase: 100, period: 1001.5 }), // vmstat's drift: sleep(1) plus the time a sample takes
    ];
    for (const source of sources) {
      const minute = lastMinute(source, NOW);
      expect(minute.missing).toEqual([]);
      expect(minute.rows).toBe(60);
      expect(minute.to - minute.from).toBe(59_000);
      expect(NOW - minute.to).toBeGreaterThanOrEqual(1000);
      expect(NOW - minute.to).toBeLessThan(2000);
    }
  });

  it('names the seconds missing, in the middle and at the end, as runs of clock seconds', () => {
    const all = rows({ phase: 400 });
    const gap = all.filter((r) => r.sent < T0 + 30_000 || r.sent > T0 + 33_000); // 30.4, 31.4, 32.4 gone
    const result = minuteResult(lastMinute(gap, NOW));
    expect(result.ok).toBe(false);
    expect(result.found).toBe(
      'metrics.vmstat, 07:51:19–07:52:18 UTC: no row for 3 of its 60 seconds: 07:51:30–07:51:32',
    );
    const stopped = all.filter((r) => r.sent < T0 + 70_000);
    const ended = minuteResult(lastMinute(stopped, NOW));
    expect(ended.found).toBe(
      'metrics.vmstat, 07:51:19–07:52:18 UTC: no row for 9 of its 60 seconds: 07:52:10–07:52:18',
    );
    const holes = all.filter((_, i) => i % 3 !== 0);
    expect(minuteResult(lastMinute(holes, NOW)).found).toMatch(
      /no row for 20 of its 60 seconds: 07:51:21, 07:51:24, 07:51:27, 07:51:30, 07:51:33 and 15 more$/,
    );
  });

  it('passes with every second there and a p99 under the bound, saying both', () => {
    const result = minuteResult(lastMinute(rows({ phase: 400, latency: 35 }), NOW));
    expect(result).toEqual({
      ok: true,
      expected: `a row in metrics.vmstat for every second of the last minute, and a p99 of received − sent (from the rows) under ${P99_BOUND_MS.toLocaleString('en-US')} ms`,
      found:
        'metrics.vmstat has a row for each of the last 60 seconds (07:51:19–07:52:18 UTC); received − sent p50 35 ms, p99 35 ms',
    });
  });

  it('fails on a p99 over the bound, computed from the rows (nearest rank), and on rows with no received time', () => {
    const slow = rows({ phase: 400 }).map((r, i) => (i === 50 ? { ...r, received: r.sent + 1500 } : r));
    expect(minuteResult(lastMinute(slow, NOW))).toMatchObject({
      ok: false,
      found: 'metrics.vmstat, 07:51:19–07:52:18 UTC: received − sent p50 20 ms, p99 1,500 ms, not under 1,000 ms',
    });
    const unstamped = rows({ phase: 400 }).map((r, i) => (i === 50 ? { ...r, received: NaN } : r));
    expect(minuteResult(lastMinute(unstamped, NOW)).found).toBe(
      'metrics.vmstat, 07:51:19–07:52:18 UTC: 1 row with no received time',
    );
  });

  it('says when no row was sent in the last minute', () => {
    const old = rows({ phase: 400 }).filter((r) => r.sent < T0 + 10_000);
    expect(minuteResult(lastMinute(old, NOW))).toMatchObject({
      ok: false,
      found:
        'metrics.vmstat has no row sent in the last minute (07:51:20–07:52:19 UTC): are the replay and `pbx run stamp` running?',
    });
  });

  it('words seconds as runs', () => {
    const at = (s: number) => T0 + s * 1000 + 400;
    expect(secondsText([at(1), at(2), at(3), at(7), at(9), at(10)])).toBe(
      '07:51:01–07:51:03, 07:51:07, 07:51:09–07:51:10',
    );
  });
});

describe("the tutorial's steps", () => {
  it('show the replay as the learner types it, vmstat quoted for the shell', () => {
    const source = tutorial.steps.find((s) => s.id === 'source')!;
    expect(source.todo).toEqual(["$ pbx replay --exec 'vmstat -n 1' --topic vmstat --format lines   (left running)"]);
    expect(source.solution.map(describeAction)).toEqual(source.todo);
  });

  it('solve the stamp with a module that turns a vmstat line into a row, stamped; the starter writes nowhere yet', async () => {
    const load = async (from: string) => {
      const dir = mkdtempSync(join(tmpdir(), 'pbx-system-metrics-unit-'));
      made.push(dir);
      mkdirSync(join(dir, 'pipelines'));
      writeFileSync(join(dir, 'pipelines/stamp.ts'), tutorialFile('system-metrics', from));
      return loadPipeline('stamp', dir);
    };
    const { spec, file } = await load('solution/pipelines/stamp.ts');
    expect(shapeOf(spec, file).sinks).toEqual(['cassandra metrics.vmstat']);
    const [filter, map] = spec.steps;
    if (filter?.kind !== 'filter' || map?.kind !== 'map') throw new Error('expected a filter and a map');
    const record = { timestamp: Date.now() - 40 } as StreamRecord;
    const header = ' r  b   swpd   free   buff  cache   si   so    bi    bo   in   cs us sy id wa st';
    const line = ' 3  0      0 20134612  17912 3435524    0    0   362  3021 1121 2945 42  9 49  0  0';
    expect(await filter.fn('procs -----------memory---------- ---swap--', record)).toBe(false);
    expect(await filter.fn(header, record)).toBe(false);
    expect(await filter.fn(line, record)).toBe(true);
    const row = (await map.fn(line, record)) as Record<string, unknown>;
    expect(row).toMatchObject({
      sent: record.timestamp,
      runnable: 3,
      free_kib: 20134612,
      cpu_user: 42,
      cpu_system: 9,
      cpu_idle: 49,
    });
    expect(row.received).toBeGreaterThanOrEqual(record.timestamp + 40);
    expect(typeof row.host).toBe('string');
    const starter = await load('starters/pipelines/stamp.ts');
    expect(shapeOf(starter.spec, starter.file).sinks).toEqual([]);
  });
});
