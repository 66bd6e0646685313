// Pipeline figures through Kafka: two replicas publish once a second to the figures topic, and one reader (as pbx top
// or the parent of pbx run --replicas 2 would) sees both, their figures as published, and each gone when it stops.
import { randomBytes } from 'node:crypto';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, loadKafkajs } from '../../src/clients/kafka';
import { Figures, type PipelineFigures } from '../../src/pipelines/runtime/figures';
import { ensureFiguresTopic, publishFigures, readFigures } from '../../src/pipelines/runtime/figures-topic';
import { freePort, purge, startStack, testProject } from '../support/stack';
import { waitFor } from '../support/wait';

const PORT = await freePort();
const endpoint = { brokers: [`127.0.0.1:${PORT}`] };
const project = testProject('itfigures', `services:\n  kafka: {port: ${PORT}, mode: kraft}\n`);
let kafka: Kafka;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  await startStack(project, 'kafka');
  kafka = await createKafka(endpoint, { clientId: 'pbx-it-figures' });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer();
  await producer.connect();
});
afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await purge(project.name);
});

describe('figures through the figures topic', () => {
  it('makes the topic compacted and deleted, with a short retention', async () => {
    const topic = `pbx-figures-${randomBytes(3).toString('hex')}`;
    await ensureFiguresTopic({ admin, endpoint, topic });
    await ensureFiguresTopic({ admin, endpoint, topic }); // again: taken as it is
    const { ConfigResourceTypes } = await loadKafkajs();
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['cleanup.policy', 'retention.ms'] }],
    });
    const settings = Object.fromEntries(resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
    expect(settings).toEqual({ 'cleanup.policy': 'compact,delete', 'retention.ms': '600000' });
  });

  it('publishes two replicas once a second, and one reader sees both until each stops', async () => {
    const topic = `pbx-figures-${randomBytes(3).toString('hex')}`;
    await ensureFiguresTopic({ admin, endpoint, topic });
    const replicas = ['0', '1'].map(
      (replica) => new Figures({ pipeline: 'reviews', replica, operators: ['filter', 'map'] }),
    );
    const shown: PipelineFigures[] = [];
    const errors: unknown[] = [];
    const publishers = replicas.map((figures, i) =>
      publishFigures({
        figures,
        producer,
        topic,
        onSnapshot: (s) => shown.push(s),
        onError: (error) => errors.push(error),
        everyMs: 1000 + i * 100,
      }),
    );
    const feeding = setInterval(() => {
      replicas.forEach((figures, i) => {
        figures.consumed(100 * (i + 1));
        figures.operator(0).in(100 * (i + 1));
        figures.operator(0).out(50 * (i + 1));
        figures.endToEnd(Date.now() - 20, Date.now());
        figures.lag('reviews', i, 90, 100);
      });
    }, 100);
    const groupsBefore = (await admin.listGroups()).groups;
    const reader = await readFigures({ endpoint, admin, topic, pipeline: 'reviews' });
    try {
      const both = await waitFor(() => reader.replicas(), {
        what: 'both replicas with figures of records read',
        timeout: 30_000,
        until: (seen) => seen.length === 2 && seen.every((f) => f.consumed.total > 0),
      });
      expect(both.map((f) => [f.pipeline, f.replica, f.pid])).toEqual([
        ['reviews', '0', process.pid],
        ['reviews', '1', process.pid],
      ]);
      // What the reader has is what was published, as the publisher's own view saw it.
      for (const f of both) expect(shown).toContainEqual(f);
      expect(both[1]!.operators[0]!.in.total).toBeGreaterThan(both[0]!.operators[0]!.in.total);
      expect(both[0]!.lag).toEqual([{ topic: 'reviews', partition: 0, lag: 10 }]);
      expect(both[0]!.endToEnd.run.p50).toBeGreaterThanOrEqual(20);
      // It reads with no consumer group: none to list among the cluster's.
      expect((await admin.listGroups()).groups).toEqual(groupsBefore);

      // The updates: each yields the latest of both.
      const updates = reader.updates()[Symbol.asyncIterator]();
      const next = await updates.next();
      expect(next.value).toHaveLength(2);
      await updates.return?.();

      clearInterval(feeding);
      replicas[1]!.stopping();
      await publishers[1]!.stop();
      const left = await waitFor(() => reader.replicas(), {
        what: 'replica 1 gone once it stopped',
        timeout: 10_000,
        until: (seen) => seen.length === 1,
      });
      expect(left[0]!.replica).toBe('0');
    } finally {
      clearInterval(feeding);
      await Promise.all(publishers.map((p) => p.stop()));
      await reader.close();
    }
    expect(errors).toEqual([]);
  });

  it('a reader that starts later finds the replicas publishing now, not those gone long ago', async () => {
    const topic = `pbx-figures-${randomBytes(3).toString('hex')}`;
    await ensureFiguresTopic({ admin, endpoint, topic });
    // One gone a minute ago, and one gone 8 s ago: within the reader's look back (10 s), but longer ago than it
    // keeps a replica not heard from (5 s), by the time its record says.
    const gone = [60_000, 8000].map((ago, i) => {
      const snapshot = new Figures({ pipeline: 'old', replica: String(i), operators: [] }).snapshot(Date.now() - ago);
      return { key: `old/${i}`, value: JSON.stringify(snapshot), timestamp: String(snapshot.time) };
    });
    await producer.send({ topic, messages: gone });
    const live = publishFigures({
      figures: new Figures({ pipeline: 'words', replica: '3', operators: [] }),
      producer,
      topic,
    });
    try {
      // A snapshot of the live replica is in the topic before the reader starts.
      await waitFor(async () => (await admin.fetchTopicOffsets(topic))[0]!.high, {
        what: 'a snapshot after the old one',
        timeout: 10_000,
        until: (high) => Number(high) >= 3,
      });
      const reader = await readFigures({ endpoint, admin, topic });
      try {
        const seen = await waitFor(() => reader.replicas(), {
          what: 'the live replica',
          timeout: 15_000,
          until: (s) => s.length > 0,
        });
        expect(seen.map((f) => `${f.pipeline}/${f.replica}`)).toEqual(['words/3']);
        await reader.caughtUp;
        expect(reader.replicas().map((f) => `${f.pipeline}/${f.replica}`)).toEqual(['words/3']);
      } finally {
        await reader.close();
      }
    } finally {
      await live.stop();
    }
  });
});
