// The learner's services as a tutorial's checks see them: clients made on first use from the project's pbx.yaml,
// failing fast (a check runs about every second: a service that does not answer is a finding, not a wait).
import type { Client } from 'cassandra-driver';
import type { Redis } from 'ioredis';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { createCassandraClient } from '../clients/cassandra';
import { createKafka } from '../clients/kafka';
import { readPartitions } from '../clients/read-partitions';
import { createRedisClient } from '../clients/redis';
import { loadConfig, type ResolvedConfig } from '../config/load';
import { cassandraEndpoint, endpointOf, kafkaEndpoint, redisEndpoint } from '../services/endpoints';
import type { Collector } from '../top/collect';
import type { Snapshot } from '../top/snapshot';

/** What checks ask of the services; every method throws ServiceDown when the service does not answer. */
export interface Services {
  readonly config: ResolvedConfig;
  /** The records a topic holds (the sum of its partitions' end minus start offsets); undefined: no such topic. */
  topicRecords(topic: string): Promise<number | undefined>;
  /** How many members a consumer group has now (0: none, or no such group). */
  groupMembers(groupId: string): Promise<number>;
  /** The first `limit` records of each partition of a topic. */
  readRecords(topic: string, limit: number): Promise<KafkaMessage[]>;
  /** Every row a CQL query gives (all pages), as plain objects. */
  query(cql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  redis(): Promise<Redis>;
  /** What `pbx top` shows now: its own collector, kept from check to check (its rates and figures need two looks). */
  top(): Promise<Snapshot>;
  close(): Promise<void>;
}

/** A service that does not answer, with where it was asked: a check reports it as what it found. */
export class ServiceDown extends Error {
  constructor(service: string, address: string, cause: unknown) {
    super(`${service} does not answer at ${address} (${(cause as Error).message})`);
    this.name = 'ServiceDown';
  }
}

/** A client made on first use, and made again when making it failed or it ended. */
interface Lazy<T> {
  get(): Promise<T>;
  /** The client if one was made (to close it). */
  made(): Promise<T> | undefined;
}

function lazy<T>(make: (forget: () => void) => Promise<T>): Lazy<T> {
  let client: Promise<T> | undefined;
  const forget = () => (client = undefined);
  return {
    get: () =>
      (client ??= make(forget).catch((error: unknown) => {
        forget();
        throw error;
      })),
    made: () => client,
  };
}

async function connectKafka(config: ResolvedConfig): Promise<{ kafka: Kafka; admin: Admin }> {
  const kafka = await createKafka(kafkaEndpoint(config), {
    clientId: 'pbx-tutorial',
    connectionTimeout: 2000,
    requestTimeout: 5000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  await admin.connect();
  return { kafka, admin };
}

async function connectCassandra(config: ResolvedConfig): Promise<Client> {
  const client = await createCassandraClient(cassandraEndpoint(config), {
    socketOptions: { connectTimeout: 2000, readTimeout: 10_000 },
  });
  await client.connect();
  return client;
}

async function connectRedis(config: ResolvedConfig, onEnd: () => void): Promise<Redis> {
  const client = await createRedisClient(redisEndpoint(config), {
    connectTimeout: 2000,
    commandTimeout: 5000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // Errors reach the check through the command that failed; the event is kept for its reason.
  let reason: Error | undefined;
  client.on('error', (error: Error) => (reason = error));
  client.on('end', onEnd);
  await client.connect().catch((error: unknown) => {
    throw reason ?? error;
  });
  return client;
}

/** Every row of a CQL query, page after page, as plain objects. */
async function allRows(client: Client, cql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  let pageState: string | undefined;
  do {
    const result = await client.execute(cql, params, { prepare: true, fetchSize: 5000, pageState });
    for (const row of result.rows) rows.push(Object.fromEntries(row.keys().map((k) => [k, row.get(k)])));
    pageState = result.pageState ?? undefined;
  } while (pageState);
  return rows;
}

/** The first `limit` records of each partition of a topic (read_committed). */
async function firstRecords(kafka: Kafka, admin: Admin, topic: string, limit: number): Promise<KafkaMessage[]> {
  const offsets = await admin.fetchTopicOffsets(topic);
  const ranges = offsets.map((o) => ({
    partition: o.partition,
    from: BigInt(o.low),
    end: BigInt(Math.min(Number(o.high), Number(o.low) + limit)),
  }));
  const messages: KafkaMessage[] = [];
  await readPartitions(kafka, topic, ranges, (_, message) => messages.push(message), 30_000);
  return messages;
}

/** The services of the project at `dir` (its pbx.yaml read now). */
export function projectServices(dir: string): Services {
  const config = loadConfig({ file: `${dir}/pbx.yaml` });
  const kafka = lazy(() => connectKafka(config));
  const cassandra = lazy(() => connectCassandra(config));
  const redis = lazy((forget) => connectRedis(config, forget));
  // Loaded when a check asks: pbx top's collector is not needed by the other checks.
  const top = lazy<Collector>(async () => (await import('../top/collect')).createCollector({ config }));
  /** Runs `ask`; a failure that is not the service's own answer becomes ServiceDown, saying where it was asked. */
  const asking = async <T>(service: 'kafka' | 'cassandra' | 'redis', ask: () => Promise<T>): Promise<T> => {
    try {
      return await ask();
    } catch (error) {
      // Cassandra answering with an error (no such table) is an answer: the check words it.
      if (error instanceof ServiceDown || (error as { name?: string }).name === 'ResponseError') throw error;
      const name = { kafka: 'Kafka', cassandra: 'Cassandra', redis: 'Redis' }[service];
      throw new ServiceDown(name, endpointOf(config, service).addresses[0]!, error);
    }
  };
  return {
    config,
    topicRecords: (topic) =>
      asking('kafka', async () => {
        const { admin } = await kafka.get();
        if (!(await admin.listTopics()).includes(topic)) return undefined;
        const offsets = await admin.fetchTopicOffsets(topic);
        return offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
      }),
    groupMembers: (groupId) =>
      asking('kafka', async () => {
        const { groups } = await (await kafka.get()).admin.describeGroups([groupId]);
        return groups[0]?.members.length ?? 0;
      }),
    readRecords: (topic, limit) =>
      asking('kafka', async () => {
        const client = await kafka.get();
        return firstRecords(client.kafka, client.admin, topic, limit);
      }),
    query: (cql, params = []) => asking('cassandra', async () => allRows(await cassandra.get(), cql, params)),
    redis: () => asking('redis', () => redis.get()),
    // The collector says itself when Kafka does not answer (snapshot.kafka): nothing to word here.
    top: async () => (await top.get()).collect(),
    async close() {
      await Promise.allSettled([
        kafka.made()?.then(({ admin }) => admin.disconnect()),
        cassandra.made()?.then((client) => client.shutdown()),
        redis.made()?.then((client) => client.quit()),
        top.made()?.then((collector) => collector.close()),
      ]);
    },
  };
}
