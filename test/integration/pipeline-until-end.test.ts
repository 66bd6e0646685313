// --until-end reads each source partition to the end it had when the run started: a partition empty then holds
// nothing up, and records written while the run goes are left for the next run, not taken as late.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKafkajs } from '../../src/clients/kafka';
import { pipeline, tumbling } from '../../src/pipelines/api';
import { reachedEnd, runPipeline } from '../../src/pipelines/runtime/run';
import { loadClusterReads } from '../../src/clients/kafkajs-internals';
import { runOptions } from '../support/pipelines';
import { purge, testProject } from '../support/stack';
import { readTopic } from '../support/topics';

const PORT = 29398;
const BROKER = `127.0.0.1:${PORT}`;
const project = testProject('itend', `services:\n  kafka: {port: ${PORT}, mode: kraft}\n`);
const HOUR = 3_600_000;

interface Event {
  user: string;
  time: number;
}

beforeAll(async () => {
  await purge(project.name);
  const up = await project.pbx(['up', 'kafka']);
  expect(up.exitCode, up.stderr).toBe(0);
});
afterAll(() => purge(project.name));

async function kafka() {
  const { Kafka, logLevel } = await loadKafkajs();
  return new Kafka({ brokers: [BROKER], logLevel: logLevel.NOTHING });
}

/** A topic of three partitions with events in the given ones only (each event's partition chosen here). */
async function topicWith(topic: string, events: Array<{ partition: number; event: Event }>): Promise<void> {
  const client = await kafka();
  const admin = client.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3 }] });
  await admin.disconnect();
  const producer = client.producer({ idempotent: true });
  await producer.connect();
  await producer.send({
    topic,
    messages: events.map(({ partition, event }) => ({ partition, key: event.user, value: JSON.stringify(event) })),
  });
  await producer.disconnect();
}

const countsPerHour = (name: string, topic: string, out: string) =>
  pipeline(name)
    .from(topic, { time: (e: Event) => e.time })
    .keyBy((e: Event) => e.user)
    .window(tumbling('1h'))
    .count()
    .to(out);

/** The reference: events per user and hour, counted here. */
function reference(events: Event[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of events) {
    const at = `${e.user}@${Math.floor(e.time / HOUR) * HOUR}`;
    counts.set(at, (counts.get(at) ?? 0) + 1);
  }
  return counts;
}

async function results(topic: string): Promise<Map<string, number>> {
  const got = new Map<string, number>();
  for (const r of await readTopic(BROKER, topic)) {
    const v = JSON.parse(r.value) as { key: string; window_start: number; count: number };
    got.set(`${v.key}@${v.window_start}`, v.count);
  }
  return got;
}

describe('pbx run --until-end', () => {
  it('ends, with every window, when a source partition is empty', async () => {
    const events = Array.from({ length: 600 }, (_, i) => ({
      partition: i % 2, // partition 2 stays empty
      event: { user: `u${i % 5}`, time: Date.UTC(2024, 0, 1) + i * 60_000 },
    }));
    await topicWith('one-empty', events);
    const summary = await runPipeline(
      runOptions(project, countsPerHour('itoneempty', 'one-empty', 'one-empty-hourly')),
    );
    expect(summary.stoppedBy).toBe('end');
    expect(summary.records).toBe(600);
    expect(await results('one-empty-hourly')).toEqual(reference(events.map((e) => e.event)));
  });

  it('reads to the ends seen at its start while the topic is still written, and leaves the rest', async () => {
    const first = Array.from({ length: 900 }, (_, i) => ({
      partition: i % 3,
      event: { user: `u${i % 7}`, time: Date.UTC(2024, 0, 1) + i * 30_000 },
    }));
    await topicWith('still-written', first);
    // A writer that goes on while the run reads (in time order, so none is late): some of its records come
    // before the ends the run sees at its start, the rest after them.
    const client = await kafka();
    const producer = client.producer({ idempotent: true });
    await producer.connect();
    let writing = true;
    let extra = 0;
    const writer = (async () => {
      while (writing) {
        const event = { user: `more${extra % 3}`, time: Date.UTC(2024, 0, 1) + 900 * 30_000 + extra * 1000 };
        await producer.send({
          topic: 'still-written',
          messages: [{ partition: extra % 3, key: event.user, value: JSON.stringify(event) }],
        });
        extra++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const summary = await runPipeline(
      runOptions(project, countsPerHour('itwritten', 'still-written', 'still-written-hourly')),
    );
    writing = false;
    await writer;
    await producer.disconnect();
    expect(summary.stoppedBy).toBe('end');
    expect(extra).toBeGreaterThan(0);
    // Its results are the counts of exactly the records before its group's committed offsets.
    const admin = client.admin();
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId: 'pbx-itwritten', topics: ['still-written'] });
    await admin.disconnect();
    const upTo = new Map(committed!.partitions.map((p) => [p.partition, BigInt(p.offset)]));
    const read = (await readTopic(BROKER, 'still-written')).filter(
      (r) => BigInt(r.offset) < (upTo.get(r.partition) ?? 0n),
    );
    expect(read.length).toBeGreaterThanOrEqual(900);
    expect(summary.records).toBe(read.length);
    expect(await results('still-written-hourly')).toEqual(reference(read.map((r) => JSON.parse(r.value) as Event)));
  });

  it('does not end while records stage A committed are not readable yet (the last stable offset behind)', async () => {
    // A transaction committed but whose markers Kafka has not written yet looks, to a read_committed offset list,
    // like one still open: its records are past the last stable offset. An open transaction holds that state
    // for as long as the test needs.
    const client = await kafka();
    const admin = client.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: 'open-source', numPartitions: 1 },
        { topic: 'open-repartition', numPartitions: 1 },
      ],
    });
    const producer = client.producer({
      transactionalId: 'it-open-repartition',
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const transaction = await producer.transaction();
    await transaction.send({ topic: 'open-repartition', messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
    const reads = await loadClusterReads({ brokers: [BROKER] });
    await reads.connect();
    // Every source read (there is none left: its only partition was empty at start); stage B has read nothing.
    const end = { groupId: 'pbx-itopen', ends: new Map([['open-source/0', 0n]]), empty: new Set(['open-source/0']) };
    const positions = new Map<string, bigint>();
    try {
      expect(
        await reachedEnd(admin, () => Promise.resolve(reads), { ...end, repartition: 'open-repartition' }, positions),
      ).toBe(false);
      await transaction.commit();
      // Stage B past the three records: its position is the commit marker's offset.
      positions.set('open-repartition/0', 3n);
      expect(
        await reachedEnd(admin, () => Promise.resolve(reads), { ...end, repartition: 'open-repartition' }, positions),
      ).toBe(true);
      positions.set('open-repartition/0', 2n);
      expect(
        await reachedEnd(admin, () => Promise.resolve(reads), { ...end, repartition: 'open-repartition' }, positions),
      ).toBe(false);
    } finally {
      await reads.disconnect();
      await producer.disconnect();
      await admin.disconnect();
    }
  });
});
