import { describe, expect, it } from 'vitest';
import { parseConfigText, resolveConfig, type ResolvedConfig } from '../../src/config/load';
import { imageSetting, selectServices, specFor, specHash, resolveImage } from '../../src/services/catalog';
import { connectionEnv, endpointOf } from '../../src/services/endpoints';
import type { ProjectContainer } from '../../src/stack/containers';
import { planActions, splitCql } from '../../src/stack/plan';

function config(yaml = ''): ResolvedConfig {
  return resolveConfig(parseConfigText(yaml, 'pbx.yaml'), null, '/tmp');
}

const container = (service: ProjectContainer['service'], configHash: string, state = 'running'): ProjectContainer => ({
  id: `id-${service}`,
  name: `pbx-test-${service}`,
  service,
  node: service,
  image: 'img',
  state,
  configHash,
  createdAt: new Date(),
});

describe('planActions', () => {
  it('creates what is missing, keeps what is identical and running, restarts what stopped, recreates what changed', () => {
    const plan = planActions(
      [
        { node: 'zookeeper', hash: 'a' },
        { node: 'kafka', hash: 'b' },
        { node: 'cassandra', hash: 'c' },
        { node: 'redis', hash: 'd' },
      ],
      [container('kafka', 'b'), container('cassandra', 'c', 'exited'), container('redis', 'old')],
    );
    expect(Object.fromEntries([...plan].map(([k, v]) => [k, v.action]))).toEqual({
      zookeeper: 'create',
      kafka: 'keep',
      cassandra: 'restart',
      redis: 'recreate',
    });
  });

  it('keeps a container its restart policy is starting again: a start of pbx would race the engine', () => {
    const plan = planActions([{ node: 'redis', hash: 'd' }], [container('redis', 'd', 'restarting')]);
    expect(plan.get('redis')?.action).toBe('keep');
  });
});

describe('service selection', () => {
  it('adds dependencies and keeps the start order', () => {
    expect(selectServices(config(), { services: ['kafka'] })).toEqual(['zookeeper', 'kafka']);
    expect(selectServices(config('services: {kafka: {mode: kraft}}'), { services: ['kafka'] })).toEqual(['kafka']);
    expect(selectServices(config(), { services: ['redis', 'cassandra'] })).toEqual(['cassandra', 'redis']);
  });
  it('uses profiles and rejects unknown ones and unknown services as usage errors', () => {
    expect(selectServices(config('profiles: {cache: [redis]}'), { profile: 'cache' })).toEqual(['redis']);
    expect(() => selectServices(config(), { profile: 'nope' })).toThrow(/Profile "nope" is not defined/);
    expect(() => selectServices(config(), { services: ['mysql'] })).toThrow(/Unknown service: mysql/);
  });
});

