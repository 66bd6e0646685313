import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { settable } from '../../src/async';
import { parseConfigText, resolveConfig, type ResolvedConfig } from '../../src/config/load';
import { SERVICE_NAMES, type ServiceName } from '../../src/config/schema';
import { imageLabels, LABELS, names, projectFilter, projectLabels } from '../../src/docker/names';
import { SERVICES, specFor } from '../../src/services/catalog';
import { probeOnce } from '../../src/services/probes';
import { waitForStartCheck } from '../../src/services/start-checks';
import type { Dependency } from '../../src/services/types';
import { awaitDependencies, conditionFor, type ServiceStart } from '../../src/stack/dependencies';
import { markDependents, type ServiceStatus } from '../../src/stack/status';

function config(yaml = ''): ResolvedConfig {
  return resolveConfig(parseConfigText(yaml, 'pbx.yaml'), null, '/tmp');
}

const never = new AbortController().signal;

describe('names and labels', () => {
  it('prefixes every resource of a project with pbx-<project>', () => {
    expect(names.network('shop')).toBe('pbx-shop');
    expect(names.container('shop', 'kafka')).toBe('pbx-shop-kafka');
    expect(names.volume('shop', 'kafka', 'data')).toBe('pbx-shop-kafka-data');
    expect(names.lockFile('shop')).toBe('pbx-shop.lock');
  });
  it('names the volumes of a spec with the same function', () => {
    expect(Object.keys(specFor(config('name: shop'), 'cassandra').volumes)).toEqual(['pbx-shop-cassandra-data']);
  });
  it('labels what pbx makes, and selects by the same labels', () => {
    expect(projectLabels('shop', 'redis')).toEqual({
      'pbx.managed': 'true',
      'pbx.project': 'shop',
      'pbx.service': 'redis',
    });
    expect(projectLabels('shop')).not.toHaveProperty(LABELS.service);
    expect(projectFilter('shop')).toEqual({ label: ['pbx.managed=true', 'pbx.project=shop'] });
    expect(imageLabels('abc')).toEqual({ 'pbx.managed': 'true', 'pbx.image.hash': 'abc' });
  });
});

describe('readiness probes', () => {
  it('come from each service definition', () => {
    expect(Object.fromEntries(SERVICE_NAMES.map((name) => [name, SERVICES[name].ready.kind]))).toEqual({
      zookeeper: 'zookeeper-ruok',
      kafka: 'kafka-roundtrip',
      cassandra: 'cassandra-cql',
      redis: 'redis-ping',
    });
  });

  it('are run by probeOnce as the definition names them (ZooKeeper: ruok, then srvr for its mode)', async () => {
    const zookeeper = await fakeZookeeper(
      (word) => ({ ruok: 'imok', srvr: 'Zookeeper version: 3.8\nMode: standalone\n' })[word] ?? '',
    );
    const answer = await probeOnce(config(`services: {zookeeper: {port: ${zookeeper.port}}}`), 'zookeeper', 'quick');
    expect(answer).toBe('imok, mode standalone');
    expect(zookeeper.words).toEqual(['ruok', 'srvr']);
  });
});

describe('start checks', () => {
  it('waits until ZooKeeper no longer holds a broker registration, and says so once', async () => {
    let asked = 0;
    const zookeeper = await fakeZookeeper(() =>
      ++asked <= 3 ? '/brokers/ids/1\n' : 'Sessions with Ephemerals (0):\n',
    );
    const notes: string[] = [];
    const check = { kind: 'no-stale-broker', of: 'zookeeper', timeoutMs: 30_000 } as const;
    await waitForStartCheck(config(`services: {zookeeper: {port: ${zookeeper.port}}}`), check, never, (n) =>
      notes.push(n),
    );
    expect(asked).toBe(4);
    expect(notes).toEqual(["waiting for the previous broker's ZooKeeper session to expire"]);
  });

  it('gives up waiting after its timeout, leaving the start to go ahead', async () => {
    const zookeeper = await fakeZookeeper(() => '/brokers/ids/1\n');
    const started = Date.now();
    const check = { kind: 'no-stale-broker', of: 'zookeeper', timeoutMs: 600 } as const;
    await waitForStartCheck(config(`services: {zookeeper: {port: ${zookeeper.port}}}`), check, never, () => undefined);
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
  });
});

