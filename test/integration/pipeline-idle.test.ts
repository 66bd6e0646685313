// Idle source partitions in a live run (no --until-end): a partition with nothing to read stops holding the
// windows open after the idle time, and what is then written equals a count made here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKafkajs } from '../../src/clients/kafka';
import { prng } from '../../src/datagen/reviews';
import { pipeline, tumbling } from '../../src/pipelines/api';
import { runPipeline } from '../../src/pipelines/runtime/run';
import type { PipelineFigures } from '../../src/pipelines/runtime/figures';
import { freePort, purge, testProject, type TestProject } from '../support/stack';
import { waitFor } from '../support/wait';
import { readTopic } from '../support/topics';
import { runOptions } from '../support/pipelines';

const HOUR = 3_600_000;
const START = Date.UTC(2024, 0, 1);
const IDLE_MS = 2000;

interface Click {
  user: string;
  time: number;
}

let project: TestProject;
let broker: string;

beforeAll(async () => {
  const port = await freePort();
  broker = `127.0.0.1:${port}`;
  project = testProject('itidle', `services:\n  kafka: {port: ${port}, mode: kraft}\n`);
  await purge(project.name);
  const up = await project.pbx(['up', 'kafka']);
  expect(up.exitCode, up.stderr).toBe(0);
});
afterAll(() => purge(project.name));

/** Clicks over ten hours, in time order, by five users. */
function clicks(count: number, seed: number): Click[] {
  const random = prng(seed);
  return Array.from({ length: count }, (_, i) => ({
    user: `u${Math.floor(random() * 5)}`,
    time: START + Math.floor((i * 10 * HOUR) / count),
  }));
}

/** A topic of three partitions holding these records in the partitions given. */
async function topicWith(topic: string, byPartition: Array<[number, Click[]]>): Promise<void> {
  const { Kafka, logLevel } = await loadKafkajs();
  const kafka = new Kafka({ brokers: [broker], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3 }] });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  for (const [partition, records] of byPartition) {
    await producer.send({
      topic,
      messages: records.map((c) => ({ partition, key: c.user, value: JSON.stringify(c) })),
    });
  }
  await producer.disconnect();
}

/** Per user and hour, the count of every window that ends by the latest time of the input: those a watermark there closes. */
function reference(records: Click[]): Map<string, number> {
  const latest = Math.max(...records.map((c) => c.time));
  const counts = new Map<string, number>();
  for (const c of records) {
    const start = Math.floor(c.time / HOUR) * HOUR;
    if (start + HOUR > latest) continue;
    const id = `${c.user}@${start}`;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** Runs the hourly count live until it has emitted `windows` windows; returns how long that took and what it wrote. */
async function liveCount(name: string, topic: string, windows: number) {
  const spec = pipeline(name)
    .from(topic, { time: (c: Click) => c.time })
    .keyBy((c: Click) => c.user)
    .window(tumbling('1h'))
    .count()
    .to(`${name}-out`);
  const stop = new AbortController();
  let latest: PipelineFigures | undefined;
  const started = Date.now();
  const run = runPipeline(
    runOptions(project, spec, {
      untilEnd: false,
      idleTimeoutMs: IDLE_MS,
      signal: stop.signal,
      onFigures: ([f]) => (latest = f ?? latest),
    }),
  );
  let ended: string | undefined;
  run.then(
    () => (ended = 'the run ended'),
    (error: Error) => (ended = `the run failed: ${error.message}`),
  );
  const emitted = () => latest?.operators.find((o) => o.label.includes('count'))?.out.total ?? 0;
  await waitFor(emitted, {
    what: `${name} to close ${windows} windows`,
    timeout: 60_000,
    until: (n) => n >= windows,
    giveUpIf: () => ended,
  });
  const tookMs = Date.now() - started;
  stop.abort();
  expect((await run).stoppedBy).toBe('interrupt');
  const got = new Map<string, number>();
  for (const { value } of await readTopic(broker, `${name}-out`)) {
    const v = JSON.parse(value) as { key: string; window_start: number; count: number };
    const id = `${v.key}@${v.window_start}`;
    expect(got.has(id), `${id} emitted twice`).toBe(false);
    got.set(id, v.count);
  }
  return { tookMs, got };
}

describe('pbx run live, idle source partitions', () => {
  it('closes the windows of a topic with records in one partition of three, within seconds of the idle time', async () => {
    const records = clicks(600, 3);
    await topicWith('clicks-one', [[0, records]]);
    const expected = reference(records);
    const { tookMs, got } = await liveCount('itidleone', 'clicks-one', expected.size);
    expect(got).toEqual(expected);
    // Joining the group takes a few seconds; then the empty partitions go idle after IDLE_MS.
    expect(tookMs).toBeLessThan(IDLE_MS + 15_000);
  });

  it('no longer waits for a partition that fell silent after its first record', async () => {
    const records = clicks(600, 5);
    // The first click alone in partition 1: its marker would hold the watermark at the first hour for good.
    await topicWith('clicks-quiet', [
      [1, records.slice(0, 1)],
      [0, records.slice(1)],
    ]);
    const expected = reference(records);
    const { tookMs, got } = await liveCount('itidlequiet', 'clicks-quiet', expected.size);
    expect(got).toEqual(expected);
    expect(tookMs).toBeLessThan(IDLE_MS + 15_000);
  });
});
