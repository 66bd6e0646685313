// Services that come back by themselves: each killed with -9 is ready again with its data, with no pbx command.
import { execa } from 'execa';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCassandraClient } from '../../src/clients/cassandra';
import { createKafka } from '../../src/clients/kafka';
import { loadConfig } from '../../src/config/load';
import type { ServiceName } from '../../src/config/schema';
import { cassandraEndpoint, kafkaEndpoint } from '../../src/services/endpoints';
import { fourLetterWord, probeOnce } from '../../src/services/probes';
import type { StatusResult } from '../../src/stack/status';
import type { UpResult } from '../../src/stack/up';
import { BINARY, generateReviews } from '../support/cli';
import { watchProduceRequests } from '../support/kafka-wire';
import { replayDisturbed } from '../support/pipelines';
import { containersOf, freePort, purge, sh, startStack, testProject } from '../support/stack';
import { kcatValues } from '../support/topics';
import { gather, waitFor } from '../support/wait';

const P = {
  zookeeper: await freePort(),
  kafka: await freePort(),
  cassandra: await freePort(),
  redis: await freePort(),
};
const project = testProject(
  'itheal',
  `services:
  zookeeper: {port: ${P.zookeeper}}
  kafka: {port: ${P.kafka}}
  cassandra: {port: ${P.cassandra}}
  redis: {port: ${P.redis}}
`,
);
const config = loadConfig({ file: project.file });
const BROKER = `127.0.0.1:${P.kafka}`;
const container = (service: ServiceName) => `pbx-${project.name}-${service}`;
/** Time from each kill to ready again, printed at the end: what the report quotes. */
const healed: Array<[ServiceName, number]> = [];

