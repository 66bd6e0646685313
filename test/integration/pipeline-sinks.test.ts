// The pipeline sinks against pbx's own Cassandra and Redis: a batch written twice leaves exactly the values once; a
// value that cannot be written is a SinkRecordError while the rest land; a sink that is away is a SinkDownError.
import type { Client } from 'cassandra-driver';
import { execa } from 'execa';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/cli/errors';
import { createCassandraClient } from '../../src/clients/cassandra';
import { loadConfig } from '../../src/config/load';
import { cassandra, redis, type SinkSpec, type StreamRecord } from '../../src/pipelines/api';
import { openCassandraSink } from '../../src/pipelines/sinks/cassandra';
import { SinkDownError, SinkRecordError } from '../../src/pipelines/sinks/errors';
import { openRedisSink } from '../../src/pipelines/sinks/redis';
import type { SinkWrite, SinkWriter } from '../../src/pipelines/sinks/types';
import { cassandraEndpoint, redisEndpoint } from '../../src/services/endpoints';
import { containerOf, freePort, purge, startStack, testProject } from '../support/stack';
import { rejectionOf, waitFor } from '../support/wait';

const P = { cassandra: await freePort(), redis: await freePort() };
const project = testProject('itsinks', `services:\n  cassandra: {port: ${P.cassandra}}\n  redis: {port: ${P.redis}}\n`);
const config = loadConfig({ file: project.file });
let cql: Client;
let plain: Redis;
const writers: SinkWriter[] = [];

function record(partition: number, offset: number): StreamRecord {
  return {
    topic: 'src',
    partition,
    offset: String(offset),
    key: null,
    headers: {},
    timestamp: 1_700_000_000_000,
    time: 0,
  };
}
const writesOf = (values: unknown[]): SinkWrite[] =>
  values.map((value, i) => ({ value, key: null, record: record(i % 2, Math.floor(i / 2)) }));
async function open<T extends SinkWriter>(writer: Promise<T>): Promise<T> {
  const opened = await writer;
  writers.push(opened);
  return opened;
}

