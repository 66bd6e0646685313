import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import type { ResolvedConfig } from '../config/load';
import type { ServiceName } from '../config/schema';
import { createCassandraClient } from '../clients/cassandra';
import { createKafka } from '../clients/kafka';
import { createRedisClient } from '../clients/redis';
import { ensureTopics, type TopicRequest } from '../clients/topics';
import { cqlReleaseVersion } from './cql-check';
import { cassandraEndpoint, endpointOf, kafkaEndpoint, redisEndpoint } from './endpoints';
import { isExternal, SERVICES } from './catalog';
import type { ServiceNode } from './types';
import { withTimeout } from '../async';

/** `full` proves the service does its job (Kafka: a record round trip); `quick` is for status checks. */
export type ProbeDepth = 'full' | 'quick';

/** Internal topic for Kafka's round-trip check; short retention so it never grows. */
export const KAFKA_CHECK_TOPIC = '__pbx_ready';
const CHECK_TOPIC: TopicRequest = {
  name: KAFKA_CHECK_TOPIC,
  namedIn: "pbx's readiness check",
  settings: { 'retention.ms': '3600000' },
};

/**
 * One readiness attempt with the probe the service's definition names: resolves with what the service answered,
 * rejects when it did not answer properly (with a RefusedError when it refused pbx). Callers poll it; it never waits
 * longer than a few seconds. With `node`, one of several brokers is proven: it answers on its own address and the
 * cluster counts it.
 */
export async function probeOnce(
  config: ResolvedConfig,
  service: ServiceName,
  depth: ProbeDepth,
  node?: ServiceNode,
): Promise<string> {
  try {
    const endpoint = endpointOf(config, service);
    switch (SERVICES[service].ready.kind) {
      case 'zookeeper-ruok':
        return await probeZookeeper(endpoint.addresses[0]!);
      case 'kafka-roundtrip': {
        // On someone else's cluster pbx only reads metadata; it creates nothing there.
        if (endpoint.external) return await kafkaMetadata(config);
        const broker = node && node.count > 1 ? node : undefined;
        if (depth === 'quick') return await kafkaMetadata(config, broker);
        if (broker) await kafkaMetadata(config, broker);
        return await kafkaRoundTrip(config);
      }
      case 'cassandra-cql':
        return await probeCassandra(config);
      case 'redis-ping':
        return await probeRedis(config);
    }
  } catch (error) {
    throw asRefusal(error);
  }
}

/**
 * The service answered but refused pbx: wrong credentials, or a certificate pbx does not trust. Asking again will
 * not change the answer.
 */
export class RefusedError extends Error {}

// Authentication failures as each client names them; TLS verification failures as Node and bun word them.
const REFUSED_NAMES = new Set(['AuthenticationError', 'KafkaJSSASLAuthenticationError']);
const REFUSED_MESSAGE = /^(WRONGPASS|NOAUTH)|certificate|self[- ]signed/i;

/** The error's own reason (a driver's "all hosts failed" wraps it), as a RefusedError when it is one. */
function asRefusal(error: unknown): unknown {
  const inner = (error as { innerErrors?: Record<string, unknown> }).innerErrors;
  const reason = (inner && Object.values(inner)[0]) ?? error;
  if (!(reason instanceof Error)) return error;
  if (REFUSED_NAMES.has(reason.name) || REFUSED_MESSAGE.test(reason.message)) return new RefusedError(reason.message);
  return reason === error ? error : new Error(reason.message);
}

/** Sends a ZooKeeper four-letter word and returns the reply, which ends when ZooKeeper closes the connection. */
export function fourLetterWord(address: string, word: string, timeoutMs = 2000): Promise<string> {
  const [host, port] = splitAddress(address);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer to ${word} within ${timeoutMs} ms`)));
    socket.on('connect', () => socket.end(word));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

async function probeZookeeper(address: string): Promise<string> {
  const answer = await fourLetterWord(address, 'ruok');
  if (answer.trim() !== 'imok') throw new Error(`ruok answered "${answer.trim()}" instead of imok`);
  const srvr = await fourLetterWord(address, 'srvr');
  const mode = /Mode: (\w+)/.exec(srvr)?.[1];
  if (!mode) throw new Error('srvr did not report a mode (still starting)');
  return `imok, mode ${mode}`;
}

/** A client of the whole cluster, or of one broker when `broker` is given (its own address the only one it knows first). */
function newKafka(config: ResolvedConfig, broker?: ServiceNode) {
  const endpoint = kafkaEndpoint(config);
  const brokers = broker ? endpointOf(config, 'kafka', broker).addresses : endpoint.brokers;
  return createKafka(
    { ...endpoint, brokers },
    {
      clientId: 'pbx-ready',
      connectionTimeout: 2000,
      requestTimeout: 5000,
      retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 },
    },
  );
}

/**
 * The cluster's brokers and controller; with `broker`, asked of that broker first (a client's first connection is to
 * its own address), and it must be among the brokers the cluster counts (registered, not fenced).
 */
async function kafkaMetadata(config: ResolvedConfig, broker?: ServiceNode): Promise<string> {
  const admin = (await newKafka(config, broker)).admin();
  await admin.connect();
  try {
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error('no broker in the cluster metadata');
    const counted = `${cluster.brokers.length} broker${cluster.brokers.length > 1 ? 's' : ''}`;
    if (broker && !cluster.brokers.some((b) => b.nodeId === broker.index)) {
      throw new Error(`answers, but is not among the cluster's ${counted} yet`);
    }
    return `${counted}, controller ${cluster.controller}`;
  } finally {
    await admin.disconnect();
  }
}

