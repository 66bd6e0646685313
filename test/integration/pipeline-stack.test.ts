// `pbx run` as users run it (the compiled binary, a module in the project's pipelines/) against a real Kafka,
// Cassandra and Redis: the contract's example writes per-hour counts equal to a count done here, and a sink that
// is stopped for 20 s is waited for with nothing lost, or ends the run with exit 3 past --sink-timeout.
import type { Client } from 'cassandra-driver';
import { Redis } from 'ioredis';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCassandraClient } from '../../src/clients/cassandra';
import { loadConfig } from '../../src/config/load';
import { cassandraEndpoint } from '../../src/services/endpoints';
import { generateData } from '../support/cli';
import { containerOf, freePort, purge, sh, startStack, testProject } from '../support/stack';
import { produce, readTopic, withAdmin } from '../support/topics';
import { gather, waitFor } from '../support/wait';

const P = { kafka: await freePort(), cassandra: await freePort(), redis: await freePort() };
const project = testProject(
  'itpipestack',
  `services:\n  kafka: {port: ${P.kafka}, mode: kraft}\n  cassandra: {port: ${P.cassandra}}\n  redis: {port: ${P.redis}}\n`,
);
const BROKER = `127.0.0.1:${P.kafka}`;
const DATA = join(project.dir, 'reviews.json');
const COUNT = 3000;
let cql: Client;

interface Review {
  product_id: string;
  time: number;
  score: string;
}

const pbx = (...args: string[]) => project.binary(args, { env: { CI: '1' } });

function module(name: string, text: string): void {
  writeFileSync(join(project.dir, 'pipelines', `${name}.ts`), text);
}

beforeAll(async () => {
  await startStack(project);
  await generateData('reviews', DATA, COUNT, 11);
  const replay = await pbx('replay', DATA, '--topic', 'movie_reviews', '--partitions', '3', '--key', 'product_id');
  expect(replay.exitCode, replay.stderr).toBe(0);
  cql = await createCassandraClient(cassandraEndpoint(loadConfig({ file: project.file })));
  await cql.connect();
  mkdirSync(join(project.dir, 'pipelines'));
}, 600_000);
afterAll(async () => {
  await cql?.shutdown();
  await purge(project.name);
});

describe('the contract example', () => {
  it('writes per-hour counts to Cassandra that equal a count done here', async () => {
    await cql.execute(
      "CREATE KEYSPACE IF NOT EXISTS reviews WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    );
    await cql.execute(
      'CREATE TABLE IF NOT EXISTS reviews.per_hour (key text, window_start timestamp, window_end timestamp, count bigint, PRIMARY KEY (key, window_start))',
    );
    module(
      'reviews-per-hour',
      `import { pipeline, cassandra, tumbling } from 'pbx';

export default pipeline('reviews-per-hour')
  .from('movie_reviews', { time: (r) => r.time * 1000 })
  .filter((r) => r.score >= 1)
  .keyBy((r) => r.product_id)
  .window(tumbling('1h'))
  .count()
  .to(cassandra('reviews.per_hour'));
`,
    );
    const run = await pbx('run', 'reviews-per-hour', '--until-end', '--json');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { records: number }).records).toBe(COUNT);
    expect(await perHourRows('reviews.per_hour')).toEqual(perHourReference());
  });

  it('written with keyBy() (the topic is keyed by product_id), into Cassandra and a topic, with no repartition topic', async () => {
    await cql.execute(
      'CREATE TABLE IF NOT EXISTS reviews.per_hour_by_key (key text, window_start timestamp, window_end timestamp, count bigint, PRIMARY KEY (key, window_start))',
    );
    module(
      'per-hour-by-key',
      `import { pipeline, cassandra, tumbling } from 'pbx';

export default pipeline('per-hour-by-key')
  .from('movie_reviews', { time: (r) => r.time * 1000 })
  .filter((r) => r.score >= 1)
  .keyBy()
  .window(tumbling('1h'))
  .count()
  .to(cassandra('reviews.per_hour_by_key'), 'per-hour-by-key');
`,
    );
    const run = await pbx('run', 'per-hour-by-key', '--until-end', '--json');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout) as { records: number; sent: Record<string, number> };
    expect(summary.records).toBe(COUNT);
    expect(Object.keys(summary.sent).sort()).toEqual(['pbx-per-hour-by-key-changelog', 'per-hour-by-key']);
    const reference = perHourReference();
    expect(await perHourRows('reviews.per_hour_by_key')).toEqual(reference);
    const topic = new Map<string, number>();
    for (const { key, value } of await readTopic(BROKER, 'per-hour-by-key')) {
      const v = JSON.parse(value) as { key: string; window_start: number; count: number };
      expect(key).toBe(v.key);
      expect(topic.has(`${v.key}@${v.window_start}`), 'a window written twice').toBe(false);
      topic.set(`${v.key}@${v.window_start}`, v.count);
    }
    expect(topic).toEqual(reference);
    const topics = await withAdmin(BROKER, (admin) => admin.listTopics());
    expect(topics.filter((t) => t.startsWith('pbx-per-hour-by-key')).sort()).toEqual(['pbx-per-hour-by-key-changelog']);
  });
});

