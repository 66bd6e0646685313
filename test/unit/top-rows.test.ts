import { describe, expect, it } from 'vitest';
import {
  etaMs,
  FlowHistory,
  groupStatus,
  growthRate,
  rateBetween,
  sumOf,
  STALL_AFTER_MS,
  type ClusterReading,
  type GroupReading,
} from '../../src/top/collect-rows';
import { sparkline } from '../../src/top/plain';
import type { GroupRow } from '../../src/top/snapshot';

/** A reading of one topic `t` with `ends` as its partitions' end offsets, and `groups`, at `time`. */
function reading(time: number, ends: number[], groups: GroupReading[] = [], times: Record<string, number> = {}) {
  return {
    time,
    topics: [
      {
        name: 't',
        internal: false,
        partitions: ends.map((end, partition) => ({ partition, leader: 1, replicas: [1, 2], isr: [1], start: 0, end })),
      },
    ],
    groups,
    recordTime: (topic, partition, offset) => times[`${topic}/${partition}@${offset}`],
  } satisfies ClusterReading;
}

const member = { clientId: 'c1', host: '10.0.0.1', assignment: [{ topic: 't', partitions: [0, 1] }] };
const group = (committed: number[], members = [member]): GroupReading => ({
  id: 'g',
  state: members.length > 0 ? 'Stable' : 'Empty',
  members,
  committed: committed.map((offset, partition) => ({ topic: 't', partition, offset })),
});

describe('rates', () => {
  it('is the count between two readings per second, null without an earlier one', () => {
    expect(rateBetween(undefined, 10, 1000)).toBeNull();
    expect(rateBetween(100, 600, 1000)).toBe(500);
    expect(rateBetween(100, 600, 2000)).toBe(250);
    expect(rateBetween(0, 1, 3000)).toBe(0.333);
    expect(rateBetween(5, 5, 0)).toBeNull();
  });

  it("sums a topic's partitions, keeps a minute of history, and has no rate at the first reading", () => {
    const history = new FlowHistory();
    const first = history.rows(reading(0, [0, 0]));
    expect(first.topics[0]).toMatchObject({ recordsPerSecond: null, history: [], records: 0, partitions: 2 });
    expect(first.topics[0]!.details[0]).toMatchObject({ outOfSync: [2], recordsPerSecond: null });
    let topic = first.topics[0]!;
    for (let s = 1; s <= 70; s++) topic = history.rows(reading(s * 1000, [s * 300, s * 200])).topics[0]!;
    expect(topic.recordsPerSecond).toBe(500);
    expect(topic.details.map((d) => d.recordsPerSecond)).toEqual([300, 200]);
    expect(topic.history).toHaveLength(60); // the last minute: a rate a second
    expect(topic.records).toBe(70 * 500);
  });
});

describe('sizes on disk', () => {
  /** A reading of topic `t` whose partitions' leaders (1, or as given) say these sizes (undefined: did not say). */
  const sized = (time: number, sizes: Array<number | undefined>, leaders = sizes.map(() => 1)) => {
    const r = reading(
      time,
      sizes.map(() => 0),
    );
    r.topics[0]!.partitions = r.topics[0]!.partitions.map((p, i) => ({ ...p, leader: leaders[i]!, bytes: sizes[i] }));
    return r;
  };

  it("is the sum of the partitions' leader replicas, and grows at the change between two readings", () => {
    const history = new FlowHistory();
    const first = history.rows(sized(0, [1000, 3000])).topics[0]!;
    expect(first).toMatchObject({ bytes: 4000, bytesPerSecond: null });
    const next = history.rows(sized(2000, [3000, 4000])).topics[0]!;
    expect(next).toMatchObject({ bytes: 7000, bytesPerSecond: 1500 });
    expect(next.details.map((d) => [d.bytes, d.bytesPerSecond])).toEqual([
      [3000, 1000],
      [4000, 500],
    ]);
  });

  it('is unknown while a leader does not say, rather than smaller', () => {
    const history = new FlowHistory();
    history.rows(sized(0, [1000, 3000]));
    const topic = history.rows(sized(1000, [2000, undefined])).topics[0]!;
    expect(topic).toMatchObject({ bytes: null, bytesPerSecond: 1000 });
    expect(topic.details[1]).toMatchObject({ bytes: null, bytesPerSecond: null });
  });

  it('never grows at a negative rate: a log that shrank (segments deleted) or changed leader has no rate then', () => {
    const history = new FlowHistory();
    history.rows(sized(0, [1_000_000, 5000, 7000]));
    const topic = history.rows(sized(1000, [2000, 6000, 6500], [1, 1, 2])).topics[0]!;
    expect(topic.details.map((d) => d.bytesPerSecond)).toEqual([null, 1000, null]);
    expect(topic).toMatchObject({ bytes: 14_500, bytesPerSecond: 1000 });
    // The next refresh measures from the new sizes again.
    const after = history.rows(sized(2000, [2500, 6000, 6600], [1, 1, 2])).topics[0]!;
    expect(after.details.map((d) => d.bytesPerSecond)).toEqual([500, 0, 100]);
  });

  it('has its rules as pure functions', () => {
    expect(growthRate({ leader: 1, bytes: 10 }, { leader: 1, bytes: 5 }, 1000)).toBeNull();
    expect(growthRate({ leader: 1, bytes: 10 }, { leader: 2, bytes: 50 }, 1000)).toBeNull();
    expect(growthRate(undefined, { leader: 1, bytes: 50 }, 1000)).toBeNull();
    expect(growthRate({ leader: 1, bytes: 10 }, { leader: 1, bytes: 510 }, 500)).toBe(1000);
    expect(sumOf([1, null, 2])).toBe(3);
    expect(sumOf([1, null, 2], true)).toBeNull();
    expect(sumOf([null])).toBeNull();
  });
});

