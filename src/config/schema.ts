import { z } from 'zod';
import { collidingTopic, topicNameProblem } from '../clients/topics';

/** The services pbx knows how to run, in start order. */
export const SERVICE_NAMES = ['zookeeper', 'kafka', 'cassandra', 'redis'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

const port = z.number().int().min(1).max(65535);
/** The most Kafka brokers pbx runs (services.kafka.brokers). */
export const MAX_BROKERS = 5;
// Docker's memory syntax, kept human: 512m, 1g, 1.5g.
const SIZE = /^(\d+(?:\.\d+)?)([kmg])$/i;

/** "512m" → bytes. */
export function parseSize(size: string): number {
  const match = SIZE.exec(size);
  if (!match) throw new Error(`not a size: ${size}`);
  const unit = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2]!.toLowerCase() as 'k' | 'm' | 'g'];
  return Math.round(Number(match[1]) * unit);
}

// The least each service was seen to start in (Kafka's log cleaner alone takes 128 MiB of its heap); below it, the
// container fails after it was made, with a Java heap error or an out-of-memory kill.
const memory = (service: string, least: string, fallback: string) =>
  z
    .string()
    .regex(SIZE, { message: 'expected a size such as 512m or 2g' })
    .refine((size) => !SIZE.test(size) || parseSize(size) >= parseSize(least), {
      message: `too little: ${service} needs at least ${least}`,
    })
    .default(fallback);
// "upstream" = the pinned public image, "local" = built by `pbx images build`, anything else = an image reference.
const image = z.string().min(1);
const hostPort = z.string().regex(/^[^\s:]+:\d+$/, { message: 'expected host:port' });