beforeAll(async () => {
  await startStack(project);
  // Cassandra's periodic commit log marks writes as replayable every 100 ms (README, "How pbx up behaves"): a write
  // acknowledged just before a kill -9 may be lost, one older than that is promised. This row is written before the
  // Redis test, seconds before Cassandra's kill. (A flush would make it durable at once, but pbx's image has no
  // nodetool, and Cassandra there no JMX for one.)
  await cql("CREATE KEYSPACE heal WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  await cql('CREATE TABLE heal.notes (id text PRIMARY KEY, body text)');
  await cql("INSERT INTO heal.notes (id, body) VALUES ('n1', 'kept across kill -9')");
});
afterAll(async () => {
  console.info(`healed after kill -9: ${healed.map(([s, ms]) => `${s} ${(ms / 1000).toFixed(1)} s`).join(', ')}`);
  await purge(project.name);
});

/**
 * Kills a service's own process with SIGKILL, as a crash or the kernel's OOM killer does. Not `docker kill`: the engine
 * takes that for a stop and its restart policy starts nothing after it, as after `docker stop`.
 */
async function killService(service: ServiceName): Promise<void> {
  process.kill(await processOf(service), 'SIGKILL');
}

/** A service's own process: the container's first process is the engine's init, the service its child. */
async function processOf(service: ServiceName): Promise<number> {
  const init = await sh('docker', ['inspect', '-f', '{{.State.Pid}}', container(service)]);
  const [child] = (await sh('ps', ['-o', 'pid=', '--ppid', init])).trim().split(/\s+/);
  return Number(child);
}

async function restartCount(service: ServiceName): Promise<number> {
  return Number(await sh('docker', ['inspect', '-f', '{{.RestartCount}}', container(service)]));
}

/**
 * Kills a service's process with SIGKILL and waits, with no pbx command, until the engine has started it again and
 * pbx's own readiness probe (the one `pbx up` waits on) answers; returns the restarts that took.
 */
async function killAndHeal(service: ServiceName, afterKill?: () => Promise<void>): Promise<number> {
  const before = await restartCount(service);
  const killedAt = Date.now();
  await killService(service);
  await afterKill?.();
  await waitFor(() => restartCount(service), {
    until: (count) => count > before,
    what: `the engine to start ${service} again`,
    timeout: 30_000,
  });
  await waitFor(() => probeOnce(config, service, 'full'), {
    what: `${service}, killed, to be ready again with no pbx command`,
    timeout: 180_000,
    interval: 250,
  });
  healed.push([service, Date.now() - killedAt]);
  return (await restartCount(service)) - before;
}

async function cql(statement: string): Promise<string[]> {
  const client = await createCassandraClient(cassandraEndpoint(config));
  try {
    await client.connect();
    return ((await client.execute(statement)).rows ?? []).map((row) => String(row.values()[0]));
  } finally {
    await client.shutdown();
  }
}

describe('services heal themselves', () => {
  it('Redis comes back with a key written before the kill (its append-only file), and status says why', async () => {
    await sh('redis-cli', ['-p', String(P.redis), 'SET', 'heal', 'kept']);
    expect(await killAndHeal('redis')).toBe(1);
    expect(await sh('redis-cli', ['-p', String(P.redis), 'GET', 'heal'])).toBe('kept');

    const status = await project.json<StatusResult>(['status', 'redis']);
    expect(status.exitCode).toBe(0);
    const { restarts } = status.doc.services[0]!;
    expect(restarts).toMatchObject({ count: 1, lastExit: { code: 137, oomKilled: false } });
    expect(Date.parse(restarts!.lastAt!)).toBeGreaterThan(Date.parse(restarts!.lastExit!.at));
    const table = await project.pbx(['status', 'redis']);
    expect(table.stdout).toMatch(/RESTARTS/);
    expect(table.stdout).toMatch(/ 1 \([\d.]+ m?s ago: exit 137\) /);
  });

  it('pbx logs -f follows Redis across the run the engine starts after a kill, saying why its lines go on', async () => {
    const follow = execa(BINARY, ['logs', '-f', 'redis', '--tail', '1', '--config', project.file], { reject: false });
    const out = gather(follow.stdout);
    const err = gather(follow.stderr);
    const running = () => (follow.exitCode === null ? undefined : `pbx logs ended, exit ${follow.exitCode}`);
    const starts = () => out.text().split('Ready to accept connections').length - 1;
    await waitFor(() => out.text(), { what: 'pbx logs -f to print the last line', timeout: 30_000, giveUpIf: running });
    const before = starts();
    await killAndHeal('redis');
    await waitFor(starts, {
      what: "the next run's lines in pbx logs -f",
      until: (count) => count > before,
      timeout: 30_000,
      giveUpIf: running,
    });
    follow.kill('SIGINT');
    const result = await follow;
    expect(result.exitCode).toBe(0);
    expect(err.text()).toMatch(
      /redis was started again by the engine after exit code 137 \(restart \d+\); its lines go on\./,
    );
    expect(err.text()).not.toContain('its lines end here');
  });

  it('Cassandra comes back with a row its commit log had marked replayable before the kill', async () => {
    await killAndHeal('cassandra');
    expect(await cql("SELECT body FROM heal.notes WHERE id = 'n1'")).toEqual(['kept across kill -9']);
  });

  it('ZooKeeper comes back with what Kafka keeps there (a topic made before the kill), and Kafka works again', async () => {
    const topic = `heal-zk-${randomUUID()}`;
    const admin = (await createKafka(kafkaEndpoint(config), { clientId: 'heal-test' })).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    await killAndHeal('zookeeper');
    // Kafka's metadata of the topic is ZooKeeper's: the broker proves it with a full round trip, and lists the topic.
    await waitFor(() => probeOnce(config, 'kafka', 'full'), { what: 'Kafka to work again', timeout: 60_000 });
    const listed = await sh('kcat', ['-b', BROKER, '-L', '-t', topic]);
    expect(listed).toContain(`topic "${topic}" with 2 partitions`);
  });

  it('Kafka, killed while ZooKeeper still holds its session, comes back with every acknowledged record', async () => {
    const topic = `heal-kafka-${randomUUID()}`;
    const values = Array.from({ length: 5000 }, (_, i) => `record ${i}`);
    const producer = (await createKafka(kafkaEndpoint(config), { clientId: 'heal-test' })).producer();
    await producer.connect();
    try {
      for (let i = 0; i < values.length; i += 500) {
        const messages = values.slice(i, i + 500).map((value) => ({ value }));
        await producer.send({ topic, acks: -1, messages }); // acknowledged by all in-sync replicas
      }
    } finally {
      await producer.disconnect();
    }
    const restarts = await killAndHeal('kafka', async () => {
      // The dead broker's registration is still there: its successor fails (NodeExists) until the session expires.
      expect(await fourLetterWord(`127.0.0.1:${P.zookeeper}`, 'dump')).toMatch(/\/brokers\/ids\/1\b/);
    });
    console.info(`kafka took ${restarts} restart(s) to heal`);
    expect(await kcatValues(BROKER, topic)).toEqual(values);
  });

  it('a replay at full speed rides out Kafka killed with -9 and healing: the topic is the file, a batch resent', async () => {
    const file = join(project.dir, 'large.json');
    const lines = await generateReviews(file, 300_000, 21);
    const topic = `heal-replay-${randomUUID()}`;
    const kafka = await processOf('kafka');
    let killNow: (() => void) | undefined;
    let killedAt = 0;
    // In this process, where the produce requests are seen as they are written to the broker's connections: Kafka is
    // killed as a batch is written, before it can have answered, so that batch at least is in flight and sent again.
    const wire = watchProduceRequests(P.kafka, (write) => {
      if (killNow === undefined || write.topic !== topic) return;
      process.kill(kafka, 'SIGKILL');
      killedAt = Date.now(); // what is written from now on goes to the broker's next process
      killNow();
      killNow = undefined;
    });
    try {
      const { summary, disturbedBeforeEnd } = await replayDisturbed({
        config,
        file,
        topic,
        brokers: BROKER,
        disturb: () => new Promise<void>((resolve) => (killNow = resolve)),
      });
      expect(disturbedBeforeEnd, 'Kafka was killed while the replay was sending').toBe(true);
      expect(summary).toMatchObject({ sent: lines.length, stoppedBy: 'end' });
    } finally {
      wire.stop();
    }
    // A batch is known by its partition and sequence number: written before the kill and again after it, it was resent.
    const firstWritten = new Map<string, number>();
    let resent = 0;
    for (const { partition, baseSequence, at, topic: to } of wire.writes) {
      if (to !== topic) continue;
      const batch = `${partition}:${baseSequence}`;
      const first = firstWritten.get(batch);
      if (first === undefined) firstWritten.set(batch, at);
      else if (first <= killedAt && at > killedAt) resent++;
    }
    expect(resent, 'batches written before the kill and again after it').toBeGreaterThan(0);
    const held = await kcatValues(BROKER, topic);
    expect(held.length).toBe(lines.length);
    expect(held.findIndex((value, i) => value !== lines[i])).toBe(-1); // in order, none twice, none lost
  }, 400_000);

  it('pbx up right after a kill keeps the container the engine is starting again, and waits until it is ready', async () => {
    await killService('redis');
    const up = await project.json<UpResult>(['up', 'redis']);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.doc.services.map((s) => [s.service, s.action, s.ready])).toEqual([['redis', 'keep', true]]);
    expect(await sh('redis-cli', ['-p', String(P.redis), 'GET', 'heal'])).toBe('kept');
  });

  it('leaves a container stopped with docker kill stopped, as after docker stop', async () => {
    await sh('docker', ['kill', '-s', 'KILL', container('redis')]);
    const status = await project.json<StatusResult>(['status', 'redis']);
    expect(status.doc.services[0]).toMatchObject({ state: 'exited', ready: false, check: 'exited with code 137' });
    const up = await project.json<UpResult>(['up', 'redis']);
    expect(up.doc.services.map((s) => [s.service, s.action, s.ready])).toEqual([['redis', 'restart', true]]);
  });

  it('pbx down right after a kill removes every container, and the engine starts none again', async () => {
    await Promise.all([killService('kafka'), killService('redis')]);
    const down = await project.pbx(['down']);
    expect(down.exitCode, down.stderr).toBe(0);
    expect(await containersOf(project.name)).toEqual([]);
  });
});
