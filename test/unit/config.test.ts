import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/cli/errors';
import {
  defaultServices,
  findConfigFile,
  loadConfig,
  parseConfigText,
  projectNameFromDir,
} from '../../src/config/load';

function configError(text: string, env: Record<string, string> = {}): UserError {
  try {
    parseConfigText(text, 'pbx.yaml', env);
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return error as UserError;
  }
  throw new Error('expected the config to be rejected');
}

describe('pbx.yaml', () => {
  it('fills every default when the file is empty', () => {
    const config = parseConfigText('', 'pbx.yaml');
    expect(config.images).toBeUndefined(); // pbx chooses per service: src/stack/images.ts chooseImage
    expect(config.bind).toBe('127.0.0.1');
    expect(config.services.kafka).toMatchObject({ port: 9092, mode: 'zookeeper', topics: [] });
    expect(config.services.cassandra.port).toBe(9042);
    expect(config.services.redis.port).toBe(6379);
    expect(config.services.zookeeper.port).toBe(2181);
  });

  it('keeps given values and defaults topic settings', () => {
    const config = parseConfigText(
      'name: reviews\nservices:\n  kafka:\n    port: 19092\n    topics:\n      - name: movie_reviews\n        partitions: 3\n',
      'pbx.yaml',
    );
    expect(config.name).toBe('reviews');
    expect(config.services.kafka.port).toBe(19092);
    expect(config.services.kafka.topics).toEqual([
      { name: 'movie_reviews', partitions: 3, replicationFactor: 1, config: {} },
    ]);
    expect(config.services.redis.port).toBe(6379);
  });

  it('names file, line and column of a value of the wrong type', () => {
    const error = configError('services:\n  kafka:\n    port: "ninety"\n');
    expect(error.message).toContain('pbx.yaml:3:11');
    expect(error.message).toContain('services.kafka.port: expected number, got string "ninety"');
    expect(error.exitCode).toBe(1);
    expect(configError('profiles:\n  a:\n').message).toContain('profiles.a: expected array, got null');
    expect(configError('services:\n  kafka:\n    topics: [{partitions: 3}]\n').message).toContain(
      'services.kafka.topics.0.name: expected string (missing)',
    );
    expect(
      configError('services:\n  kafka:\n    topics: [{name: __consumer_offsets, partitions: 3}]\n').message,
    ).toContain("services.kafka.topics.0.name: Kafka's own topic");
    expect(configError('services:\n  kafka:\n    topics: [{name: a.b}, {name: c}, {name: a_b}]\n').message).toContain(
      'services.kafka.topics.2.name: collides with topic a.b',
    );
    expect(configError('services:\n  kafka:\n    topics: [{name: a}, {name: a}]\n').message).toContain(
      'services.kafka.topics.1.name: topic a is declared twice',
    );
  });

  it('takes an IPv4 address to bind services to, not a name or an IPv6 one', () => {
    expect(parseConfigText('bind: 0.0.0.0\n', 'x').bind).toBe('0.0.0.0');
    for (const bind of ['localhost', '"::1"', '300.1.1.1']) {
      expect(configError(`bind: ${bind}\n`).message).toContain('bind: expected an IPv4 address of this machine');
    }
  });

  it('refuses less memory than a service starts in, before anything is made', () => {
    expect(configError('services:\n  kafka:\n    memory: 300m\n').message).toContain(
      'pbx.yaml:3:13: services.kafka.memory: too little: Kafka needs at least 384m',
    );
    expect(parseConfigText('services:\n  kafka:\n    memory: 384m\n', 'x').services.kafka.memory).toBe('384m');
  });

  it('takes a list for a topic setting as Kafka’s comma-separated one', () => {
    const config = parseConfigText(
      'services:\n  kafka:\n    topics: [{name: t, config: {cleanup.policy: [compact, delete], retention.ms: 60000}}]\n',
      'x',
    );
    expect(config.services.kafka.topics[0]!.config).toEqual({
      'cleanup.policy': 'compact,delete',
      'retention.ms': 60000,
    });
    expect(configError('services:\n  kafka:\n    topics: [{name: t, config: {x: {a: 1}}}]\n').message).toContain(
      'services.kafka.topics.0.config.x: expected string, number, boolean or array, got a mapping',
    );
  });

  it('points at an unknown key and names it', () => {
    const error = configError('services:\n  redis:\n    prot: 1\n');
    expect(error.message).toMatch(/pbx\.yaml:3:5: unknown setting "prot" in services\.redis/);
  });

  it('says which setting a misspelt one resembles, and where a misplaced one goes, each on its own line', () => {
    expect(configError('servics:\n  kafka: {port: 1}\n').message).toContain(
      'pbx.yaml:1:1: unknown setting "servics" in the file (did you mean "services"?)',
    );
    const lines = configError('topics: []\nservices:\n  redis:\n    Prot: 1\n    user: u\n').message.split('\n');
    expect(lines).toContain('pbx.yaml:1:1: unknown setting "topics" in the file (it goes under services.kafka)');
    expect(lines).toContain('pbx.yaml:4:5: unknown setting "Prot" in services.redis (did you mean "port"?)');
    expect(lines).toContain('pbx.yaml:5:5: unknown setting "user" in services.redis');
    expect(configError('services:\n  kafka:\n    external: {brokers: [a:1], sasl: {user: u}}\n').message).toContain(
      'unknown setting "user" in services.kafka.external.sasl (did you mean "username"?)',
    );
  });

  it('names the bound a number or a list is outside of, and the value', () => {
    expect(configError('services:\n  kafka: {port: 70000}\n').message).toContain(
      'pbx.yaml:2:17: services.kafka.port: expected at most 65535, got 70000',
    );
    expect(configError('services:\n  kafka:\n    topics: [{name: t, partitions: 0}]\n').message).toContain(
      'services.kafka.topics.0.partitions: expected at least 1, got 0',
    );
    expect(configError('profiles:\n  x: []\n').message).toContain('profiles.x: expected at least 1 entry, got 0');
  });

  it('lists the allowed values of an enum', () => {
    const error = configError('services:\n  kafka:\n    mode: raft\n');
    expect(error.message).toContain('pbx.yaml:3:11');
    expect(error.message).toContain('"zookeeper", "kraft"');
  });

  it('reports YAML syntax errors with their position', () => {
    const error = configError('services:\n  kafka: [\n');
    expect(error.message).toMatch(/^pbx\.yaml:\d+:\d+: invalid YAML/);
  });

  it('rejects a port out of range and a bad memory size', () => {
    expect(configError('services:\n  redis:\n    port: 70000\n').message).toContain('pbx.yaml:3:11');
    expect(configError('services:\n  redis:\n    memory: lots\n').message).toContain('512m or 2g');
  });

  it('refuses two services on one port, unless one of them is external', () => {
    const error = configError('services:\n  kafka: {port: 7000}\n  redis: {port: 7000}\n');
    expect(error.message).toBe(
      'pbx.yaml:3:17: services.redis.port: 7000 is services.kafka.port too: each service needs a port of its own',
    );
    const external = 'services:\n  kafka: {port: 7000}\n  redis: {port: 7000, external: {url: "redis://cache:6379"}}\n';
    expect(parseConfigText(external, 'pbx.yaml').services.redis.port).toBe(7000);
  });

  it('refuses a TLS certificate file that is not there, before anything connects', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbx-ca-'));
    const file = join(dir, 'pbx.yaml');
    writeFileSync(file, 'services:\n  kafka:\n    external: {brokers: [k:9093], tls: {ca: certs/ca.pem}}\n');
    expect(() => loadConfig({ file })).toThrow(
      `services.kafka.external.tls.ca: ${join(dir, 'certs/ca.pem')} is not a file`,
    );
    mkdirSync(join(dir, 'certs'));
    writeFileSync(join(dir, 'certs/ca.pem'), 'PEM');
    expect(loadConfig({ file }).services.kafka.external?.tls).toEqual({ ca: 'certs/ca.pem', rejectUnauthorized: true });
  });

  it('interpolates ${VAR} and ${VAR:-default}, and names a missing variable', () => {
    const text =
      'services:\n  kafka:\n    external:\n      brokers: ["${BROKER}"]\n      sasl: { mechanism: plain, username: u, password: "${PW:-secret}" }\n';
    const config = parseConfigText(text, 'pbx.yaml', { BROKER: 'kafka.example:9093' });
    expect(config.services.kafka.external?.brokers).toEqual(['kafka.example:9093']);
    expect(config.services.kafka.external?.sasl?.password).toBe('secret');
    expect(configError(text).message).toMatch(/pbx\.yaml:4:\d+: environment variable BROKER is not set/);
  });

  it('reads an unquoted ${VAR} as if its value were written there, a quoted one as a string', () => {
    const text = 'services:\n  redis:\n    port: ${REDIS_PORT:-6380}\n  kafka:\n    topics: [{name: "${T}"}]\n';
    const config = parseConfigText(text, 'pbx.yaml', { T: '1234' });
    expect(config.services.redis.port).toBe(6380);
    expect(config.services.kafka.topics[0]!.name).toBe('1234');
    expect(parseConfigText(text, 'pbx.yaml', { REDIS_PORT: '7000', T: 't' }).services.redis.port).toBe(7000);
    expect(configError('services:\n  redis:\n    port: "${P:-6380}"\n').message).toContain(
      'expected number, got string "6380"',
    );
    expect(configError('services:\n  redis: {port: ${P:-6380}}\n').message).toContain(
      'unquoted, write the setting on a line of its own',
    );
  });

  it('drops ZooKeeper from the default services in KRaft mode or with an external Kafka', () => {
    expect(defaultServices(parseConfigText('', 'x'))).toEqual(['zookeeper', 'kafka', 'cassandra', 'redis']);
    expect(defaultServices(parseConfigText('services: {kafka: {mode: kraft}}', 'x'))).toEqual([
      'kafka',
      'cassandra',
      'redis',
    ]);
    expect(defaultServices(parseConfigText('services: {kafka: {external: {brokers: ["h:1"]}}}', 'x'))).not.toContain(
      'zookeeper',
    );
  });

  it('finds pbx.yaml in a parent directory and names the project after its directory', () => {
    const root = mkdtempSync(join(tmpdir(), 'pbx-config-'));
    const project = join(root, 'My Reviews');
    mkdirSync(join(project, 'pipelines', 'deep'), { recursive: true });
    writeFileSync(join(project, 'pbx.yaml'), 'profiles:\n  cache: [redis]\n');
    expect(findConfigFile(join(project, 'pipelines', 'deep'))).toBe(join(project, 'pbx.yaml'));
    const config = loadConfig({ cwd: join(project, 'pipelines') });
    expect(config.name).toBe('my-reviews');
    expect(config.profiles).toEqual({ default: ['zookeeper', 'kafka', 'cassandra', 'redis'], cache: ['redis'] });
    expect(projectNameFromDir('/x/__')).toBe('pbx');
  });

  it('uses defaults with no file, and refuses an explicit file that does not exist', () => {
    const empty = mkdtempSync(join(tmpdir(), 'pbx-none-'));
    expect(loadConfig({ cwd: empty }).file).toBeNull();
    expect(() => loadConfig({ cwd: empty, file: 'missing.yaml' })).toThrow(/does not exist/);
  });
});