const topic = z.strictObject({
  name: z.string().superRefine((name, ctx) => {
    const problem = topicNameProblem(name);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  partitions: z.number().int().min(1).default(1),
  // Unset: min(brokers, 3) on the Kafka pbx runs (as its default.replication.factor), 1 on an external one.
  replicationFactor: z.number().int().min(1).optional(),
  // Kafka's own setting names and values; a list (cleanup.policy: [compact, delete]) is Kafka's comma-separated one.
  config: z
    .record(
      z.string(),
      z.union([
        z.string(),
        z.number(),
        z.boolean(),
        z.array(z.union([z.string(), z.number()])).transform((list) => list.join(',')),
      ]),
    )
    .default({}),
});

const sasl = z.strictObject({
  mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
  username: z.string(),
  password: z.string(),
});

const tls = z.union([
  z.boolean(),
  z.strictObject({
    ca: z.string().optional().describe('path to a PEM file with the CA certificate'),
    rejectUnauthorized: z.boolean().default(true),
  }),
]);

const zookeeper = z.strictObject({
  image: image.optional(),
  port: port.default(2181),
  memory: memory('ZooKeeper', '32m', '256m'),
});

const kafka = z
  .strictObject({
    image: image.optional(),
    port: port.default(9092),
    memory: memory('Kafka', '384m', '1g'),
    // KRaft needs no ZooKeeper; zookeeper mode matches the peachbox-era stacks. Unset: zookeeper for one broker,
    // kraft for more (only KRaft runs several here).
    mode: z.enum(['zookeeper', 'kraft']).optional(),
    // Broker containers, each with its own data volume and host port (port, port + 1, …); each one is a JVM of
    // `memory`, so five are the most a laptop is asked to hold.
    brokers: z.number().int().min(1).max(MAX_BROKERS).default(1),
    topics: z
      .array(topic)
      .superRefine((topics, ctx) =>
        topics.forEach(({ name }, i) => {
          const before = topics.slice(0, i).map((t) => t.name);
          const other = collidingTopic(name, before);
          const message = before.includes(name)
            ? `topic ${name} is declared twice`
            : other !== undefined
              ? `collides with topic ${other}: Kafka refuses names that differ only by "." and "_"`
              : undefined;
          if (message) ctx.addIssue({ code: 'custom', path: [i, 'name'], message });
        }),
      )
      .default([]),
    external: z
      .strictObject({
        brokers: z.array(hostPort).min(1),
        sasl: sasl.optional(),
        tls: tls.optional(),
      })
      .optional(),
  })
  .superRefine((settings, ctx) => {
    if (settings.external) {
      if (settings.brokers > 1)
        ctx.addIssue({
          code: 'custom',
          path: ['brokers'],
          message: 'brokers is the number of brokers pbx runs; an external Kafka lists its own under external.brokers',
        });
      return;
    }
    if (settings.brokers > 1 && settings.mode === 'zookeeper')
      ctx.addIssue({
        code: 'custom',
        path: ['mode'],
        message: `zookeeper mode runs one broker; ${settings.brokers} brokers run in KRaft mode (set mode: kraft, or leave mode out)`,
      });
    const lastPort = settings.port + settings.brokers - 1;
    if (lastPort > 65535)
      ctx.addIssue({
        code: 'custom',
        path: ['port'],
        message: `${settings.brokers} brokers take ports ${settings.port} to ${lastPort}: the last is above 65535`,
      });
    settings.topics.forEach(({ replicationFactor }, i) => {
      if (replicationFactor !== undefined && replicationFactor > settings.brokers)
        ctx.addIssue({
          code: 'custom',
          path: ['topics', i, 'replicationFactor'],
          message: `${replicationFactor} replicas need as many brokers; services.kafka.brokers is ${settings.brokers}`,
        });
    });
  })
  .transform(({ image, port, memory, mode, brokers, topics, external }) => {
    // As the brokers' default.replication.factor (services/kafka.ts), so a topic pbx makes and one Kafka makes agree.
    const replicationFactor = external ? 1 : Math.min(brokers, 3);
    return {
      image,
      port,
      memory,
      mode: mode ?? (brokers > 1 ? ('kraft' as const) : ('zookeeper' as const)),
      brokers,
      topics: topics.map((t) => ({ ...t, replicationFactor: t.replicationFactor ?? replicationFactor })),
      external,
    };
  });

const cassandra = z.strictObject({
  image: image.optional(),
  port: port.default(9042),
  memory: memory('Cassandra', '384m', '1g'),
  schema: z.array(z.string()).default([]).describe('CQL files applied after start, in order'),
  external: z
    .strictObject({
      contactPoints: z.array(z.string()).min(1),
      localDataCenter: z.string().default('datacenter1'),
      username: z.string().optional(),
      password: z.string().optional(),
      tls: tls.optional(),
    })
    .optional(),
});

const redis = z.strictObject({
  image: image.optional(),
  port: port.default(6379),
  memory: memory('Redis', '16m', '256m'),
  external: z
    .strictObject({ url: z.string().regex(/^rediss?:\/\//, { message: 'expected redis:// or rediss://' }) })
    .optional(),
});

export const configSchema = z.strictObject({
  // Names containers, network and volumes; two projects with different names never touch each other.
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, { message: 'expected lowercase letters, digits, - and _ (max 40)' })
    .optional(),
  // Unset: the pinned upstream image where it is present or can be pulled, else pbx's own (src/stack/images.ts).
  images: z.enum(['upstream', 'local']).optional(),
  // IPv4 only: endpoints, Kafka's advertised listener and the port checks are written for it.
  bind: z
    .ipv4({ message: 'expected an IPv4 address of this machine: 127.0.0.1 (the default) or 0.0.0.0 (every one)' })
    .default('127.0.0.1'),
  services: z
    .strictObject({
      zookeeper: zookeeper.default(() => zookeeper.parse({})),
      kafka: kafka.default(() => kafka.parse({})),
      cassandra: cassandra.default(() => cassandra.parse({})),
      redis: redis.default(() => redis.parse({})),
    })
    .default(() => ({
      zookeeper: zookeeper.parse({}),
      kafka: kafka.parse({}),
      cassandra: cassandra.parse({}),
      redis: redis.parse({}),
    }))
    .superRefine((services, context) => {
      // Each service pbx runs publishes its own port (Kafka one per broker): two on one port would fail only once
      // started.
      const owners = new Map<number, string>();
      for (const [name, settings] of Object.entries(services)) {
        if ('external' in settings && settings.external) continue;
        const count = 'brokers' in settings ? settings.brokers : 1;
        for (let i = 0; i < count; i++) {
          const taken = settings.port + i;
          const owner = owners.get(taken);
          const what = i === 0 ? `services.${name}.port` : `services.${name}.port + ${i} (broker ${i + 1})`;
          if (owner === undefined) owners.set(taken, what);
          else
            context.addIssue({
              code: 'custom',
              path: [name, 'port'],
              message: `${taken} is ${owner} too: each service needs a port of its own`,
            });
        }
      }
    }),
  // sci-pype's environments: a named subset of services, chosen with --profile.
  profiles: z.record(z.string(), z.array(z.enum(SERVICE_NAMES)).min(1)).default({}),
});

export type RawConfig = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type KafkaSettings = ParsedConfig['services']['kafka'];
export type CassandraSettings = ParsedConfig['services']['cassandra'];
export type RedisSettings = ParsedConfig['services']['redis'];
export type ZookeeperSettings = ParsedConfig['services']['zookeeper'];
export type Topic = KafkaSettings['topics'][number];
