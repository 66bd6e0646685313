// pbx top's figures against a real Kafka, each checked against what the test itself did: a replay at a known rate,
// a file of known bytes replayed, a consumer group stopped at a known offset of records with known timestamps, a
// pipeline fed at a known rate (each read by one-shot `pbx top --json`, as a script would), and the broker stopped
// and started again under a running collector.
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../src/clients/kafka';
import { loadConfig } from '../../src/config/load';
import { pipeline } from '../../src/pipelines/api';
import { runPipeline } from '../../src/pipelines/runtime/run';
import { replay } from '../../src/replay/replay';
import { createCollector } from '../../src/top/collect';
import type { PipelineFigures } from '../../src/pipelines/runtime/figures';
import type { Snapshot } from '../../src/top/snapshot';
import { runOptions } from '../support/pipelines';
import { freePort, purge, sh, testProject } from '../support/stack';
import { waitFor } from '../support/wait';

const PORT = await freePort();
const BROKER = `127.0.0.1:${PORT}`;
const project = testProject('ittop', `services:\n  kafka: {port: ${PORT}, mode: kraft}\n`);
let kafka: Kafka;

beforeAll(async () => {
  await purge(project.name);
  const up = await project.pbx(['up', 'kafka']);
  expect(up.exitCode, up.stderr).toBe(0);
  kafka = await createKafka({ brokers: [BROKER] }, { clientId: 'pbx-it-top' });
}, 180_000);
afterAll(() => purge(project.name));

/** `count` records {"n": i}, one a line. */
function numbers(name: string, count: number): string {
  const file = join(project.dir, name);
  writeFileSync(file, Array.from({ length: count }, (_, n) => JSON.stringify({ n })).join('\n') + '\n');
  return file;
}

/** One snapshot from a one-shot `pbx top --json`: a collector of its own, its first look and a second one. */
async function top(): Promise<Snapshot> {
  const { exitCode, doc, stderr } = await project.json<Snapshot>(['top']);
  expect(exitCode, stderr).toBe(0);
  expect(doc.figuresError, 'the figures topic read').toBeUndefined();
  return doc;
}

/** A replay of `count` numbers into `topic` at `rate`, running until it ends or `stop()`. */
function replaying(topic: string, count: number, rate: number) {
  const stop = new AbortController();
  const done = replay({
    config: loadConfig({ file: project.file }),
    source: { path: numbers(`${topic}.json`, count) },
    topic,
    pace: { kind: 'rate', perSecond: rate },
    signal: stop.signal,
  });
  return { done, stop: () => (stop.abort(), done.catch(() => undefined)) };
}

async function endOffset(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  } catch {
    return 0;
  } finally {
    await admin.disconnect();
  }
}

const within = (value: number | null | undefined, target: number, share: number) =>
  expect(Math.abs((value ?? -Infinity) - target), `${value} against ${target}`).toBeLessThanOrEqual(target * share);