/** Reviews scored 1 or more per product per hour, `${product}@${window_start}` → count, counted here. */
function perHourReference(): Map<string, number> {
  const reference = new Map<string, number>();
  for (const line of readFileSync(DATA, 'utf8').trim().split('\n')) {
    const r = JSON.parse(line) as Review;
    if (Number(r.score) < 1) continue;
    const id = `${r.product_id}@${Math.floor((r.time * 1000) / 3_600_000) * 3_600_000}`;
    reference.set(id, (reference.get(id) ?? 0) + 1);
  }
  return reference;
}

/** A per-hour table's rows as `${key}@${window_start}` → count. */
async function perHourRows(table: string): Promise<Map<string, number>> {
  const rows = await cql.execute(`SELECT key, window_start, count FROM ${table}`, [], { fetchSize: 100_000 });
  return new Map(
    rows.rows.map((row) => [
      `${row.get('key') as string}@${(row.get('window_start') as Date).getTime()}`,
      Number(row.get('count')),
    ]),
  );
}

describe('a sink that is down', () => {
  const redisModule = (name: string) =>
    module(
      name,
      `import { pipeline, redis } from 'pbx';
export default pipeline('${name}')
  .from('scores')
  .to(redis({ key: (r) => 'score:' + r.id }));
`,
    );

  it('is retried while it is stopped for 20 s, the live view saying so, and nothing is lost', async () => {
    await produce(
      BROKER,
      'scores',
      Array.from({ length: 200 }, (_, id) => ({ id, score: id % 7 })),
    );
    redisModule('to-redis');
    const redis = await containerOf(project.name, 'redis');
    await sh('docker', ['stop', redis]);
    const run = pbx('run', 'to-redis', '--until-end');
    const stderr = gather(run.stderr);
    await waitFor(() => stderr.text(), {
      what: 'the run to say Redis is down',
      timeout: 60_000,
      until: (t) => t.includes('is down'),
    });
    await new Promise((resolve) => setTimeout(resolve, 20_000));
    expect(run.exitCode, 'the run gave up within 20 s').toBeNull();
    await sh('docker', ['start', redis]);
    const result = await run;
    expect(result.exitCode, stderr.text()).toBe(0);
    expect(stderr.text()).toContain('is back');
    const client = new Redis(P.redis, '127.0.0.1');
    try {
      const keys = await client.keys('score:*');
      expect(keys.length).toBe(200);
      expect(JSON.parse((await client.get('score:42'))!)).toEqual({ id: 42, score: 0 });
    } finally {
      client.disconnect();
    }
  });

  it('ends the run with exit 3 past --sink-timeout, and a later run goes on with nothing lost', async () => {
    await produce(
      BROKER,
      'scores2',
      Array.from({ length: 50 }, (_, id) => ({ id: 1000 + id, score: 1 })),
    );
    module(
      'to-redis-2',
      `import { pipeline, redis } from 'pbx';
export default pipeline('to-redis-2')
  .from('scores2')
  .to(redis({ key: (r) => 'score:' + r.id }));
`,
    );
    const redis = await containerOf(project.name, 'redis');
    await sh('docker', ['stop', redis]);
    const failed = await pbx('run', 'to-redis-2', '--until-end', '--sink-timeout', '3s', '--json');
    expect(failed.exitCode, failed.stdout + failed.stderr).toBe(3);
    expect((JSON.parse(failed.stdout) as { error: { code: string } }).error.code).toBe('SINK_UNAVAILABLE');
    await sh('docker', ['start', redis]);
    const again = await waitFor(() => pbx('run', 'to-redis-2', '--until-end', '--json'), {
      what: 'a run once Redis is back',
      timeout: 60_000,
      until: (r) => r.exitCode === 0,
    });
    expect((JSON.parse(again.stdout) as { records: number }).records).toBe(50);
    const client = new Redis(P.redis, '127.0.0.1');
    try {
      const values = await client.mget(Array.from({ length: 50 }, (_, i) => `score:${1000 + i}`));
      expect(values.every((v) => v !== null && (JSON.parse(v) as { score: number }).score === 1)).toBe(true);
    } finally {
      client.disconnect();
    }
  });
});