describe('service specs', () => {
  it('changes the hash when a setting that shapes the container changes, and only then', () => {
    const a = specHash(specFor(config(), 'redis'));
    expect(specHash(specFor(config(), 'redis'))).toBe(a);
    expect(specHash(specFor(config('services: {redis: {memory: 512m}}'), 'redis'))).not.toBe(a);
    expect(specHash(specFor(config('services: {kafka: {port: 19092}}'), 'redis'))).toBe(a);
    // What `up` waits for around the start is not part of the container.
    const kafka = specFor(config(), 'kafka');
    expect(specHash({ ...kafka, dependsOn: [], beforeStart: [], startupTimeoutMs: 1 })).toBe(specHash(kafka));
  });
  it('advertises Kafka to the host on its published port and to containers by name', () => {
    const spec = specFor(config('services: {kafka: {port: 19092}}'), 'kafka');
    const props = spec.files['/etc/pbx/kafka/server.properties']!;
    expect(props).toContain('advertised.listeners=INTERNAL://kafka:29092,EXTERNAL://127.0.0.1:19092');
    expect(props).toContain('zookeeper.connect=zookeeper:2181');
    expect(spec.port).toEqual({ container: 9092, host: 19092, bind: '127.0.0.1' });
    // ZooKeeper's answer is waited for only where it may hold a dead broker's registration; on fresh data they start together.
    expect(spec.dependsOn).toMatchObject([{ service: 'zookeeper', condition: 'ready', onFreshData: 'started' }]);
    expect(spec.beforeStart).toEqual([{ kind: 'no-stale-broker', of: 'zookeeper', timeoutMs: 30_000 }]);
  });
  it('formats KRaft storage before starting Kafka and needs no ZooKeeper', () => {
    const spec = specFor(config('services: {kafka: {mode: kraft}}'), 'kafka');
    expect(spec.command.join(' ')).toMatch(/kafka-storage\.sh format .* && exec .*kafka-server-start\.sh/);
    expect(spec.files['/etc/pbx/kafka/server.properties']).toContain('process.roles=broker,controller');
    expect(spec.dependsOn).toEqual([]);
    expect(spec.beforeStart).toEqual([]);
  });
  it('runs Cassandra CQL on the same port inside and outside, so drivers can follow its address', () => {
    const spec = specFor(config('services: {cassandra: {port: 19042}}'), 'cassandra');
    expect(spec.port).toMatchObject({ container: 19042, host: 19042 });
    expect(spec.files['/etc/pbx/cassandra/cassandra.yaml']).toContain('native_transport_port: 19042');
  });
  it('picks upstream or local images, per project or per service', () => {
    expect(resolveImage(config(), 'kafka')).toMatchObject({ image: 'apache/kafka:3.9.1', local: false });
    expect(imageSetting(config(), 'kafka')).toBeUndefined(); // unset: pbx chooses with the engine
    expect(resolveImage(config('images: local'), 'kafka')).toMatchObject({
      image: 'pbx/kafka:3.9.1',
      local: true,
      reason: 'as pbx.yaml sets (images: local)',
    });
    expect(resolveImage(config('services: {redis: {image: "my/redis:1"}}'), 'redis')).toMatchObject({
      image: 'my/redis:1',
      local: false,
      reason: 'as pbx.yaml sets (services.redis.image: my/redis:1)',
    });
  });
  it('gives the same spec hash for the same chosen image, whatever chose it', () => {
    const chosen = specFor(config(), 'kafka', { image: 'pbx/kafka:3.9.1', local: true });
    expect(specHash(chosen)).toBe(specHash(specFor(config('images: local'), 'kafka')));
    expect(specHash(chosen)).not.toBe(specHash(specFor(config(), 'kafka')));
  });
});

describe('endpoints and env', () => {
  it('describes managed and external services alike', () => {
    const c = config(
      'services:\n  kafka:\n    external: {brokers: ["k1:9093", "k2:9093"], sasl: {mechanism: plain, username: u, password: p}, tls: true}\n  redis: {port: 16379}\n',
    );
    expect(endpointOf(c, 'kafka')).toMatchObject({
      external: true,
      addresses: ['k1:9093', 'k2:9093'],
      internal: undefined,
    });
    expect(endpointOf(c, 'redis')).toMatchObject({
      external: false,
      addresses: ['127.0.0.1:16379'],
      internal: 'redis:6379',
    });
    expect(connectionEnv(c, ['kafka', 'cassandra', 'redis'])).toEqual({
      PBX_PROJECT: 'pbx',
      KAFKA_BROKERS: 'k1:9093,k2:9093',
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_TLS: 'true',
      CASSANDRA_CONTACT_POINTS: '127.0.0.1:9042',
      CASSANDRA_LOCAL_DC: 'datacenter1',
      REDIS_URL: 'redis://127.0.0.1:16379',
    });
  });
});

describe('splitCql', () => {
  it('splits on semicolons outside strings and comments', () => {
    const text = `-- a comment; not a statement
CREATE KEYSPACE IF NOT EXISTS k WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};
/* block; comment */ INSERT INTO k.t (a) VALUES ('x;y');
// trailing
INSERT INTO k.t (a) VALUES ('it''s')`;
    expect(splitCql(text)).toEqual([
      {
        text: "CREATE KEYSPACE IF NOT EXISTS k WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        line: 2,
      },
      { text: "INSERT INTO k.t (a) VALUES ('x;y')", line: 3 },
      { text: "INSERT INTO k.t (a) VALUES ('it''s')", line: 5 },
    ]);
    expect(splitCql("\n\n  'a;\nb'\n  x;\n\ny").map((s) => s.line)).toEqual([3, 7]);
  });
});