describe('groups', () => {
  it('shows a stopped group with its lag in records and time, never zero', () => {
    const history = new FlowHistory();
    history.rows(reading(0, [100, 100], [group([50, 100])]));
    const { groups } = history.rows(
      reading(1000, [100, 100], [group([50, 100], [])], { 't/0@50': -4000 }), // record 50 was made 5 s before
    );
    expect(groups[0]).toMatchObject({ members: 0, lag: 50, lagMs: 5000, status: 'stopped', lagTrend: 0 });
    expect(groups[0]!.details[0]).toMatchObject({ committed: 50, lag: 50, lagMs: 5000, owner: null });
    expect(groups[0]!.details[1]).toMatchObject({ committed: 100, lag: 0, lagMs: 0 });
  });

  it('keeps the last known lag time of a partition whose record could not be read', () => {
    const history = new FlowHistory();
    history.rows(reading(0, [10], [group([5], [])], { 't/0@5': -2000 }));
    expect(history.rows(reading(1000, [10], [group([5], [])])).groups[0]!.lagMs).toBe(2000);
  });

  it('measures the trend and the ETA over the window, by the slowest partition', () => {
    const history = new FlowHistory();
    // Partition 0 is produced at 100/s and consumed at 200/s (closing 100/s); partition 1 consumed at 150/s.
    let row!: GroupRow;
    for (let s = 0; s <= 10; s++) {
      row = history.rows(reading(s * 1000, [10_000 + s * 100, 5_000], [group([5_000 + s * 200, 2_000 + s * 150])]))
        .groups[0]!;
    }
    expect(row.lag).toBe(5_000 - 1_000 + 3_000 - 1_500);
    expect(row.lagTrend).toBe(-250);
    // Partition 0: 4,000 left at 100/s = 40 s; partition 1: 1,500 left at 150/s = 10 s.
    expect(row.etaMs).toBe(40_000);
    expect(row.status).toBe('ok');
    expect(row.details[0]).toMatchObject({ owner: 'c1@10.0.0.1', consumedPerSecond: 200 });
  });

  it('is behind when its lag grows, stalled when its offsets stop moving, ok once caught up', () => {
    const history = new FlowHistory();
    let row!: GroupRow;
    for (let s = 0; s <= 5; s++) row = history.rows(reading(s * 1000, [s * 100, 0], [group([s * 50, 0])])).groups[0]!;
    expect(row).toMatchObject({ status: 'behind', lagTrend: 50, etaMs: null });
    for (let s = 6; s <= 6 + STALL_AFTER_MS / 1000; s++)
      row = history.rows(reading(s * 1000, [600, 0], [group([250, 0])])).groups[0]!;
    expect(row.status).toBe('stalled');
    row = history.rows(reading(20_000, [600, 0], [group([600, 0])])).groups[0]!;
    expect(row).toMatchObject({ status: 'ok', lag: 0, lagMs: 0, etaMs: 0 });
  });
});

describe('status rules', () => {
  it('follows members, lag, progress and trend', () => {
    const base = { members: 1, lag: 10, lagTrend: 0, sinceProgressMs: 0 };
    expect(groupStatus({ ...base, members: 0 })).toBe('stopped');
    expect(groupStatus({ ...base, members: 0, lag: 0 })).toBe('empty');
    expect(groupStatus({ ...base, lag: 0, sinceProgressMs: 60_000 })).toBe('ok');
    expect(groupStatus({ ...base, sinceProgressMs: STALL_AFTER_MS })).toBe('stalled');
    expect(groupStatus({ ...base, lagTrend: 5 })).toBe('behind');
    expect(groupStatus({ ...base, lagTrend: 0.5 })).toBe('ok'); // noise
    expect(groupStatus({ ...base, lagTrend: -100 })).toBe('ok');
    expect(groupStatus({ ...base, lagTrend: null })).toBe('ok');
  });

  it('gives no ETA for a partition not closing in or not seen long enough', () => {
    const p = { lag: 100, base: { committed: 0, end: 100 }, committed: 100, end: 200, windowMs: 1000 };
    expect(etaMs([p])).toBeNull(); // consumed as fast as produced
    expect(etaMs([{ ...p, base: undefined }])).toBeNull();
    expect(etaMs([{ ...p, lag: 0 }])).toBe(0);
    expect(etaMs([{ ...p, committed: 150 }])).toBe(2000); // closing 50/s on 100
  });
});

describe('sparkline', () => {
  it('scales to the largest value of the minute', () => {
    expect(sparkline([0, 50, 100])).toBe('▁▄█');
    expect(sparkline([0, 0])).toBe('▁▁');
    expect(sparkline([])).toBe('');
  });
});
