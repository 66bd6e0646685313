// services.kafka.brokers: the pure parts — the setting, the replication settings for N, each broker's listeners and
// spec, the addresses clients get.
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/cli/errors';
import { defaultServices, parseConfigText, resolveConfig, type ResolvedConfig } from '../../src/config/load';
import { nodesOf, specsFor } from '../../src/services/catalog';
import { connectionEnv, endpointOf } from '../../src/services/endpoints';
import { brokerListeners, brokerProperties, controllerCount, replicationSettings } from '../../src/services/kafka';
import type { ProjectContainer } from '../../src/stack/containers';
import { planActions, unwantedContainers } from '../../src/stack/plan';

function config(yaml = ''): ResolvedConfig {
  return resolveConfig(parseConfigText(yaml, 'pbx.yaml'), null, '/tmp');
}

function refusal(yaml: string): string {
  try {
    parseConfigText(yaml, 'pbx.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as UserError).message;
  }
  throw new Error('expected the config to be refused');
}

const PROPERTIES = '/etc/pbx/kafka/server.properties';

describe('services.kafka.brokers', () => {
  it('is 1 by default, in ZooKeeper mode as before; more brokers imply KRaft', () => {
    expect(config().services.kafka).toMatchObject({ brokers: 1, mode: 'zookeeper' });
    expect(config('services: {kafka: {brokers: 3}}').services.kafka).toMatchObject({ brokers: 3, mode: 'kraft' });
    expect(defaultServices(config('services: {kafka: {brokers: 3}}'))).toEqual(['kafka', 'cassandra', 'redis']);
  });

  it('refuses 0, more than 5, several in ZooKeeper mode or with an external Kafka, each saying why', () => {
    expect(refusal('services: {kafka: {brokers: 0}}')).toContain('services.kafka.brokers: expected at least 1, got 0');
    expect(refusal('services: {kafka: {brokers: 6}}')).toContain('services.kafka.brokers: expected at most 5, got 6');
    expect(refusal('services: {kafka: {brokers: 2, mode: zookeeper}}')).toContain(
      'services.kafka.mode: zookeeper mode runs one broker; 2 brokers run in KRaft mode (set mode: kraft, or leave mode out)',
    );
    expect(refusal('services: {kafka: {brokers: 2, external: {brokers: ["k:9092"]}}}')).toContain(
      'services.kafka.brokers: brokers is the number of brokers pbx runs',
    );
  });

  it('refuses a broker port taken by another service, or past 65535', () => {
    expect(refusal('services: {kafka: {brokers: 3}, redis: {port: 9094}}')).toContain(
      'services.redis.port: 9094 is services.kafka.port + 2 (broker 3) too',
    );
    expect(refusal('services: {kafka: {brokers: 3, port: 65534}}')).toContain(
      '3 brokers take ports 65534 to 65536: the last is above 65535',
    );
  });

  it('gives topics min(brokers, 3) replicas unless set, and refuses more replicas than brokers', () => {
    const replicas = (yaml: string) => config(yaml).services.kafka.topics.map((t) => t.replicationFactor);
    expect(replicas('services: {kafka: {topics: [{name: a}]}}')).toEqual([1]);
    expect(replicas('services: {kafka: {brokers: 2, topics: [{name: a}]}}')).toEqual([2]);
    expect(replicas('services: {kafka: {brokers: 5, topics: [{name: a}, {name: b, replicationFactor: 5}]}}')).toEqual([
      3, 5,
    ]);
    expect(refusal('services: {kafka: {brokers: 2, topics: [{name: a, replicationFactor: 3}]}}')).toContain(
      'services.kafka.topics.0.replicationFactor: 3 replicas need as many brokers; services.kafka.brokers is 2',
    );
  });
});

describe('replication and the controller quorum for N brokers', () => {
  it('keeps three replicas where there are three brokers, all but one of them in sync for a write', () => {
    const settings = (n: number) => [
      replicationSettings(n)['default.replication.factor'],
      replicationSettings(n)['min.insync.replicas'],
    ];
    expect([1, 2, 3, 4, 5].map(settings)).toEqual([
      [1, 1],
      [2, 1],
      [3, 2],
      [3, 2],
      [3, 2],
    ]);
    expect(replicationSettings(3)).toEqual({
      'default.replication.factor': 3,
      'min.insync.replicas': 2,
      'offsets.topic.replication.factor': 3,
      'transaction.state.log.replication.factor': 3,
      'transaction.state.log.min.isr': 2,
    });
  });

  it('has an odd quorum of controllers: one for one or two brokers, three from three', () => {
    expect([1, 2, 3, 4, 5].map(controllerCount)).toEqual([1, 1, 3, 3, 3]);
  });
});

describe('listeners of each broker', () => {
  const context = { brokers: 3, kraft: true, host: '127.0.0.1' };

  it('advertise the host-facing address on its own port and the container-facing one by its name', () => {
    expect(brokerListeners({ ...context, id: 2, port: 9093 })).toEqual({
      listeners: 'INTERNAL://0.0.0.0:29092,EXTERNAL://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093',
      'advertised.listeners': 'INTERNAL://kafka-2:29092,EXTERNAL://127.0.0.1:9093',
      'listener.security.protocol.map': 'INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name': 'INTERNAL',
      'controller.quorum.voters': '1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093',
      'controller.listener.names': 'CONTROLLER',
    });
  });

  it('listen as controllers on the first three of five only; the others are brokers only', () => {
    const fourth = brokerProperties({ ...context, brokers: 5, id: 4, port: 9095 });
    expect(fourth.listeners).toBe('INTERNAL://0.0.0.0:29092,EXTERNAL://0.0.0.0:9092');
    expect(fourth['process.roles']).toBe('broker');
    expect(fourth['controller.quorum.voters']).toBe('1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093');
    expect(brokerProperties({ ...context, brokers: 5, id: 3, port: 9094 })['process.roles']).toBe('broker,controller');
  });

  it('keep one broker as it was: named kafka, its controller to itself', () => {
    const one = brokerProperties({ id: 1, brokers: 1, kraft: true, host: '127.0.0.1', port: 9092 });
    expect(one).toMatchObject({
      'advertised.listeners': 'INTERNAL://kafka:29092,EXTERNAL://127.0.0.1:9092',
      'controller.quorum.voters': '1@localhost:9093',
      'node.id': 1,
      'default.replication.factor': 1,
      'min.insync.replicas': 1,
    });
  });
});

describe('the specs and addresses of three brokers', () => {
  const three = config('name: shop\nservices: {kafka: {brokers: 3, port: 19092}}');

  it('are a container each, with its own name, port, volume and node id', () => {
    const specs = specsFor(three, 'kafka');
    expect(specs.map((s) => [s.node.name, s.port.host, Object.keys(s.volumes)])).toEqual([
      ['kafka-1', 19092, ['pbx-shop-kafka-1-data']],
      ['kafka-2', 19093, ['pbx-shop-kafka-2-data']],
      ['kafka-3', 19094, ['pbx-shop-kafka-3-data']],
    ]);
    expect(specs.map((s) => /^node\.id=(\d)$/m.exec(s.files[PROPERTIES]!)?.[1])).toEqual(['1', '2', '3']);
    expect(specs.every((s) => s.dataFormat === 'Kafka in KRaft mode with 3 controllers')).toBe(true);
    expect(specsFor(config(), 'kafka').map((s) => s.node.name)).toEqual(['kafka']);
  });

  it('give clients every broker from one place: pbx env, replay, run, status', () => {
    expect(endpointOf(three, 'kafka')).toMatchObject({
      addresses: ['127.0.0.1:19092', '127.0.0.1:19093', '127.0.0.1:19094'],
      internal: 'kafka-1:29092,kafka-2:29092,kafka-3:29092',
    });
    expect(endpointOf(three, 'kafka', nodesOf(three, 'kafka')[1])).toMatchObject({
      addresses: ['127.0.0.1:19093'],
      internal: 'kafka-2:29092',
    });
    expect(connectionEnv(three, ['kafka']).KAFKA_BROKERS).toBe('127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094');
  });

  it('plan each broker on its own, and remove the containers of brokers no longer wanted', () => {
    const container = (node: string, state = 'running'): ProjectContainer => ({
      id: `id-${node}`,
      name: `pbx-shop-${node}`,
      service: 'kafka',
      node,
      image: 'img',
      state,
      configHash: 'h',
      createdAt: new Date(),
    });
    const existing = [container('kafka'), container('kafka-1'), container('kafka-2', 'exited')];
    const wanted = ['kafka-1', 'kafka-2', 'kafka-3'].map((node) => ({ service: 'kafka' as const, node, hash: 'h' }));
    const plan = planActions(wanted, existing);
    expect([...plan].map(([node, { action }]) => [node, action])).toEqual([
      ['kafka-1', 'keep'],
      ['kafka-2', 'restart'],
      ['kafka-3', 'create'],
    ]);
    expect(unwantedContainers(wanted, existing).map((c) => c.node)).toEqual(['kafka']);
  });
});