beforeAll(async () => {
  await startStack(project, 'cassandra', 'redis');
  cql = await createCassandraClient(cassandraEndpoint(config));
  await cql.connect();
  await cql.execute("CREATE KEYSPACE sinks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  await cql.execute(
    'CREATE TABLE sinks.per_hour (key text, window_start timestamp, window_end timestamp, count bigint, ' +
      'tags set<text>, PRIMARY KEY (key, window_start))',
  );
  await cql.execute('CREATE TABLE sinks.hits (key text PRIMARY KEY, n counter)');
  plain = new Redis({ port: P.redis, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  plain.on('error', () => {}); // it reconnects by itself after the container's stop below
  await plain.connect();
});
afterAll(async () => {
  await Promise.all(writers.map((w) => w.close().catch(() => {})));
  await cql?.shutdown();
  plain?.disconnect();
  await purge(project.name);
});

const HOUR = 3_600_000;
const counts = Array.from({ length: 300 }, (_, i) => ({
  key: `movie-${i % 30}`,
  window_start: Math.floor(i / 30) * HOUR,
  window_end: new Date((Math.floor(i / 30) + 1) * HOUR).toISOString(),
  count: i * 1000,
  tags: ['a', String(i % 3)],
  extra: 'no column',
}));

describe('the Cassandra sink', () => {
  it('writes a batch twice and the table holds each value once; a field with no column is reported once', async () => {
    const sink = await open(
      openCassandraSink(
        cassandra('sinks.per_hour') as Extract<SinkSpec, { kind: 'cassandra' }>,
        cassandraEndpoint(config),
      ),
    );
    expect(sink.name).toBe('cassandra sinks.per_hour');
    await sink.write(writesOf(counts));
    await sink.write(writesOf(counts));
    expect(sink.takeWarnings()).toEqual([
      'cassandra sinks.per_hour: values have a field extra with no column of that name; it is not written.',
    ]);
    expect(sink.takeWarnings()).toEqual([]);
    const rows = (await cql.execute('SELECT * FROM sinks.per_hour', [], { fetchSize: 10_000 })).rows;
    const seen = rows
      .map((r) => ({
        key: r.get('key') as string,
        window_start: (r.get('window_start') as Date).getTime(),
        window_end: (r.get('window_end') as Date).toISOString(),
        count: Number(r.get('count')),
        tags: [...(r.get('tags') as string[])].sort(),
      }))
      .sort((a, b) => a.count - b.count);
    expect(seen).toEqual(counts.map(({ extra: _, ...c }) => ({ ...c, tags: [...c.tags].sort() })));
  });

  it('refuses values missing a key column or of the wrong type, naming them, and writes the others', async () => {
    const sink = await open(
      openCassandraSink({ kind: 'cassandra', keyspace: 'sinks', table: 'per_hour' }, cassandraEndpoint(config)),
    );
    const values = [
      { key: 'ok-1', window_start: 0, count: 1 },
      { key: 'no-window', count: 2 },
      { key: 'ok-2', window_start: '2026-01-01T00:00:00Z', count: '3' },
      { key: 'bad-count', window_start: 0, count: 'three' },
    ];
    const batch = writesOf(values);
    const error = await rejectionOf(sink.write(batch));
    expect(error).toBeInstanceOf(SinkRecordError);
    const { failures, write } = error as SinkRecordError;
    expect(write).toBe(batch[1]);
    expect(failures.map((f) => f.write)).toEqual([batch[1], batch[3]]);
    expect(failures[0]!.reason).toMatch(/no window_start \(primary key of sinks.per_hour\)/);
    expect(failures[1]!.reason).toMatch(/column count \(bigint\) takes an integer/);
    const landed = await cql.execute(
      "SELECT key, count FROM sinks.per_hour WHERE key IN ('ok-1', 'ok-2', 'no-window', 'bad-count')",
    );
    expect(landed.rows.map((r) => [r.get('key') as string, Number(r.get('count'))]).sort()).toEqual([
      ['ok-1', 1],
      ['ok-2', 3],
    ]);
  });

  it('refuses at open a table that does not exist, with the CQL to create it, and a counter table, saying why', async () => {
    const endpoint = cassandraEndpoint(config);
    const noTable = await rejectionOf(
      openCassandraSink({ kind: 'cassandra', keyspace: 'sinks', table: 'nope' }, endpoint),
    );
    expect(noTable).toBeInstanceOf(UserError);
    expect((noTable as UserError).message).toBe('Cassandra has no table sinks.nope to write to.');
    expect((noTable as UserError).hint).toContain('CREATE TABLE IF NOT EXISTS sinks.nope (');
    const noKeyspace = await rejectionOf(
      openCassandraSink({ kind: 'cassandra', keyspace: 'nokeyspace', table: 't' }, endpoint),
    );
    expect((noKeyspace as UserError).hint).toContain('CREATE KEYSPACE IF NOT EXISTS nokeyspace');
    const counter = await rejectionOf(
      openCassandraSink({ kind: 'cassandra', keyspace: 'sinks', table: 'hits' }, endpoint),
    );
    expect((counter as UserError).code).toBe('SINK_TABLE_UNSUITABLE');
    expect((counter as UserError).hint).toMatch(/written again after a crash counts twice/);
  });

  it('is a SinkDownError when nothing answers at open', async () => {
    const closed = { ...cassandraEndpoint(config), contactPoints: [`127.0.0.1:${await freePort()}`] };
    const error = await rejectionOf(
      openCassandraSink({ kind: 'cassandra', keyspace: 'sinks', table: 'per_hour' }, closed),
    );
    expect(error).toBeInstanceOf(SinkDownError);
    expect((error as SinkDownError).retriable).toBe(true);
  });
});

describe('the Redis sink', () => {
  const values = Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, count: i, nested: { i }, gone: null }));
  const endpoint = () => redisEndpoint(config);
  const redisSpec = (options: Parameters<typeof redis>[0]) => redis(options) as Extract<SinkSpec, { kind: 'redis' }>;
  const keyOf = (type: string) => (v: unknown) => `${type}:${(v as { key: string }).key}`;

  it('writes json, string, hash, set and zset values twice and holds each once, a hash exactly its value', async () => {
    const json = await open(openRedisSink(redisSpec({ key: keyOf('json') }), endpoint()));
    const text = await open(
      openRedisSink(redisSpec({ type: 'string', key: (v) => `string:${String(v)}` }), endpoint()),
    );
    const hash = await open(openRedisSink(redisSpec({ type: 'hash', key: keyOf('hash') }), endpoint()));
    const member = (v: unknown) => (v as { key: string }).key;
    const set = await open(openRedisSink(redisSpec({ type: 'set', key: () => 'set', member }), endpoint()));
    const score = (v: unknown) => (v as { count: number }).count;
    const zset = await open(openRedisSink(redisSpec({ type: 'zset', key: () => 'zset', member, score }), endpoint()));
    expect([json, text, hash, set, zset].map((s) => s.name)).toEqual([
      'redis json',
      'redis string',
      'redis hash',
      'redis set',
      'redis zset',
    ]);
    await plain.hset('hash:k0', 'stale', 'from an older value');
    for (let round = 0; round < 2; round++) {
      await json.write(writesOf(values));
      await text.write(writesOf(values.map((v) => v.count)));
      await hash.write(writesOf(values));
      await set.write(writesOf(values));
      await zset.write(writesOf(values));
    }
    expect(JSON.parse((await plain.get('json:k7'))!)).toEqual(values[7]);
    expect(await plain.get('string:7')).toBe('7');
    expect(await plain.hgetall('hash:k0')).toEqual({ key: 'k0', count: '0', nested: '{"i":0}' });
    expect(await plain.smembers('set')).toHaveLength(100);
    expect(await plain.zrange('zset', 0, -1, 'WITHSCORES')).toEqual(values.flatMap((v) => [v.key, String(v.count)]));
    await hash.write(writesOf([{ key: 'k1', count: 5 }]));
    expect(await plain.hgetall('hash:k1')).toEqual({ key: 'k1', count: '5' });
  });

  it('appends a stream entry once per value, for values of several partitions, whatever is written again', async () => {
    const stream = await open(openRedisSink(redisSpec({ type: 'stream', key: () => 'events' }), endpoint()));
    // Two records of partitions 0 and 1 each, one of which gave two values (a flatMap): positions count them.
    const batch: SinkWrite[] = [
      { value: { n: 1 }, key: null, record: record(0, 10) },
      { value: { n: 2 }, key: null, record: record(1, 3) },
      { value: { n: 3 }, key: null, record: record(1, 3) },
      { value: 4, key: null, record: record(0, 11) },
    ];
    await stream.write(batch);
    await stream.write(batch.slice(1)); // a retry after a crash, from partition 1's first record on
    await stream.write(batch);
    const next = [{ value: { n: 5 }, key: null, record: record(1, 4) }];
    await stream.write(next);
    await stream.write(next);
    const entries = await plain.xrange('events', '-', '+');
    expect(entries.map(([, fields]) => fields)).toEqual([
      ['n', '1'],
      ['n', '2'],
      ['n', '3'],
      ['value', '4'],
      ['n', '5'],
    ]);
  });

  it('refuses a value whose key function throws or returns no string, and writes the others', async () => {
    const key = (v: unknown) => {
      const k = (v as { key?: unknown }).key;
      if (k === 'boom') throw new Error('no key for boom');
      return k as string;
    };
    const sink = await open(openRedisSink(redisSpec({ key }), endpoint()));
    const batch = writesOf([{ key: 'r:a' }, { key: 'boom' }, { key: 7 }, { key: 'r:b' }]);
    const error = await rejectionOf(sink.write(batch));
    expect(error).toBeInstanceOf(SinkRecordError);
    expect((error as SinkRecordError).failures.map((f) => [f.write, f.reason])).toEqual([
      [batch[1], 'key() threw: no key for boom'],
      [batch[2], 'key() returned 7, not a string'],
    ]);
    expect(await plain.mget('r:a', 'r:b')).toEqual(['{"key":"r:a"}', '{"key":"r:b"}']);
  });

  it('is a SinkDownError when nothing answers at open, and while its container is stopped; then writes again', async () => {
    const closed = await rejectionOf(
      openRedisSink(redisSpec({ key: () => 'x' }), { url: `redis://127.0.0.1:${await freePort()}` }),
    );
    expect(closed).toBeInstanceOf(SinkDownError);
    const sink = await open(openRedisSink(redisSpec({ key: keyOf('down') }), endpoint()));
    await sink.write(writesOf(values.slice(0, 1)));
    const container = await containerOf(project.name, 'redis');
    await execa('docker', ['stop', container]);
    try {
      const error = await rejectionOf(sink.write(writesOf(values)));
      expect(error).toBeInstanceOf(SinkDownError);
      expect((error as SinkDownError).retriable).toBe(true);
      expect((error as SinkDownError).message).toMatch(/^redis json: /);
    } finally {
      await execa('docker', ['start', container]);
    }
    await waitFor(() => sink.write(writesOf(values)).then(() => true), {
      what: 'the Redis sink to write again once its container runs',
      timeout: 60_000,
      interval: 500,
    });
    expect(await plain.exists(...values.map((v) => `down:${v.key}`))).toBe(100);
  });
});

