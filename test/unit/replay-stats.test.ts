import { describe, expect, it } from 'vitest';
import { ReplayStats } from '../../src/replay/stats';
import { formatRate } from '../../src/ui/replay-line';

describe('ReplayStats', () => {
  it('estimates the time left from the share of the file handled', () => {
    const stats = new ReplayStats(0, { kind: 'rate', perSecond: 100 });
    stats.totalBytes = 1000;
    expect(stats.etaSeconds(2000)).toBeUndefined(); // nothing handled yet: no estimate
    stats.bytesDone = 250;
    expect(stats.etaSeconds(2000)).toBe(6); // a quarter in 2 s: three quarters take 6 s more
    stats.totalBytes = undefined; // stdin, --exec, --loop
    expect(stats.etaSeconds(2000)).toBeUndefined();
  });

  it('estimates the time left from --limit when the limit ends the replay before the file does', () => {
    const stats = new ReplayStats(0, { kind: 'rate', perSecond: 100 }, 400);
    stats.totalBytes = 1_000_000;
    stats.bytesDone = 10_000; // 1% of the file
    stats.delivered(200, 2000); // half the limit
    expect(stats.etaSeconds(2000)).toBe(2);
    stats.totalBytes = undefined; // --loop: only the limit is known
    expect(stats.etaSeconds(2000)).toBe(2);
  });

  it('reports the recent rate and the overall rate', () => {
    const stats = new ReplayStats(0, { kind: 'max' });
    stats.delivered(100, 1000);
    stats.delivered(100, 2000);
    stats.delivered(100, 3000);
    expect(stats.currentRate(3000)).toBe(100); // 200 records in the 2 s since the first sample
    expect(stats.overallRate(3000)).toBe(100);
    expect(stats.sent).toBe(300);
  });

  it('counts the current rate from the first record, not from the first delivery', () => {
    const stats = new ReplayStats(0, { kind: 'rate', perSecond: 4 });
    stats.queuedAt(100);
    stats.delivered(1, 105);
    expect(stats.currentRate(350)).toBe(4); // one record in the quarter second since it was handed over
  });

  it('measures a paced replay between its first and last record, n records spanning n − 1 gaps', () => {
    const stats = new ReplayStats(0, { kind: 'rate', perSecond: 2 });
    for (let k = 0; k < 8; k++) stats.queuedAt(40 + k * 500); // due every 500 ms from the first
    stats.delivered(8, 3600);
    expect(stats.overallRate(3600)).toBe(2);
    const single = new ReplayStats(0, { kind: 'rate', perSecond: 2 });
    single.queuedAt(40);
    single.delivered(1, 60); // one record: since the start
    expect(single.overallRate(1000)).toBe(1);
  });
});

describe('formatRate', () => {
  it('shows rates with the digits that matter, slow ones too', () => {
    expect([12_345.6, 150.4, 12.34, 2, 0.5, 0.001, 0.00012].map(formatRate)).toEqual([
      '12,346',
      '150',
      '12.3',
      '2.00',
      '0.50',
      '0.001', // was "0.00": --rate 0.001 read as a target of nothing
      '0.00012',
    ]);
  });
});
