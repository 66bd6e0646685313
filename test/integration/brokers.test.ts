// A Kafka of three brokers (services.kafka.brokers: 3, KRaft): each one ready and reachable, a replay that rides out
// the leader of its partition stopped and killed, and status that shows the brokers and under-replicated partitions.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../src/clients/kafka';
import { loadConfig } from '../../src/config/load';
import { pipeline } from '../../src/pipelines/api';
import { runPipeline } from '../../src/pipelines/runtime/run';
import { isPortFree } from '../../src/net/ports';
import { replay, type ReplaySummary } from '../../src/replay/replay';
import { kafkaEndpoint } from '../../src/services/endpoints';
import type { StatusResult } from '../../src/stack/status';
import type { UpResult } from '../../src/stack/up';
import { generateReviews } from '../support/cli';
import { replayDisturbed, runOptions } from '../support/pipelines';
import { containersOf, freePort, kafkaToolInNetwork, purge, sh, testProject, volumesOf } from '../support/stack';
import { kcatValues } from '../support/topics';
import { waitFor } from '../support/wait';

/** Three consecutive free ports: one per broker, from services.kafka.port. */
async function freePorts(count: number): Promise<number> {
  for (;;) {
    const first = await freePort();
    const rest = await Promise.all(Array.from({ length: count - 1 }, (_, i) => isPortFree('127.0.0.1', first + i + 1)));
    if (rest.every(Boolean)) return first;
  }
}

const PORT = await freePorts(3);
const ADDRESSES = [0, 1, 2].map((i) => `127.0.0.1:${PORT + i}`);
const BROKERS = ADDRESSES.join(',');
// 512m a broker (a 256 MiB heap): three brokers cost 1.5 GiB at most, and ride a replay at full speed.
const project = testProject(
  'itbrokers',
  `services:
  kafka:
    port: ${PORT}
    brokers: 3
    memory: 512m
    topics: [{name: orders, partitions: 2}]
`,
);
const config = loadConfig({ file: project.file });
const container = (broker: number) => `pbx-${project.name}-kafka-${broker}`;

beforeAll(() => purge(project.name));
afterAll(() => purge(project.name));

/** The broker that leads partition 0 of a topic. */
async function leaderOf(topic: string): Promise<number> {
  const admin = (await createKafka(kafkaEndpoint(config), { clientId: 'brokers-test' })).admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0]!.partitions.find((p) => p.partitionId === 0)!.leader;
  } finally {
    await admin.disconnect();
  }
}

/** `pbx status kafka --json`: the brokers alone (the project's other services are not started here). */
async function status(): Promise<StatusResult> {
  return (await project.json<StatusResult>(['status', 'kafka'])).doc;
}

/** A broker's own process, killed with SIGKILL as a crash would (not `docker kill`, which the engine takes for a stop). */
async function killBroker(broker: number): Promise<void> {
  const init = await sh('docker', ['inspect', '-f', '{{.State.Pid}}', container(broker)]);
  const [child] = (await sh('ps', ['-o', 'pid=', '--ppid', init])).trim().split(/\s+/);
  process.kill(Number(child), 'SIGKILL');
}

/**
 * Replays `file` into a topic of its own, made by the replay, at full speed, and does `disturb` to the leader of its
 * partition once Kafka holds its first records; returns what the replay said, the leader and the topic.
 */
async function replayDisturbingLeader(
  file: string,
  disturb: (leader: number) => Promise<void>,
): Promise<{ summary: ReplaySummary; leader: number; topic: string; disturbedBeforeEnd: boolean }> {
  const topic = `brokers-${randomUUID()}`;
  let leader = 0;
  const { summary, disturbedBeforeEnd } = await replayDisturbed({
    config,
    file,
    topic,
    brokers: BROKERS,
    disturb: async () => disturb((leader = await leaderOf(topic))),
  });
  return { summary, leader, topic, disturbedBeforeEnd };
}