describe('the Cassandra sink, its container stopped', () => {
  it('is a SinkDownError while Cassandra is away, and writes again once it is back', async () => {
    const sink = await open(
      openCassandraSink({ kind: 'cassandra', keyspace: 'sinks', table: 'per_hour' }, cassandraEndpoint(config)),
    );
    await sink.write(writesOf(counts.slice(0, 1)));
    const container = await containerOf(project.name, 'cassandra');
    await execa('docker', ['stop', container]);
    try {
      const started = Date.now();
      const error = await rejectionOf(sink.write(writesOf(counts)));
      expect(error).toBeInstanceOf(SinkDownError);
      expect((error as SinkDownError).message).toMatch(/^cassandra sinks.per_hour: /);
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      await execa('docker', ['start', container]);
    }
    const back = counts.map((c) => ({ ...c, key: `back-${c.key}` }));
    await waitFor(() => sink.write(writesOf(back)).then(() => true), {
      what: 'the Cassandra sink to write again once its container runs',
      timeout: 180_000,
      interval: 1000,
    });
    // The test's own client reconnects on the driver's default schedule, slower than the sink's.
    const rows = await waitFor(() => cql.execute("SELECT count(*) FROM sinks.per_hour WHERE key = 'back-movie-7'"), {
      what: "the test's client to read Cassandra again",
      timeout: 120_000,
      interval: 1000,
    });
    expect(Number(rows.first().get(0))).toBe(10);
  });
});