describe('pbx top --json', () => {
  it("shows a replay at --rate 500 as its topic's rate, within 5%, and the replay's target and achieved rate", async () => {
    const run = replaying('top-rate', 20_000, 500);
    try {
      // Past the first second, when the replay's rate is still settling.
      await waitFor(() => endOffset('top-rate'), { what: '1,500 records', timeout: 20_000, until: (n) => n >= 1500 });
      // Every one-shot snapshot, each a collector of its own, shows the replay publishing: none is missed.
      for (let i = 0; i < 3; i++) {
        const snapshot = await top();
        expect(snapshot).toMatchObject({ schema: 1, target: project.name, kafka: { up: true, brokers: 1 } });
        const topic = snapshot.topics.find((t) => t.name === 'top-rate');
        within(topic?.recordsPerSecond, 500, 0.05);
        expect(topic).toMatchObject({ partitions: 1, internal: false });
        expect(topic!.history.length).toBeGreaterThanOrEqual(1);
        const shown = snapshot.replays.find((r) => r.topic === 'top-rate');
        expect(shown, `snapshot ${i + 1} shows the replay`).toMatchObject({
          targetRate: 500,
          total: null,
          source: expect.stringContaining('top-rate.json'),
        });
        within(shown?.achievedRate, 500, 0.05);
        expect(shown!.sent).toBeGreaterThan(1000);
        expect(snapshot.services.map((s) => [s.service, s.ready])).toContainEqual(['kafka', true]);
      }
    } finally {
      await run.stop();
    }
    // A replay that ended leaves at once (its tombstone), not after the figures go stale.
    expect((await top()).replays.filter((r) => r.topic === 'top-rate')).toEqual([]);
  }, 60_000);

  it("shows a topic's size on disk, at least the bytes replayed into it, and bytes/s at the replay's rate", async () => {
    // 3,000 records of exactly 200 bytes (and a newline each) at 500/s: 100,000 bytes/s of values, plus Kafka's own
    // framing of each record and batch.
    const file = join(project.dir, 'top-bytes.json');
    const line = (n: number) =>
      JSON.stringify({ n, pad: '' }).replace('""', `"${'x'.repeat(200 - 15 - String(n).length)}"`);
    writeFileSync(file, Array.from({ length: 3000 }, (_, n) => line(n)).join('\n') + '\n');
    expect(line(7)).toHaveLength(200);
    const stop = new AbortController();
    const done = replay({
      config: loadConfig({ file: project.file }),
      source: { path: file },
      topic: 'top-bytes',
      pace: { kind: 'rate', perSecond: 500 },
      signal: stop.signal,
    });
    try {
      await waitFor(() => endOffset('top-bytes'), { what: '1,000 records', timeout: 20_000, until: (n) => n >= 1000 });
      const during = (await top()).topics.find((t) => t.name === 'top-bytes');
      within(during?.recordsPerSecond, 500, 0.05);
      // The bytes the broker wrote per record so far, and the values' 200 bytes: bytes/s lies between their rates.
      const perRecord = during!.bytes! / during!.records;
      expect(perRecord).toBeGreaterThan(200);
      expect(during!.bytesPerSecond).toBeGreaterThanOrEqual(500 * 200 * 0.95);
      expect(during!.bytesPerSecond).toBeLessThanOrEqual(500 * perRecord * 1.05);
      await done;
    } finally {
      stop.abort();
      await done.catch(() => undefined);
    }
    const after = (await top()).topics.find((t) => t.name === 'top-bytes');
    expect(after).toMatchObject({ records: 3000, partitions: 1 });
    expect(after!.bytes).toBeGreaterThanOrEqual(statSync(file).size);
    // The one partition's leader replica is the topic's size.
    expect(after!.details.map((d) => d.bytes)).toEqual([after!.bytes]);
    expect(after!.bytesPerSecond).toBe(0);
  }, 60_000);

  it('shows a consumer group stopped half-way with its lag in records and in time, status stopped', async () => {
    const topic = 'top-stopped';
    // 1,000 records an hour old, a second apart: record k's time is known here, whatever Kafka's clock says.
    const first = Date.now() - 3_600_000;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: Array.from({ length: 1000 }, (_, k) => ({ value: String(k), timestamp: String(first + k * 1000) })),
    });
    await producer.disconnect();
    // A consumer reads the first 500, commits after the 500th and stops.
    const consumer = kafka.consumer({ groupId: 'top-half', maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let read = 0;
    const half = new Promise<void>((resolve) => {
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ message, partition }) => {
          if (++read > 500) return;
          if (read === 500) {
            await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
            resolve();
          }
        },
      });
    });
    await half;
    await consumer.disconnect();
    const snapshot = await top();
    const group = snapshot.groups.find((g) => g.id === 'top-half');
    expect(group).toMatchObject({ members: 0, lag: 500, topics: [topic], status: 'stopped', etaMs: null });
    // The first record not consumed is record 500, made at first + 500 s.
    const expected = snapshot.time - (first + 500_000);
    within(group?.lagMs, expected, 0.001); // 3.6 s in an hour: the time between reading and the snapshot
    expect(group!.details).toEqual([
      expect.objectContaining({ topic, partition: 0, committed: 500, endOffset: 1000, lag: 500, owner: null }),
    ]);
  }, 60_000);

  it("shows a pipeline's operators at the rate it processes, their totals as they passed records on", async () => {
    const spec = pipeline('ittop')
      .from('top-in')
      .filter((r: { n: number }) => r.n % 2 === 0)
      .map((r: { n: number }) => ({ half: r.n / 2 }))
      .to('top-out');
    const run = replaying('top-in', 20_000, 200);
    // The replay makes the topic: the pipeline starts on one that is there.
    await waitFor(() => endOffset('top-in'), { what: 'records in', timeout: 20_000, until: (n) => n >= 50 });
    const stop = new AbortController();
    const running = runPipeline(runOptions(project, spec, { untilEnd: false, signal: stop.signal }));
    try {
      await waitFor(() => endOffset('top-out'), { what: '300 records out', timeout: 30_000, until: (n) => n >= 300 });
      // One-shot snapshots over about six seconds, each of which shows the pipeline: the filter's rate as published
      // each second, against what it processed between the first and the last (its totals over their times), which
      // is the replay's 200 a second.
      const seen: PipelineFigures[] = [];
      for (let i = 0; i < 6; i++) {
        const snapshot = await top();
        const figures = snapshot.pipelines.find((p) => p.pipeline === 'ittop');
        expect(figures, JSON.stringify({ ...snapshot, topics: [] })).toBeDefined();
        const [filter, map] = figures!.operators;
        expect(filter!.in.total).toBe(figures!.consumed.total);
        expect(map!.in.total).toBe(filter!.out.total);
        expect(map!.out.total).toBe(map!.in.total);
        // Even numbers pass: half of what came in, from the first record on.
        expect(filter!.out.total).toBe(Math.ceil(filter!.in.total / 2));
        const group = snapshot.groups.find((g) => g.id === 'pbx-ittop');
        expect(group).toMatchObject({ members: 1, topics: ['top-in'] });
        expect(['ok', 'behind']).toContain(group!.status);
        seen.push(figures!);
      }
      const [first, last] = [seen[0]!, seen.at(-1)!];
      const processed =
        (last.operators[0]!.in.total - first.operators[0]!.in.total) / ((last.time - first.time) / 1000);
      within(processed, 200, 0.05);
      const published = seen.map((f) => f.operators[0]!.in.perSecond);
      within(published.reduce((a, b) => a + b, 0) / published.length, processed, 0.1);
    } finally {
      stop.abort();
      await running.catch(() => undefined);
      await run.stop();
    }
  }, 90_000);
});

