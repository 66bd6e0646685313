// The tables a pipeline joins with, looked up by the record's key: a compacted topic (read whole before the first
// lookup, then followed as it changes), a Cassandra table (a prepared query by a key column) or Redis (a JSON value
// under prefix + key). A join sees the table as it stands when the record passes.
import type { Kafka } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import type { Client } from 'cassandra-driver';
import type { Redis } from 'ioredis';
import { createCassandraClient } from '../../clients/cassandra';
import { createRedisClient } from '../../clients/redis';
import type { ResolvedConfig } from '../../config/load';
import { cassandraEndpoint, redisEndpoint } from '../../services/endpoints';
import type { Step, TableSpec } from '../api';

type JoinStep = Extract<Step, { kind: 'join' }>;

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

export class Tables {
  private readonly topics = new Map<string, Promise<Map<string, unknown>>>();
  private readonly followers: Array<{ disconnect(): Promise<void> }> = [];
  private cassandra?: Promise<Client>;
  private redis?: Promise<Redis>;

  constructor(
    private readonly kafka: Kafka,
    private readonly config: ResolvedConfig,
  ) {}

  /** The row of `key` in a join's table; undefined when there is none (or the record has no key). */
  readonly lookup = async (step: JoinStep, key: string | null): Promise<unknown> => {
    if (key === null) return undefined;
    const table: TableSpec = step.table;
    switch (table.kind) {
      case 'topic':
        return (await this.topicTable(table.topic)).get(key);
      case 'cassandra': {
        const client = await (this.cassandra ??= this.connectCassandra());
        const query = `SELECT * FROM "${table.keyspace}"."${table.table}" WHERE "${table.column}" = ? LIMIT 1`;
        const row = (await client.execute(query, [key], { prepare: true })).first();
        return row ? Object.fromEntries(row.keys().map((k) => [k, row.get(k) as unknown])) : undefined;
      }
      case 'redis': {
        const client = await (this.redis ??= this.connectRedis());
        const value = await client.get(`${table.prefix}${key}`);
        return value === null ? undefined : parse(value);
      }
    }
  };

  async close(): Promise<void> {
    await Promise.all(this.followers.map((f) => f.disconnect().catch(() => undefined)));
    if (this.cassandra) await (await this.cassandra).shutdown().catch(() => undefined);
    if (this.redis) (await this.redis).disconnect();
  }

  /** A compacted topic as a map, complete up to its end when first asked, and kept up to date after. */
  private topicTable(topic: string): Promise<Map<string, unknown>> {
    let table = this.topics.get(topic);
    if (!table) {
      table = this.follow(topic);
      this.topics.set(topic, table);
    }
    return table;
  }

  private async follow(topic: string): Promise<Map<string, unknown>> {
    const rows = new Map<string, unknown>();
    const admin = this.kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
    const pending = new Map(
      ends.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]),
    );
    // No group of its own to keep: a throwaway one, always read from the beginning.
    const consumer = this.kafka.consumer({ groupId: `pbx-table-${randomUUID()}`, maxWaitTimeInMs: 200 });
    this.followers.push(consumer);
    let loaded!: () => void;
    const ready = new Promise<void>((resolve) => (loaded = resolve));
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const end = pending.get(payload.partition);
      if (end !== undefined && BigInt(payload.lastOffset) + 1n >= end) pending.delete(payload.partition);
      if (pending.size === 0) loaded();
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        const key = message.key?.toString();
        if (key !== undefined) {
          if (message.value === null) rows.delete(key);
          else rows.set(key, parse(message.value.toString()));
        }
        return Promise.resolve();
      },
    });
    if (pending.size === 0) loaded();
    await ready;
    return rows;
  }

  private async connectCassandra(): Promise<Client> {
    const client = await createCassandraClient(cassandraEndpoint(this.config));
    await client.connect();
    return client;
  }

  private async connectRedis(): Promise<Redis> {
    const client = await createRedisClient(redisEndpoint(this.config));
    await client.connect();
    return client;
  }
}
