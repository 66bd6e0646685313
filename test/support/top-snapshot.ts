// A fixed Snapshot of pbx top: a stack with a replay at 500/s, a group stopped half-way, one of each status, a
// pipeline of two replicas, and enough topics that an 80×24 screen must cut them.
import type { PipelineFigures } from '../../src/pipelines/runtime/figures';
import type { GroupRow, Snapshot, TopicRow } from '../../src/top/snapshot';

export const NOW = Date.UTC(2026, 11, 2, 5, 0, 0);

const count = (perSecond: number, total: number) => ({ total, perSecond });
const percentiles = (p50: number, p95: number, p99: number) => ({ count: 100, p50, p95, p99, max: p99 * 2 });

function topic(name: string, rate: number, partitions = 3, extra: Partial<TopicRow> = {}): TopicRow {
  return {
    name,
    partitions,
    records: rate * 600,
    bytes: rate * 600 * 200,
    recordsPerSecond: rate,
    bytesPerSecond: rate * 200,
    history: Array.from({ length: 60 }, (_, i) => (rate * (i + 1)) / 60),
    internal: false,
    details: Array.from({ length: partitions }, (_, partition) => ({
      partition,
      leader: 1,
      outOfSync: [],
      startOffset: 0,
      endOffset: rate * 200,
      recordsPerSecond: rate / partitions,
      bytes: (rate * 600 * 200) / partitions,
      bytesPerSecond: (rate * 200) / partitions,
    })),
    ...extra,
  };
}

function group(id: string, status: GroupRow['status'], lag: number, extra: Partial<GroupRow> = {}): GroupRow {
  return {
    id,
    state: status === 'stopped' || status === 'empty' ? 'Empty' : 'Stable',
    members: status === 'stopped' || status === 'empty' ? 0 : 2,
    topics: ['reviews'],
    lag,
    lagMs: lag * 2,
    lagTrend: status === 'behind' ? 40 : status === 'ok' ? -10 : 0,
    etaMs: status === 'ok' && lag > 0 ? 4000 : null,
    status,
    details: [0, 1, 2].map((partition) => ({
      topic: 'reviews',
      partition,
      committed: 1000 * partition,
      endOffset: 1000 * partition + Math.round(lag / 3),
      lag: Math.round(lag / 3),
      lagMs: lag * 2,
      owner: status === 'stopped' ? null : `consumer-${partition}@host`,
      consumedPerSecond: status === 'stopped' ? 0 : 160,
    })),
    ...extra,
  };
}

function replica(replica: string, readPerSecond: number): PipelineFigures {
  return {
    schema: 1,
    pipeline: 'reviews-by-hour',
    replica,
    host: 'laptop',
    pid: 4000 + Number(replica),
    time: NOW,
    startedAt: NOW - 60_000,
    intervalMs: 1000,
    status: 'running',
    consumed: count(readPerSecond, readPerSecond * 60),
    operators: [
      {
        index: 0,
        label: 'filter stars',
        in: count(readPerSecond, 1),
        out: count(readPerSecond / 2, 1),
        errors: count(0, 0),
      },
      { index: 1, label: 'count by hour', in: count(readPerSecond / 2, 1), out: count(5, 1), errors: count(1.5, 7) },
    ],
    sinks: [
      {
        name: 'cassandra reviews.per_hour',
        writes: count(5, 300),
        errors: count(0, 0),
        latency: { lastSecond: percentiles(4, 9, 12), run: percentiles(4, 9, 12) },
      },
    ],
    deadLetters: count(0.5, 3),
    endToEnd: { lastSecond: percentiles(120, 300, 450 + Number(replica)), run: percentiles(120, 300, 450) },
    lag: [{ topic: 'reviews', partition: Number(replica), lag: 40 }],
    stateKeys: 24,
  };
}

/** The snapshot: `topics` extra topics beyond the four named ones. */
export function fixedSnapshot(options: { extraTopics?: number; kafkaUp?: boolean } = {}): Snapshot {
  const extra = Array.from({ length: options.extraTopics ?? 20 }, (_, i) =>
    topic(`events-${String(i + 1).padStart(2, '0')}`, i * 10),
  );
  const service = (name: 'kafka' | 'zookeeper' | 'cassandra' | 'redis', port: number) => ({
    service: name,
    node: name,
    state: 'running',
    ready: true,
    check: `${name} answered`,
    endpoint: { service: name, external: false, addresses: [`127.0.0.1:${port}`], url: `127.0.0.1:${port}` },
    uptimeMs: 125_000,
    restarts: { count: name === 'cassandra' ? 1 : 0 },
  });
  const snapshot: Snapshot = {
    schema: 1,
    time: NOW,
    target: 'demo',
    kafka:
      options.kafkaUp === false
        ? { up: false, error: 'connect ECONNREFUSED 127.0.0.1:9092', brokers: 1, since: NOW - 45_000 }
        : { up: true, brokers: 1 },
    services: [service('zookeeper', 2181), service('kafka', 9092), service('cassandra', 9042), service('redis', 6379)],
    topics: [
      topic('reviews', 500, 3),
      topic('pbx-figures', 3, 1),
      topic('orders', 0, 6),
      topic('__consumer_offsets', 2, 50, { internal: true }),
      ...extra,
    ],
    groups: [
      group('reviews-reader', 'stopped', 12_345),
      group('orders-app', 'ok', 30),
      group('slow-app', 'behind', 900),
      group('stuck-app', 'stalled', 77),
      group('idle-app', 'empty', 0),
    ],
    pipelines: [replica('0', 250), replica('1', 248)],
    replays: [
      {
        id: 'laptop/1234',
        topic: 'reviews',
        source: 'seeds/reviews.jsonl',
        targetRate: 500,
        achievedRate: 498.5,
        sent: 30_000,
        total: 100_000,
        startedAt: NOW - 60_000,
        time: NOW,
      },
    ],
    collectMs: 42,
  };
  return snapshot;
}