describe('dependency conditions', () => {
  const kafkaOnZookeeper: Dependency = { service: 'zookeeper', condition: 'ready', onFreshData: 'started' };
  const fresh: ServiceStart = { running: true, freshData: true };
  const withData: ServiceStart = { running: true, freshData: false };

  it('take the fresh-data condition only when the dependency started on fresh volumes', () => {
    expect(conditionFor(kafkaOnZookeeper, fresh)).toBe('started');
    expect(conditionFor(kafkaOnZookeeper, withData)).toBe('ready');
    expect(conditionFor({ service: 'zookeeper', condition: 'started' }, withData)).toBe('started');
  });

  it('start a service alongside a dependency on fresh data, and name it to be watched', async () => {
    const zookeeper = signals();
    const waiting = awaitDependencies([kafkaOnZookeeper], new Map([['zookeeper', zookeeper]]));
    zookeeper.start.resolve(fresh);
    expect(await waiting).toEqual({ blockedBy: undefined, startedOnly: ['zookeeper'] });
  });

  it('wait for readiness of a dependency with data, and are blocked by one that fails', async () => {
    const zookeeper = signals();
    let settled = false;
    const waiting = awaitDependencies([kafkaOnZookeeper], new Map([['zookeeper', zookeeper]])).finally(
      () => (settled = true),
    );
    zookeeper.start.resolve(withData);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
    zookeeper.ready.resolve(false);
    expect(await waiting).toEqual({ blockedBy: 'zookeeper', startedOnly: [] });
  });

  it('fall back to readiness when a dependency failed before it ran, or is external', async () => {
    const zookeeper = signals();
    const started = awaitDependencies(
      [{ service: 'zookeeper', condition: 'started' }],
      new Map([['zookeeper', zookeeper]]),
    );
    zookeeper.start.resolve({ running: false, freshData: false });
    zookeeper.ready.resolve(true);
    expect(await started).toEqual({ blockedBy: undefined, startedOnly: [] });
  });

  it('ignore dependencies that are not part of the run', async () => {
    expect(await awaitDependencies([kafkaOnZookeeper], new Map())).toEqual({ blockedBy: undefined, startedOnly: [] });
  });
});

describe('status of dependents', () => {
  const status = (service: ServiceName, ready: boolean, check: string): ServiceStatus => ({
    service,
    node: service,
    state: 'running',
    ready,
    check,
    endpoint: { service, external: false, addresses: [], url: '' },
  });

  it('calls Kafka in ZooKeeper mode not ready while ZooKeeper is not, saying what it cannot do', () => {
    const services = [status('zookeeper', false, 'exited with code 143'), status('kafka', true, '1 broker')];
    markDependents(config(), services);
    expect(services[1]).toMatchObject({
      ready: false,
      check: '1 broker, but ZooKeeper is not ready (exited with code 143): no topic can be made or changed',
    });
  });

  it('leaves Kafka in KRaft mode alone, which needs no ZooKeeper', () => {
    const services = [status('zookeeper', false, 'exited with code 143'), status('kafka', true, '1 broker')];
    markDependents(config('services: {kafka: {mode: kraft}}'), services);
    expect(services[1]).toMatchObject({ ready: true, check: '1 broker' });
  });
});

function signals() {
  return { start: settable<ServiceStart>(), ready: settable<boolean>() };
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A server answering ZooKeeper's four-letter words as `answer` says, recording the words asked. */
async function fakeZookeeper(answer: (word: string) => string): Promise<{ port: number; words: string[] }> {
  const words: string[] = [];
  const server = createServer((socket) => {
    socket.on('data', (chunk: Buffer) => {
      const word = chunk.toString('utf8');
      words.push(word);
      socket.end(answer(word));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, words };
}