describe('a Kafka of three brokers', () => {
  it('refuses 0 or 6 brokers, and several in ZooKeeper mode, saying why', async () => {
    for (const [yaml, message] of [
      ['services: {kafka: {brokers: 6}}', 'services.kafka.brokers: expected at most 5, got 6'],
      ['services: {kafka: {brokers: 0}}', 'services.kafka.brokers: expected at least 1, got 0'],
      [
        'services: {kafka: {brokers: 3, mode: zookeeper}}',
        'zookeeper mode runs one broker; 3 brokers run in KRaft mode',
      ],
    ] as const) {
      const bad = testProject('itbrokers-bad', yaml);
      const result = await bad.pbx(['env']);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain(message);
    }
  });

  it('starts three brokers, each proven ready, and makes the topics of pbx.yaml with three replicas', async () => {
    const up = await project.json<UpResult>(['up', 'kafka']);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.doc.services.map((s) => [s.node, s.ready, s.action, s.endpoint.addresses])).toEqual([
      ['kafka-1', true, 'create', [ADDRESSES[0]]],
      ['kafka-2', true, 'create', [ADDRESSES[1]]],
      ['kafka-3', true, 'create', [ADDRESSES[2]]],
    ]);
    expect(up.doc.topics).toEqual([{ name: 'orders', partitions: 2, action: 'created' }]);
    // kcat lists each partition's replicas and in-sync replicas, as the cluster's metadata says.
    // A follower joins the in-sync replicas once it has fetched: moments after the topic is made.
    await waitFor(() => sh('kcat', ['-b', ADDRESSES[0]!, '-L', '-t', 'orders']), {
      what: 'both partitions of orders with three replicas, all in sync',
      timeout: 30_000,
      interval: 500,
      until: (listed) => listed.match(/replicas: \d+,\d+,\d+, isrs: \d+,\d+,\d+/g)?.length === 2,
    });
    expect(await containersOf(project.name)).toEqual([container(1), container(2), container(3)]);
    expect(await volumesOf(project.name)).toEqual([1, 2, 3].map((i) => `pbx-${project.name}-kafka-${i}-data`));
  });

  it('is reachable on each broker from the host, and from containers by the brokers’ names', async () => {
    for (const address of ADDRESSES) {
      // Each address alone as the bootstrap: the broker answers there with the whole cluster.
      expect(await sh('kcat', ['-b', address, '-L'])).toContain('3 brokers:');
    }
    const inNetwork = await kafkaToolInNetwork(project.name, 'org.apache.kafka.tools.TopicCommand', [
      '--bootstrap-server',
      'kafka-1:29092,kafka-2:29092,kafka-3:29092',
      '--describe',
      '--topic',
      'orders',
    ]);
    expect(inNetwork).toMatch(/ReplicationFactor: 3/);
  });

  it('gives every broker’s address to other tools (pbx env)', async () => {
    const env = await project.json<Record<string, string>>(['env', 'kafka']);
    expect(env.doc.KAFKA_BROKERS).toBe(ADDRESSES.join(','));
    const shell = await project.pbx(['env', 'kafka']);
    expect(shell.stdout).toContain(`export KAFKA_BROKERS=${ADDRESSES.join(',')}`);
  });

  it('shows each broker and no under-replicated partition when all are up', async () => {
    const doc = await status();
    expect(doc.services.map((s) => [s.node, s.state, s.ready])).toEqual([
      ['kafka-1', 'running', true],
      ['kafka-2', 'running', true],
      ['kafka-3', 'running', true],
    ]);
    expect(doc.kafka).toEqual({ brokers: 3, underReplicatedPartitions: 0 });
    const table = await project.pbx(['status', 'kafka']);
    expect(table.stdout).toMatch(/^kafka-2 +running +yes +127\.0\.0\.1:\d+ /m);
    expect(table.stdout).toContain('kafka: 3 brokers in the cluster, 0 under-replicated partitions');
  });

  it('replays into brand-new topics at once, three at a time, each on its own', async () => {
    // A topic just made is known to the controller first and to the other brokers a moment later: each replay's
    // producer asks a broker of its own and sends to leaders that may be among the late ones.
    const file = join(project.dir, 'few.json');
    const lines = await generateReviews(file, 5000, 20);
    for (let round = 0; round < 4; round++) {
      const topics = [0, 1, 2].map((i) => `brokers-new-${round}-${i}-${randomUUID()}`);
      const summaries = await Promise.all(
        topics.map((topic) =>
          replay({
            config,
            source: { path: file },
            topic,
            partitions: 3,
            pace: { kind: 'max' },
            signal: new AbortController().signal,
          }),
        ),
      );
      expect(summaries.map((s) => [s.sent, s.stoppedBy])).toEqual(topics.map(() => [lines.length, 'end']));
    }
  }, 300_000);

  it('replays into a brand-new topic while a pipeline starts on it: both make it, the replay sends it all', async () => {
    const file = join(project.dir, 'race.json');
    const lines = await generateReviews(file, 20_000, 23);
    for (let round = 0; round < 3; round++) {
      const topic = `brokers-race-${round}-${randomUUID()}`;
      const stop = new AbortController();
      const built = pipeline(`race-${round}`)
        .from(topic)
        .map((r: { score: string }) => r.score)
        .to(`${topic}-scores`);
      const running = runPipeline(runOptions(project, built, { untilEnd: false, signal: stop.signal }));
      const replayed = await replay({
        config,
        source: { path: file },
        topic,
        pace: { kind: 'max' },
        signal: new AbortController().signal,
      }).finally(() => stop.abort());
      expect(replayed).toMatchObject({ sent: lines.length, stoppedBy: 'end' });
      expect((await running).stoppedBy).toBe('interrupt');
    }
  }, 300_000);

  it('a replay rides out the leader of its partition stopped: the topic is the file; status shows it under-replicated until it is back', async () => {
    const file = join(project.dir, 'reviews.json');
    const lines = await generateReviews(file, 200_000, 21);
    const { summary, leader, topic, disturbedBeforeEnd } = await replayDisturbingLeader(file, (leader) =>
      sh('docker', ['stop', container(leader)]).then(() => undefined),
    );
    expect(disturbedBeforeEnd, 'the leader was stopped while the replay was sending').toBe(true);
    expect(summary).toMatchObject({ sent: lines.length, stoppedBy: 'end' });
    expect(await leaderOf(topic)).not.toBe(leader);
    const held = await kcatValues(BROKERS, topic);
    expect(held.length).toBe(lines.length);
    expect(held.findIndex((value, i) => value !== lines[i])).toBe(-1); // in order, none twice, none lost

    const down = await status();
    expect(down.services.find((s) => s.node === `kafka-${leader}`)).toMatchObject({ state: 'exited', ready: false });
    expect(down.services.filter((s) => s.ready)).toHaveLength(2);
    expect(down.kafka?.brokers).toBe(2);
    expect(down.kafka?.underReplicatedPartitions).toBeGreaterThan(0);

    await sh('docker', ['start', container(leader)]);
    const back = await waitFor(status, {
      what: `kafka-${leader} to be back with every partition in sync`,
      until: (doc) => doc.ready && doc.kafka?.underReplicatedPartitions === 0,
      timeout: 120_000,
      interval: 1000,
    });
    expect(back.kafka).toEqual({ brokers: 3, underReplicatedPartitions: 0 });
  }, 400_000);

  it('a replay rides out the leader of its partition killed with -9, which the engine starts again', async () => {
    const file = join(project.dir, 'reviews.json');
    const lines = await generateReviews(file, 200_000, 22);
    let killedAt = 0;
    const { summary, leader, topic, disturbedBeforeEnd } = await replayDisturbingLeader(file, async (leader) => {
      await killBroker(leader);
      killedAt = Date.now();
    });
    expect(disturbedBeforeEnd, 'the leader was killed while the replay was sending').toBe(true);
    expect(summary).toMatchObject({ sent: lines.length, stoppedBy: 'end' });
    const held = await kcatValues(BROKERS, topic);
    expect(held.length).toBe(lines.length);
    expect(held.findIndex((value, i) => value !== lines[i])).toBe(-1);

    // Healed with no pbx command: the restart policy, per broker container.
    const back = await waitFor(status, {
      what: `kafka-${leader}, killed, to be back with every partition in sync`,
      until: (doc) => doc.ready && doc.kafka?.underReplicatedPartitions === 0,
      timeout: 120_000,
      interval: 1000,
    });
    const broker = back.services.find((s) => s.node === `kafka-${leader}`)!;
    expect(broker.restarts?.count).toBeGreaterThanOrEqual(1);
    expect(broker.restarts?.lastExit?.code).toBe(137);
    expect(Date.parse(broker.restarts!.lastExit!.at)).toBeGreaterThanOrEqual(killedAt - 5000);
  }, 400_000);

  it('pbx down removes every broker; --volumes their data', async () => {
    const down = await project.pbx(['down', '--volumes']);
    expect(down.exitCode, down.stderr).toBe(0);
    expect(await containersOf(project.name)).toEqual([]);
    expect(await volumesOf(project.name)).toEqual([]);
  });
});
