// pbx top's screen from fixed snapshots: each panel's key figures at 80×24 and at 200×60, nothing wider or taller
// than the terminal, what is cut marked, details, the filter and the Kafka-down banner; and the plain-text tables.
import { describe, expect, it } from 'vitest';
import { makeStyler } from '../../src/cli/output';
import { lineText } from '../../src/top/columns';
import { compactCount, percentilesCell, shortDuration, sparkline } from '../../src/top/format';
import { initialUiState, type UiState } from '../../src/top/keys';
import { layoutScreen, screenText, shareHeight, type TerminalSize } from '../../src/top/layout';
import { panelRows } from '../../src/top/panels';
import { snapshotText } from '../../src/top/plain';
import type { Snapshot } from '../../src/top/snapshot';
import { fixedSnapshot, NOW } from '../support/top-snapshot';

const SMALL = { columns: 80, rows: 24 };
const LARGE = { columns: 200, rows: 60 };

function draw(size: TerminalSize, ui: Partial<UiState> = {}, snapshot: Snapshot | undefined = fixedSnapshot()) {
  const screen = layoutScreen({ snapshot, size, ui: { ...initialUiState(), ...ui }, now: NOW });
  const lines = screen.lines.map(lineText);
  for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(size.columns);
  // A row less than the terminal: a full-height frame makes Ink clear the scrollback at every redraw.
  expect(lines.length).toBeLessThanOrEqual(size.rows - 1);
  return { screen, lines, text: screenText(screen) };
}

const rowOf = (lines: string[], start: string) => lines.find((l) => l.startsWith(start)) ?? '';

describe('pbx top at 80×24', () => {
  it('shows each panel’s key figures', () => {
    const { lines, text } = draw(SMALL);
    expect(lines[0]).toContain('pbx top · demo · Kafka 1 broker');
    expect(rowOf(lines, 'kafka ')).toMatch(/kafka\s+running\s+yes/);
    expect(rowOf(lines, 'reviews ')).toMatch(/^reviews\s+500\s+98 KiB\s+[▁-█]{12}\s+300k\s+3\s+57 MiB$/);
    expect(rowOf(lines, 'reviews-reader')).toMatch(/reviews-reader\s+stopped\s+0\s+12,345\s+24\.7s\s+0\/s\s+never/);
    expect(rowOf(lines, 'slow-app')).toMatch(/behind\s+2\s+900\s+1\.8s\s+\+40\.0\/s/);
    expect(rowOf(lines, 'stuck-app')).toContain('stalled');
    expect(rowOf(lines, 'reviews-by-hour')).toMatch(/running\s+2\s+498\s+10\.0\s+3\.00\s+120\/300\/451 ms/);
    expect(rowOf(lines, 'reviews    ')).toBeTruthy();
    expect(text).toMatch(/REPLAYS 1\s+TARGET\/S\s+ACHIEVED\/S/);
    expect(text).toMatch(/\nreviews\s+500\s+499\s+30,000\s+30%/);
    expect(lines.at(-1)).toBe('Tab panel  ↑↓ row  Enter open  Esc back  / filter  p pause  q quit  ? help');
  });

  it('cuts the topics to what fits, busiest first, and says how many there are', () => {
    const { lines } = draw(SMALL);
    const header = rowOf(lines, 'TOPICS');
    expect(header).toMatch(/^TOPICS 1–\d+\/23 /);
    expect(lines[lines.indexOf(header) + 1]).toMatch(/^reviews /);
    expect(lines.some((l) => l.startsWith('__consumer_offsets'))).toBe(false);
  });

  it('drops the columns of least priority first', () => {
    const { lines } = draw(SMALL);
    expect(rowOf(lines, 'GROUPS')).not.toContain('TOPICS');
    expect(rowOf(lines, 'GROUPS')).toContain('ETA');
    expect(rowOf(lines, 'PIPELINES')).not.toContain('DEAD');
    expect(rowOf(lines, 'PIPELINES')).toContain('E2E P50/P95/P99');
  });

  it('keeps the selected row in view, however far down', () => {
    const { lines } = draw(SMALL, { selected: { topics: 'events-01' } });
    expect(lines.some((l) => l.startsWith('events-01 '))).toBe(true);
    expect(lines.some((l) => /^reviews\s+500\s+98 KiB/.test(l))).toBe(false);
  });

  it('marks a name cut to its column', () => {
    const long = fixedSnapshot({ extraTopics: 0 });
    long.topics[0] = { ...long.topics[0]!, name: `reviews-${'x'.repeat(60)}` };
    const { lines } = draw(SMALL, {}, long);
    expect(lines.find((l) => l.startsWith('reviews-xxx'))).toMatch(/^reviews-x+…\s+500/);
  });

  it('shows Kafka down, since when, and keeps the last rows', () => {
    const { lines } = draw(SMALL, {}, fixedSnapshot({ kafkaUp: false }));
    expect(lines[0]).toContain('Kafka down');
    const since = new Date(NOW - 45_000).toTimeString().slice(0, 8);
    expect(lines[1]).toContain(`Kafka down since ${since} (45.0s), rows as last seen: connect ECONNREFUSED`);
    expect(rowOf(lines, 'reviews ')).toContain('500');
  });

  it('says when the collector itself fails, and waits for the first snapshot', () => {
    const failing = layoutScreen({
      snapshot: undefined,
      size: SMALL,
      ui: initialUiState(),
      failure: { message: 'no Docker', since: NOW },
      now: NOW,
    });
    expect(screenText(failing)).toContain('refresh failing since');
    expect(screenText(failing)).toContain('collecting the first snapshot…');
  });

  it('fits a tiny terminal too', () => {
    draw({ columns: 30, rows: 8 });
    draw({ columns: 80, rows: 3 });
  });

  it('leaves out the bytes columns when the cluster does not say them', () => {
    const snapshot = fixedSnapshot();
    snapshot.topics = snapshot.topics.map((t) => ({ ...t, bytes: null, bytesPerSecond: null }));
    const { lines } = draw(SMALL, {}, snapshot);
    expect(rowOf(lines, 'TOPICS')).toMatch(/^TOPICS 1–\d+\/23\s+REC\/S {2}LAST MINUTE\s+RECORDS {2}PARTS$/);
    expect(rowOf(lines, 'reviews ')).toMatch(/^reviews\s+500 {2}[▁-█]{12}\s+300k\s+3$/);
  });
});

