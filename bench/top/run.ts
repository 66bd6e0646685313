// How long a refresh of `pbx top` takes at scale: 100 topics of 10 partitions (1,000 partitions) and 100 consumer
// groups with committed offsets behind the end (so each refresh also reads the timestamps of their oldest records
// not consumed), on a real single-broker stack, while 1,000 records/s are produced across the topics. The collector
// refreshes once a second, as the dashboard does; each refresh is timed, and the requests sent to Kafka meanwhile are
// counted off the wire by API (client ids starting pbx-: the collector's and its figures reader's), and the topics'
// sizes on disk are checked to be there (DescribeLogDirs, one per leader). Goal: a refresh within the second.
// Usage: npm run build && npx tsx bench/top/run.ts [--topics 100] [--partitions 10] [--groups 100] [--refreshes 30]
import { execa } from 'execa';
import type { Kafka, Message } from 'kafkajs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createKafka } from '../../src/clients/kafka';
import { loadConfig } from '../../src/config/load';
import { createCollector } from '../../src/top/collect';
import type { Snapshot } from '../../src/top/snapshot';
import { countRequests } from '../../test/support/kafka-wire';
import { freePort } from '../../test/support/stack';

const { values } = parseArgs({
  options: {
    topics: { type: 'string', default: '100' },
    partitions: { type: 'string', default: '10' },
    groups: { type: 'string', default: '100' },
    refreshes: { type: 'string', default: '30' },
  },
});
const TOPICS = Number(values.topics);
const PARTITIONS = Number(values.partitions);
const GROUPS = Number(values.groups);
const REFRESHES = Number(values.refreshes);
const PORT = await freePort();
/** Records in each partition before the groups commit, and where they commit: half-way, so each group lags. */
const FILLED = 40;
const COMMITTED = 20;
const PRODUCED_PER_SECOND = 1000;

const pbx = resolve(import.meta.dirname, '../../dist/pbx');
const dir = mkdtempSync(join(tmpdir(), 'pbx-bench-top-'));
const file = join(dir, 'pbx.yaml');
writeFileSync(file, `name: benchtop\nimages: local\nservices:\n  kafka: {port: ${PORT}, mode: kraft}\n`);
const topicName = (i: number) => `bench-${String(i).padStart(3, '0')}`;

async function main(): Promise<void> {
  const up = await execa(pbx, ['up', 'kafka', '--config', file], { reject: false });
  if (up.exitCode !== 0) throw new Error(`pbx up failed:\n${up.stderr}`);
  const kafka = await createKafka({ brokers: [`127.0.0.1:${PORT}`] }, { clientId: 'bench-top-setup' });
  let stopProducing = () => undefined as void;
  try {
    const setupMs = await timed(() => fill(kafka));
    console.error(
      `setup: ${TOPICS} topics × ${PARTITIONS} partitions, ${GROUPS} groups in ${(setupMs / 1000).toFixed(1)} s`,
    );
    stopProducing = await produceSteadily(kafka);
    const result = await measure();
    console.log(report(result));
  } finally {
    stopProducing();
    await execa(pbx, ['down', '--volumes', '--config', file], { reject: false });
  }
}

/** The topics, FILLED records in each partition, and GROUPS groups each committed at COMMITTED on one topic. */
async function fill(kafka: Kafka): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const names = Array.from({ length: TOPICS }, (_, i) => topicName(i));
  for (let i = 0; i < names.length; i += 20) {
    const batch = names.slice(i, i + 20).map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: 1 }));
    await admin.createTopics({ topics: batch, waitForLeaders: false, timeout: 60_000 });
  }
  // Until every partition has its leader (kafkajs's own wait, on by default, gives up on a topic not yet known).
  for (const deadline = Date.now() + 120_000; ;) {
    const led = await admin
      .fetchTopicMetadata({ topics: names })
      .then((m) =>
        m.topics.every((t) => t.partitions.length === PARTITIONS && t.partitions.every((p) => p.leader >= 0)),
      )
      .catch(() => false);
    if (led) break;
    if (Date.now() > deadline) throw new Error('the topics have no leaders after 120 s');
    await sleep(500);
  }
  const producer = kafka.producer();
  await producer.connect();
  const value = JSON.stringify({ review: 'x'.repeat(150) });
  for (const topic of names) {
    const messages: Message[] = [];
    for (let partition = 0; partition < PARTITIONS; partition++) {
      for (let n = 0; n < FILLED; n++) messages.push({ partition, value });
    }
    await producer.send({ topic, messages });
  }
  await producer.disconnect();
  // kafkajs's setOffsets joins the group to commit and the broker takes 5 s to see it leave: 25 groups at a time.
  const partitions = Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, offset: String(COMMITTED) }));
  for (let first = 0; first < GROUPS; first += 25) {
    const groups = Array.from({ length: Math.min(25, GROUPS - first) }, (_, i) => first + i);
    await Promise.all(
      groups.map((g) => admin.setOffsets({ groupId: `bench-group-${g}`, topic: names[g % TOPICS]!, partitions })),
    );
  }
  await admin.disconnect();
}

