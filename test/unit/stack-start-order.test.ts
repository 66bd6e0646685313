import { describe, expect, it } from 'vitest';
import { allInOrder } from '../../src/async';
import { parseConfigText, resolveConfig } from '../../src/config/load';
import { selectServices, specsFor } from '../../src/services/catalog';
import { holdsStackMs, leadService } from '../../src/stack/start-order';

function nodesOf(yaml: string, services?: string[]) {
  const config = resolveConfig(parseConfigText(yaml, 'pbx.yaml'), null, '/tmp');
  return selectServices(config, { services }).flatMap((service) => specsFor(config, service));
}

describe('leadService', () => {
  it('is Cassandra in the whole stack, ZooKeeper mode or KRaft', () => {
    expect(leadService(nodesOf(''))).toBe('cassandra');
    expect(leadService(nodesOf('services:\n  kafka: {mode: kraft, brokers: 3}\n'))).toBe('cassandra');
  });

  it('is ZooKeeper without Cassandra: Kafka, which waits for its start, holds the stack up longer', () => {
    const nodes = nodesOf('', ['kafka', 'redis']);
    expect(leadService(nodes)).toBe('zookeeper');
    expect(holdsStackMs('zookeeper', nodes)).toBeGreaterThan(holdsStackMs('kafka', nodes));
  });

  it('is Kafka in KRaft mode beside Redis, and the one service of a stack of one, several brokers counted once', () => {
    expect(leadService(nodesOf('services:\n  kafka: {mode: kraft, brokers: 3}\n', ['kafka', 'redis']))).toBe('kafka');
    expect(leadService(nodesOf('', ['redis']))).toBe('redis');
    expect(leadService([])).toBeUndefined();
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