describe('pbx top at 200×60', () => {
  it('shows every topic with a minute of history and the columns dropped at 80', () => {
    const { lines } = draw(LARGE);
    expect(rowOf(lines, 'TOPICS')).toMatch(/^TOPICS 23 /);
    expect(rowOf(lines, 'reviews ')).toMatch(/^reviews\s+500\s+98 KiB\s+[▁-█]{60}\s+300k/);
    expect(rowOf(lines, 'GROUPS')).toContain('TOPICS');
    expect(rowOf(lines, 'reviews-reader')).toMatch(/stopped.*reviews\s+Empty/);
    expect(rowOf(lines, 'PIPELINES')).toMatch(/DEAD\s+LAG/);
    expect(rowOf(lines, 'reviews-by-hour')).toMatch(/running\s+2\s+498\s+10\.0\s+3\.00\s+6\s+80\s+120\/300\/451 ms/);
    expect(rowOf(lines, 'SERVICES')).toContain('CHECK');
    expect(lines.find((l) => l.includes('seeds/reviews.jsonl'))).toContain('laptop/1234');
  });
});

describe('details', () => {
  it('a topic: its partitions and the groups that read it', () => {
    const { text } = draw(SMALL, { detail: { panel: 'topics', name: 'reviews', scroll: 0 } });
    expect(text).toContain('TOPIC reviews · 3 partitions · 300k records · 57 MiB · 500 rec/s');
    expect(text).toMatch(/last minute [▁-█]+ peak 500\/s/);
    expect(text).toContain('read by reviews-reader stopped lag 12,345');
    expect(text).toMatch(/\n2\s+1\s+0\s+100000\s+100k\s+167\s+–/);
  });

  it('a group: its status, lag in records and time, and each partition', () => {
    const { text } = draw(SMALL, { detail: { panel: 'groups', name: 'reviews-reader', scroll: 0 } });
    expect(text).toContain('GROUP reviews-reader · stopped · Empty · 0 members · lag 12,345 records, 24.7s');
    expect(text).toContain('trend 0/s · ETA never · topics reviews');
    expect(text).toMatch(/\nreviews\s+1\s+1000\s+5115\s+4,115\s+24\.7s\s+0/);
  });

  it('a pipeline: per operator, per sink and per replica', () => {
    const { text } = draw(LARGE, { detail: { panel: 'pipelines', name: 'reviews-by-hour', scroll: 0 } });
    expect(text).toContain('PIPELINE reviews-by-hour · running · 2 replicas · read 498/s · 6 dead letters');
    expect(text).toMatch(/1 count by hour\s+249\s+10\.0\s+3\.00 \(14\)/);
    expect(text).toMatch(/cassandra reviews\.per_hour\s+10\.0\s+4ms\s+12ms\s+0/);
    expect(text).toMatch(/1 laptop:4001\s+248\s+40\s+120\/300\/451 ms\s+running/);
  });

  it('scrolls what does not fit, and says where it is', () => {
    const wide = fixedSnapshot();
    wide.topics[0] = { ...wide.topics[0]!, partitions: 50, details: wide.topics[4]!.details };
    wide.topics[0].details = Array.from({ length: 50 }, (_, partition) => ({
      ...wide.topics[0]!.details[0]!,
      partition,
    }));
    const top = draw(SMALL, { detail: { panel: 'topics', name: 'reviews', scroll: 0 } }, wide);
    expect(top.lines.at(-2)).toBe('↑↓ lines 1–20 of 55');
    expect(top.screen.onScreen).toMatchObject({ detailLines: 55, detailRoom: 20 });
    const end = draw(SMALL, { detail: { panel: 'topics', name: 'reviews', scroll: 99 } }, wide);
    expect(end.lines.at(-2)).toBe('↑↓ lines 36–55 of 55');
    expect(end.lines.at(-3)).toMatch(/^49 /);
  });

  it('says when the opened row is gone', () => {
    const { text } = draw(SMALL, { detail: { panel: 'groups', name: 'gone-app', scroll: 0 } });
    expect(text).toContain('group gone-app is no longer there (Esc goes back)');
  });
});

