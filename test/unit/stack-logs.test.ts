import { describe, expect, it } from 'vitest';
import { parseConfigText, resolveConfig } from '../../src/config/load';
import type { ServiceName } from '../../src/config/schema';
import type { ProjectContainer } from '../../src/stack/containers';
import { containersNamed, logNames } from '../../src/stack/logs';

const config = (yaml: string) => resolveConfig(parseConfigText(yaml, 'pbx.yaml'), null, '/tmp');

const container = (service: ServiceName, node: string = service): ProjectContainer => ({
  id: `id-${node}`,
  name: `pbx-test-${node}`,
  service,
  node,
  image: 'img',
  state: 'running',
  createdAt: new Date(),
});

describe('pbx logs names', () => {
  it('takes each broker of several by the name pbx status gives it, beside the services', () => {
    const names = logNames(config('services:\n  kafka: {brokers: 3}\n'));
    expect([...names.keys()]).toEqual(['zookeeper', 'kafka', 'cassandra', 'redis', 'kafka-1', 'kafka-2', 'kafka-3']);
    expect(names.get('kafka-2')).toBe('kafka');
  });

  it('takes no broker name where Kafka runs one broker', () => {
    expect([...logNames(config('')).keys()]).toEqual(['zookeeper', 'kafka', 'cassandra', 'redis']);
  });

  it("shows one broker by its name, a service's every node by the service's, each container once", () => {
    const all = [container('kafka', 'kafka-1'), container('kafka', 'kafka-2'), container('kafka', 'kafka-3')];
    all.push(container('redis'));
    const nodes = (names: string[]) => containersNamed(all, names).map((c) => c.node);
    expect(nodes(['kafka-2'])).toEqual(['kafka-2']);
    expect(nodes(['kafka-3', 'redis'])).toEqual(['kafka-3', 'redis']);
    expect(nodes(['kafka', 'kafka-2'])).toEqual(['kafka-1', 'kafka-2', 'kafka-3']);
    expect(nodes([])).toEqual(['kafka-1', 'kafka-2', 'kafka-3', 'redis']);
  });
});