/** PRODUCED_PER_SECOND records spread over the topics, a tenth of a second at a time, until the returned stop. */
async function produceSteadily(kafka: Kafka): Promise<() => void> {
  const producer = kafka.producer();
  await producer.connect();
  let next = 0;
  const timer = setInterval(() => {
    const perTick = PRODUCED_PER_SECOND / 10;
    const topicMessages = Array.from({ length: perTick }, () => {
      const i = next++;
      return {
        topic: topicName(i % TOPICS),
        messages: [{ partition: Math.floor(i / TOPICS) % PARTITIONS, value: 'tick' }],
      };
    });
    producer.sendBatch({ topicMessages }).catch(() => undefined);
  }, 100);
  return () => {
    clearInterval(timer);
    void producer.disconnect();
  };
}

interface Refresh {
  ms: number;
  requests: Map<string, number>;
  snapshot: Snapshot;
}

/** REFRESHES refreshes a second apart (the first two are the collector's start: connections, first look). */
async function measure(): Promise<Refresh[]> {
  const collector = await createCollector({ config: loadConfig({ file }) });
  const refreshes: Refresh[] = [];
  try {
    for (let i = 0; i < REFRESHES + 2; i++) {
      const started = performance.now();
      const wire = countRequests(PORT, 'pbx-');
      const snapshot = await collector.collect();
      wire.stop();
      const ms = performance.now() - started;
      if (i >= 2) refreshes.push({ ms, requests: wire.counts, snapshot });
      await sleep(Math.max(0, 1000 - ms));
    }
  } finally {
    await collector.close();
  }
  return refreshes;
}

function report(refreshes: Refresh[]): string {
  const times = refreshes.map((r) => r.ms).sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  const last = refreshes.at(-1)!.snapshot;
  const partitions = last.topics.filter((t) => t.name.startsWith('bench-')).reduce((a, t) => a + t.partitions, 0);
  const groups = last.groups.filter((g) => g.id.startsWith('bench-group-'));
  const lagging = groups.filter((g) => g.lag > 0 && g.lagMs > 0).length;
  const rate = last.topics.reduce((a, t) => a + (t.recordsPerSecond ?? 0), 0);
  const bench = last.topics.filter((t) => t.name.startsWith('bench-'));
  const sized = bench.filter((t) => t.bytes !== null).length;
  const bytesRate = bench.reduce((a, t) => a + (t.bytesPerSecond ?? 0), 0);
  const names = [...new Set(refreshes.flatMap((r) => [...r.requests.keys()]))].sort();
  const perRefresh = (name: string) =>
    refreshes.reduce((a, r) => a + (r.requests.get(name) ?? 0), 0) / refreshes.length;
  const total = names.reduce((a, n) => a + perRefresh(n), 0);
  return [
    `| partitions | groups (lagging, lag in time) | refreshes | median ms | p95 ms | max ms | requests per refresh |`,
    `| --- | --- | --- | --- | --- | --- | --- |`,
    `| ${partitions} | ${groups.length} (${lagging}) | ${refreshes.length} | ${at(0.5).toFixed(0)} | ${at(0.95).toFixed(0)} | ${times.at(-1)!.toFixed(0)} | ${total.toFixed(1)} |`,
    '',
    `requests per refresh by API: ${names.map((n) => `${n} ${perRefresh(n).toFixed(1)}`).join(', ')}`,
    `produce rate seen over all topics: ${rate.toFixed(0)} records/s (${PRODUCED_PER_SECOND} sent); collectMs median ${median(refreshes.map((r) => r.snapshot.collectMs)).toFixed(0)}`,
    `sizes on disk: ${sized} of ${bench.length} bench topics, growing ${(bytesRate / 1024).toFixed(1)} KiB/s in all`,
  ].join('\n');
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function timed(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

await main();
