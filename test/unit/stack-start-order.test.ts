import { describe, expect, it } from 'vitest';
import { allInOrder } from '../../src/async';
import { parseConfigText, resolveConfig } from '../../src/config/load';
import { selectServices, specsFor } from '../../src/services/catalog';
import { holdsStackMs, startOrder } from '../../src/stack/start-order';

function nodesOf(yaml: string, services?: string[]) {
  const config = resolveConfig(parseConfigText(yaml, 'pbx.yaml'), null, '/tmp');
  return selectServices(config, { services }).flatMap((service) => specsFor(config, service));
}

describe('startOrder', () => {
  it('gives the engine Cassandra first, then ZooKeeper, whose start Kafka waits for, then Kafka, then Redis', () => {
    expect(startOrder(nodesOf(''))).toEqual(['cassandra', 'zookeeper', 'kafka', 'redis']);
  });

  it('counts several brokers once, in KRaft mode after Cassandra', () => {
    expect(startOrder(nodesOf('services:\n  kafka: {mode: kraft, brokers: 3}\n'))).toEqual([
      'cassandra',
      'kafka',
      'redis',
    ]);
  });

  it('puts ZooKeeper first without Cassandra: Kafka, which waits for its start, holds the stack up longer', () => {
    const nodes = nodesOf('', ['kafka', 'redis']);
    expect(startOrder(nodes)).toEqual(['zookeeper', 'kafka', 'redis']);
    expect(holdsStackMs('zookeeper', nodes)).toBeGreaterThan(holdsStackMs('kafka', nodes));
    expect(startOrder([])).toEqual([]);
  });
});

describe('allInOrder', () => {
  it('gives every value, in order', async () => {
    await expect(allInOrder([Promise.resolve(1), 'two', Promise.resolve([3])] as const)).resolves.toEqual([
      1,
      'two',
      [3],
    ]);
  });

  it('throws the first failure in the order given, not the first in time', async () => {
    const late = new Promise((_, reject) => setTimeout(() => reject(new Error('first given')), 20));
    const soon = Promise.reject(new Error('first in time'));
    await expect(allInOrder([late, soon])).rejects.toThrow('first given');
  });
});
