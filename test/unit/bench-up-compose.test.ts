import { describe, expect, it } from 'vitest';
import { composeDocument, healthCheck } from '../../bench/up/compose';
import { parseConfigText, resolveConfig } from '../../src/config/load';
import { specFor } from '../../src/services/catalog';
import { writingFiles } from '../../src/stack/containers';

const yaml = 'name: benchup\nimages: local\nservices:\n  kafka: {port: 39092}\n  cassandra: {port: 39042}\n';
const config = resolveConfig(parseConfigText(yaml, 'pbx.yaml'), null, '/tmp');
const specs = (['zookeeper', 'kafka', 'cassandra', 'redis'] as const).map((s) => specFor(config, s));
const unescape = (text: string) => text.replaceAll('$$', '$');

type ComposeService = {
  image: string;
  command: string[];
  environment: Record<string, string>;
  mem_limit: number;
  ports: string[];
  volumes: string[];
  healthcheck: { test: string[]; interval: string };
  depends_on?: Record<string, { condition: string }>;
};

describe("bench/up's compose contender", () => {
  const document = composeDocument(specs, { everyMs: 500, kafkaMs: 2000 });
  const services = document.services as Record<string, ComposeService>;

  it('runs each service as pbx does: its image, command, environment, memory, port and named volumes', () => {
    for (const spec of specs) {
      const service = services[spec.name]!;
      const { command, env } = writingFiles(spec);
      expect(service.image).toBe(spec.image);
      expect(service.command.map(unescape)).toEqual(command);
      expect(Object.fromEntries(Object.entries(service.environment).map(([k, v]) => [k, unescape(v)]))).toEqual(env);
      expect(service.mem_limit).toBe(spec.memoryBytes);
      expect(service.ports).toEqual([`127.0.0.1:${spec.port.host}:${spec.port.container}`]);
      expect(service.volumes).toEqual(Object.entries(spec.volumes).map(([name, path]) => `${name}:${path}`));
      for (const name of Object.keys(spec.volumes)) expect(document.volumes).toHaveProperty(name);
    }
  });

  it('starts Kafka once ZooKeeper has started, as pbx does on fresh volumes', () => {
    expect(services.kafka!.depends_on).toEqual({ zookeeper: { condition: 'service_started' } });
    expect(services.cassandra!.depends_on).toBeUndefined();
  });

  it("checks each service with what pbx's probe asks, at its own interval", () => {
    expect(services.kafka!.healthcheck.interval).toBe('2000ms');
    expect(services.redis!.healthcheck.interval).toBe('500ms');
    const check = (name: string) => healthCheck(specs.find((s) => s.name === name)!);
    expect(check('zookeeper')).toMatch(/ruok[\s\S]*imok[\s\S]*srvr[\s\S]*Mode: /);
    expect(check('kafka')).toMatch(/ConsoleProducer[\s\S]*--request-required-acks all[\s\S]*ConsoleConsumer.*--group/);
    expect(check('cassandra')).toContain('SELECT release_version FROM system.local');
    expect(check('cassandra')).toContain('/dev/tcp/127.0.0.1/39042');
    // Compose reads `$` as a variable: every one in a check is written `$$`.
    expect(services.kafka!.healthcheck.test[3]).toContain('token=$$(date +%s%N)');
  });
});