describe("pbx top's collector when Kafka goes away", () => {
  it('says Kafka is down with the error, keeps the last rows, and recovers by itself', async () => {
    const collector = await createCollector({ config: loadConfig({ file: project.file }) });
    try {
      const before = await collector.collect();
      expect(before.kafka.up).toBe(true);
      expect(before.topics.map((t) => t.name)).toContain('top-stopped');
      await sh('docker', ['stop', `pbx-${project.name}-kafka`]);
      const down = await waitFor(() => collector.collect(), {
        what: 'a snapshot with Kafka down',
        timeout: 30_000,
        interval: 1000,
        // The services are checked every 2 s, in the background.
        until: (s) => !s.kafka.up && s.services.find((r) => r.service === 'kafka')?.state !== 'running',
      });
      expect(down.kafka.error).toBeTruthy();
      expect(down.kafka.since).toBeLessThanOrEqual(down.time);
      expect(down.topics.map((t) => t.name)).toEqual(before.topics.map((t) => t.name));
      expect(down.groups.find((g) => g.id === 'top-half')).toMatchObject({ lag: 500, status: 'stopped' });
      await sh('docker', ['start', `pbx-${project.name}-kafka`]);
      const back = await waitFor(() => collector.collect(), {
        what: 'a snapshot with Kafka back',
        timeout: 90_000,
        interval: 1000,
        until: (s) => s.kafka.up,
      });
      expect(back.kafka).toMatchObject({ up: true, brokers: 1 });
      expect(back.groups.find((g) => g.id === 'top-half')).toMatchObject({ lag: 500, status: 'stopped' });
    } finally {
      await collector.close();
    }
  }, 180_000);
});
