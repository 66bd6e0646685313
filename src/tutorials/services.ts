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
  close(): Promise<void>;
}

/** A service that does not answer, with where it was asked: a check reports it as what it found. */
export class ServiceDown extends Error {
  constructor(service: string, address: string, cause: unknown) {
    super(`${service} does not answer at ${address} (${(cause as Error).message})`);
    this.name = 'ServiceDown';
  }
}

/** The services of the project at `dir` (its pbx.yaml read now). */
export function projectServices(dir: string): Services {
  const config = loadConfig({ file: `${dir}/pbx.yaml` });
  let kafka: Promise<{ kafka: Kafka; admin: Admin }> | undefined;
  let cassandra: Promise<Client> | undefined;
  let redis: Promise<Redis> | undefined;
  const down = (service: 'kafka' | 'cassandra' | 'redis', name: string) => (error: unknown) => {
    throw error instanceof ServiceDown
      ? error
      : new ServiceDown(name, endpointOf(config, service).addresses[0]!, error);
  };
  const kafkaAdmin = () => {
    kafka ??= (async () => {
      const client = await createKafka(kafkaEndpoint(config), {
        clientId: 'pbx-tutorial',
        connectionTimeout: 2000,
        requestTimeout: 5000,
        retry: { retries: 0 },
      });
      const admin = client.admin();
      await admin.connect();
      return { kafka: client, admin };
    })().catch((error: unknown) => {
      kafka = undefined;
      throw error;
    });
    return kafka;
  };
  const cassandraClient = () => {
    cassandra ??= (async () => {
      const client = await createCassandraClient(cassandraEndpoint(config), {
        socketOptions: { connectTimeout: 2000, readTimeout: 10_000 },
      });
      await client.connect();
      return client;
    })().catch((error: unknown) => {
      cassandra = undefined;
      throw error;
    });
    return cassandra;
  };
  return {
    config,
    async topicRecords(topic) {
      try {
        const { admin } = await kafkaAdmin();
        const topics = await admin.listTopics();
        if (!topics.includes(topic)) return undefined;
        const offsets = await admin.fetchTopicOffsets(topic);
        return offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
      } catch (error) {
        return down('kafka', 'Kafka')(error);
      }
    },
    async groupMembers(groupId) {
      try {
        const { admin } = await kafkaAdmin();
        const { groups } = await admin.describeGroups([groupId]);
        return groups[0]?.members.length ?? 0;
      } catch (error) {
        return down('kafka', 'Kafka')(error);
      }
    },
    async readRecords(topic, limit) {
      try {
        const { kafka: client, admin } = await kafkaAdmin();
        const offsets = await admin.fetchTopicOffsets(topic);
        const ranges = offsets.map((o) => ({
          partition: o.partition,
          from: BigInt(o.low),
          end: BigInt(Math.min(Number(o.high), Number(o.low) + limit)),
        }));
        const messages: KafkaMessage[] = [];
        await readPartitions(client, topic, ranges, (_, message) => messages.push(message), 30_000);
        return messages;
      } catch (error) {
        return down('kafka', 'Kafka')(error);
      }
    },
    async query(cql, params = []) {
      try {
        const client = await cassandraClient();
        const rows: Record<string, unknown>[] = [];
        let pageState: string | undefined;
        do {
          const result = await client.execute(cql, params, { prepare: true, fetchSize: 5000, pageState });
          for (const row of result.rows) rows.push(Object.fromEntries(row.keys().map((k) => [k, row.get(k)])));
          pageState = result.pageState ?? undefined;
        } while (pageState);
        return rows;
      } catch (error) {
        if ((error as { name?: string }).name === 'ResponseError') throw error;
        return down('cassandra', 'Cassandra')(error);
      }
    },
    redis() {
      redis ??= (async () => {
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
        client.on('end', () => (redis = undefined));
        await client.connect().catch((error: unknown) => {
          throw reason ?? error;
        });
        return client;
      })().catch((error: unknown) => {
        redis = undefined;
        return down('redis', 'Redis')(error);
      });
      return redis;
    },
    async close() {
      const closing: Promise<unknown>[] = [];
      if (kafka) closing.push(kafka.then(({ admin }) => admin.disconnect()));
      if (cassandra) closing.push(cassandra.then((c) => c.shutdown()));
      if (redis) closing.push(redis.then((r) => r.quit()));
      await Promise.allSettled(closing);
    },
  };
}