/** What a Kafka cluster says of its replication, for `pbx status`. */
export interface KafkaReplication {
  /** The brokers the cluster counts (registered and not fenced). */
  brokers: number;
  /** Partitions, Kafka's own topics' included, with fewer replicas in sync than they have: a broker is down or behind. */
  underReplicatedPartitions: number;
}

/** The cluster's brokers and its under-replicated partitions, from one metadata answer of the whole cluster. */
export async function kafkaReplication(config: ResolvedConfig): Promise<KafkaReplication> {
  const admin = (await newKafka(config)).admin();
  await admin.connect();
  try {
    const [{ brokers }, { topics }] = await Promise.all([admin.describeCluster(), admin.fetchTopicMetadata()]);
    const partitions = topics.flatMap((topic) => topic.partitions);
    const under = partitions.filter((partition) => partition.isr.length < partition.replicas.length);
    return { brokers: brokers.length, underReplicatedPartitions: under.length };
  } finally {
    await admin.disconnect();
  }
}

/** Produces a unique record to the check topic and consumes it back: Kafka works end to end. */
async function kafkaRoundTrip(config: ResolvedConfig): Promise<string> {
  const kafka = await newKafka(config);
  const started = Date.now();
  const token = randomUUID();
  const groupId = `pbx-ready-${token}`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await Promise.all([
      ensureTopics(admin, [CHECK_TOPIC], { endpoint: kafkaEndpoint(config), refusedSteps: [] }),
      // Looking up the group's coordinator makes a new broker create its offsets topic now, alongside the
      // check topic, rather than when the consumer below first asks. Its answer does not matter.
      admin.describeGroups([groupId]).catch(() => undefined),
    ]);
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  let offset: string;
  try {
    const [record] = await producer.send({ topic: KAFKA_CHECK_TOPIC, acks: -1, messages: [{ value: token }] });
    offset = record!.baseOffset!;
  } finally {
    await producer.disconnect();
  }
  // A group of its own per check, never committed: nothing stale to rebalance with, nothing left behind.
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  try {
    // kafkajs needs subscribe → run → seek, in that order.
    await consumer.subscribe({ topic: KAFKA_CHECK_TOPIC, fromBeginning: false });
    const received = new Promise<void>((resolve, reject) => {
      // On a new broker the first group finds no coordinator until the offsets topic exists; kafkajs then
      // restarts the consumer after a long backoff. Failing this attempt at once lets the next one join.
      consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
      void consumer.run({
        autoCommit: false,
        eachMessage: ({ message }) => {
          if (message.value?.toString() === token) resolve();
          return Promise.resolve();
        },
      });
    });
    consumer.seek({ topic: KAFKA_CHECK_TOPIC, partition: 0, offset });
    await withTimeout(received, 10_000, 'the record produced was not consumed back within 10 s');
  } finally {
    await consumer.disconnect();
  }
  return `produce/consume round trip in ${Date.now() - started} ms`;
}

async function probeCassandra(config: ResolvedConfig): Promise<string> {
  if (!isExternal(config, 'cassandra')) {
    const [host, port] = splitAddress(endpointOf(config, 'cassandra').addresses[0]!);
    return `Cassandra ${await cqlReleaseVersion(host, port)}`;
  }
  // Someone else's Cassandra may want credentials and TLS: the driver speaks them.
  const client = await createCassandraClient(cassandraEndpoint(config), {
    socketOptions: { connectTimeout: 2000, readTimeout: 5000 },
    isMetadataSyncEnabled: false,
  });
  try {
    await client.connect();
    const result = await client.execute('SELECT release_version FROM system.local');
    return `Cassandra ${String(result.first()?.get('release_version'))}`;
  } finally {
    await client.shutdown();
  }
}

async function probeRedis(config: ResolvedConfig): Promise<string> {
  const client = await createRedisClient(redisEndpoint(config), {
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // ioredis reports why it gave up here (a refused AUTH, say); the ping then only says the connection closed.
  let why: Error | undefined;
  client.on('error', (error: Error) => (why ??= error));
  try {
    await client.connect();
    const answer: string = await client.ping();
    if (answer !== 'PONG') throw new Error(`PING answered ${answer}`);
    return answer;
  } catch (error) {
    throw why ?? error;
  } finally {
    client.disconnect();
  }
}

function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at), Number(address.slice(at + 1))];
}
