// pbx's producer against a broker that throttles it: a client quota (producer_byte_rate) on its client id, set
// with Kafka's own kafka-configs.sh in the broker's container. The broker answers first and tells the client how
// long to wait (KIP-219); pbx's produce path must hand that wait to kafkajs's request queue, as kafkajs does,
// and still deliver every record once, in order.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BatchProducer } from '../../src/clients/batch-producer';
import { loadKafkajs } from '../../src/clients/kafka';
import { purge, sh, testProject } from '../support/stack';

const PORT = 29395;
const BROKER = `127.0.0.1:${PORT}`;
const project = testProject('itthrottle', `services:\n  kafka: {port: ${PORT}, mode: kraft}\n`);
const require = createRequire(import.meta.url);
const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as {
  prototype: { maybeThrottle: (this: unknown, ms: number | undefined) => void };
};

/** Bytes per second the quota allows. Kafka measures a rate over at least ten one-second windows, so a client
 * is throttled once it has sent more than ten seconds' worth: here 2.5 MiB. */
const QUOTA = 256 * 1024;
const RECORDS = 3600;
const VALUE_BYTES = 1000;

beforeAll(async () => {
  await purge(project.name);
  const up = await project.pbx(['up', 'kafka']);
  expect(up.exitCode, up.stderr).toBe(0);
});
afterAll(() => purge(project.name));
afterEach(() => {
  vi.restoreAllMocks();
});

async function createTopic(topic: string): Promise<void> {
  const { Kafka, logLevel } = await loadKafkajs();
  const admin = new Kafka({ brokers: [BROKER], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
}

/**
 * A producer byte-rate quota on one client id, set by Kafka's kafka-configs.sh (its class: pbx's image keeps
 * only the launchers it needs) through the broker's listener for the pbx network.
 */
async function setQuota(clientId: string, bytesPerSecond: number): Promise<void> {
  await sh('docker', [
    'exec',
    '-e',
    'KAFKA_HEAP_OPTS=-Xmx128m',
    `pbx-${project.name}-kafka`,
    'kafka-run-class.sh',
    'kafka.admin.ConfigCommand',
    '--bootstrap-server',
    'kafka:29092',
    '--alter',
    '--add-config',
    `producer_byte_rate=${bytesPerSecond}`,
    '--entity-type',
    'clients',
    '--entity-name',
    clientId,
  ]);
}

describe("pbx's producer under a broker's quota", () => {
  it('waits out the throttle time the broker gives it, and delivers every record once, in order', async () => {
    const suffix = randomBytes(4).toString('hex');
    const topic = `throttled-${suffix}`;
    const clientId = `pbx-throttled-${suffix}`;
    await createTopic(topic);
    await setQuota(clientId, QUOTA);
    const throttles: number[] = [];
    const maybeThrottle = RequestQueue.prototype.maybeThrottle;
    vi.spyOn(RequestQueue.prototype, 'maybeThrottle').mockImplementation(function (this: unknown, ms) {
      if (ms !== undefined && ms > 0) throttles.push(ms);
      maybeThrottle.call(this, ms);
    });

    const delivered: number[] = [];
    const producer = await BatchProducer.connect<number>({
      kafka: { brokers: [BROKER], clientId },
      topics: [topic],
      batchBytes: 64 * 1024,
      onDelivered: (mark) => delivered.push(mark),
    });
    const started = Date.now();
    const values = Array.from(
      { length: RECORDS },
      (_, i) => `${String(i).padStart(6, '0')}:${'x'.repeat(VALUE_BYTES)}`,
    );
    try {
      for (let i = 0; i < RECORDS; i += 100) {
        for (const value of values.slice(i, i + 100)) producer.append(topic, 0, null, value, [], Date.now());
        await producer.send(i);
      }
      await producer.flush();
    } finally {
      await producer.disconnect();
    }
    const elapsed = Date.now() - started;

    // Throttled: the broker asked for waits, and the run lasted at least the longest of them (unthrottled, these
    // 3.5 MB take well under a second here).
    expect(throttles.length).toBeGreaterThan(0);
    expect(elapsed).toBeGreaterThanOrEqual(Math.max(...throttles));
    // Every send delivered, in send order, and the topic holds each record once, in file order.
    expect(delivered).toEqual(Array.from({ length: RECORDS / 100 }, (_, i) => i * 100));
    const consumed = await sh('kcat', ['-b', BROKER, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%s\n']);
    expect(consumed.split('\n').filter(Boolean)).toEqual(values);
  });
});