describe('the filter, help and pause', () => {
  it('keeps the rows whose name holds the filter, in any case', () => {
    const { lines, screen } = draw(SMALL, { filter: 'ORDER' });
    expect(screen.onScreen.names.topics).toEqual(['orders']);
    expect(screen.onScreen.names.groups).toEqual(['orders-app']);
    expect(rowOf(lines, 'PIPELINES')).toBe('PIPELINES  none matching "ORDER"');
    expect(lines.at(-1)).toMatch(/^filter "ORDER" {2}Tab panel/);
  });

  it('shows what is typed while filtering', () => {
    const { lines } = draw(SMALL, { filter: 'rev', editingFilter: true });
    expect(lines.at(-1)).toBe('/rev▏  Enter keep · Esc clear');
  });

  it('help replaces the panels; pause is marked', () => {
    expect(draw(SMALL, { help: true }).text).toContain('stopped: no members, lag kept');
    expect(draw(SMALL, { paused: true }).lines[0]).toMatch(/PAUSED $/);
  });
});

describe('sharing the height', () => {
  it('gives each panel its header and a row, then the rest in turn, the focused panel first', () => {
    const rows = panelRows(fixedSnapshot(), '');
    expect(shareHeight(rows, 'topics', 21)).toEqual({ services: 5, topics: 6, groups: 6, pipelines: 2, replays: 2 });
    expect(shareHeight(rows, 'groups', 4)).toEqual({ services: 0, topics: 2, groups: 2, pipelines: 0, replays: 0 });
  });
});

describe('figures in narrow columns', () => {
  it('counts, durations, latencies and sparklines', () => {
    expect([12, 99_999, 123_456, 1_234_567, 4.5e10].map(compactCount)).toEqual([
      '12',
      '99,999',
      '123k',
      '1.2M',
      '45.0G',
    ]);
    expect([350, 4200, 156_000, 11_100_000, 200_000_000].map(shortDuration)).toEqual([
      '350ms',
      '4.2s',
      '2m36s',
      '3h05m',
      '2d07h',
    ]);
    expect(percentilesCell({ count: 1, p50: 4.2, p95: 30, p99: 1500 })).toBe('0.0/0.0/1.5 s');
    expect(percentilesCell({ count: 0, p50: 0, p95: 0, p99: 0 })).toBe('–');
    expect(sparkline([0, 1, 2, 4, 8], 5)).toBe('▁▁▂▄█');
    expect(sparkline([5], 4)).toBe('   █');
    expect(
      sparkline(
        Array.from({ length: 60 }, (_, i) => i),
        12,
      ),
    ).toHaveLength(12);
  });
});

describe('pbx top as plain text', () => {
  const style = makeStyler(false);

  it("shows each topic's size on disk and bytes/s beside its records", () => {
    const lines = snapshotText(fixedSnapshot(), style).split('\n');
    expect(rowOf(lines, 'TOPIC ')).toMatch(
      /^TOPIC\s+PARTITIONS\s+RECORDS\s+SIZE\s+RECORDS\/S\s+BYTES\/S\s+LAST MINUTE$/,
    );
    expect(rowOf(lines, 'reviews ')).toMatch(/^reviews\s+3\s+300000\s+57 MiB\s+500\s+98 KiB\s+[▁-█]{60}$/);
  });

  it('leaves them out when the cluster does not say them', () => {
    const snapshot = fixedSnapshot();
    snapshot.topics = snapshot.topics.map((t) => ({ ...t, bytes: null, bytesPerSecond: null }));
    const lines = snapshotText(snapshot, style).split('\n');
    expect(rowOf(lines, 'TOPIC ')).toMatch(/^TOPIC\s+PARTITIONS\s+RECORDS\s+RECORDS\/S\s+LAST MINUTE$/);
  });
});
