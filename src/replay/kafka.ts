// Replay's side of Kafka: the connection, the topics made ready (created, checked against what exists, their
// settings read), and what a failure of Kafka's is called. Everything else of replay reaches Kafka through the
// sink this returns.
import type { Admin, Kafka, KafkaConfig } from 'kafkajs';
import { ExitCode, UserError, UsageError } from '../cli/errors';
import { kafkaClientConfig, loadKafkajs } from '../clients/kafka';
import type { ResolvedConfig } from '../config/load';
import { collidingTopic } from '../config/schema';
import { KafkaSink, type KafkaSinkOptions } from '../flow/kafka-sink';
import { endpointOf } from '../services/endpoints';
import type { ReplayPlan } from './plan';

/** A connected replay: the admin stays connected for checkpoint offsets, `kafka` makes the resume's consumer. */
export interface ReplayKafka {
  kafka: Kafka;
  admin: Admin;
  sink: KafkaSink;
}

function kafkaOptions(config: ResolvedConfig): KafkaConfig {
  return {
    ...kafkaClientConfig(config, 'pbx-replay'),
    connectionTimeout: 3000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5000 },
  };
}

/** Connects, creating the topics that are missing, and opens the sink into them. */
export async function connect(
  plan: ReplayPlan,
  hooks: Pick<KafkaSinkOptions, 'onDelivered' | 'commit'>,
): Promise<ReplayKafka> {
  const { Kafka, logLevel } = await loadKafkajs();
  const kafka = new Kafka({ ...kafkaOptions(plan.config), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const settings = await prepareTopics(admin, plan);
    const sink = await KafkaSink.connect({
      kafka: kafkaOptions(plan.config),
      topic: plan.topic,
      deadLetterTopic: plan.deadLetterTopic,
      onError: plan.onError,
      compression: plan.compression,
      maxMessageBytes: new Map(
        [...settings].flatMap(([topic, s]) => (s.maxMessageBytes ? [[topic, s.maxMessageBytes] as const] : [])),
      ),
      ...hooks,
    });
    return { kafka, admin, sink };
  } catch (error) {
    await admin.disconnect().catch(() => undefined);
    if (error instanceof UserError) throw error;
    throw kafkaFailed(plan.config, plan.topic, error, 0, undefined);
  }
}

/** Creates the plan's topics that are missing, after refusing what Kafka would; returns their settings. */
async function prepareTopics(admin: Admin, plan: ReplayPlan): Promise<Map<string, TopicSettings>> {
  const existing = new Set(await admin.listTopics());
  const wanted = plan.topics.filter((t) => !existing.has(t));
  for (const topic of wanted) {
    const other = collidingTopic(topic, existing);
    if (other === undefined) continue;
    throw new UsageError(
      `Topic ${topic} would collide with topic ${other}, which exists: Kafka refuses a topic whose name differs from another's only by "." and "_".`,
      { nextSteps: [`Replay into ${other}, or choose a name that differs otherwise.`] },
    );
  }
  if (plan.partitions !== undefined && existing.has(plan.topic)) {
    const [topic] = (await admin.fetchTopicMetadata({ topics: [plan.topic] })).topics;
    const count = topic?.partitions.length;
    if (count !== plan.partitions) {
      throw new UsageError(
        `Topic ${plan.topic} already has ${count} partition(s): --partitions ${plan.partitions} applies only to a topic pbx creates.`,
        { nextSteps: ['Drop --partitions, or add partitions with kafka-topics.sh --alter --partitions N.'] },
      );
    }
  }
  if (wanted.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: wanted.map((topic) => ({ topic, numPartitions: plan.partitions ?? 1 })),
    });
  }
  const settings = await topicSettings(admin, plan.topics);
  // Kafka would refuse each unkeyed record with a bare "failed the validation on broker".
  const compacted = plan.unkeyedTopics.find((topic) => settings.get(topic)?.compacted);
  if (compacted !== undefined) {
    throw new UsageError(
      `Topic ${compacted} is compacted (cleanup.policy=compact): Kafka takes only records with a key there.`,
      {
        nextSteps: [
          compacted === plan.topic
            ? 'Give --key FIELD, the field whose value identifies a record, or replay into a topic that is not compacted.'
            : 'Give a --dead-letter-topic that is not compacted.',
        ],
      },
    );
  }
  return settings;
}

interface TopicSettings {
  /** The largest record batch the topic takes (its max.message.bytes, the broker's default unless set). */
  maxMessageBytes?: number;
  /** cleanup.policy includes compact: Kafka refuses records without a key. */
  compacted: boolean;
}

/** What replay needs of each topic's settings. A client that may not read them (ACLs) gets pbx's defaults. */
async function topicSettings(admin: Admin, topics: string[]): Promise<Map<string, TopicSettings>> {
  const { ConfigResourceTypes } = await loadKafkajs();
  const described = await admin
    .describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['max.message.bytes', 'cleanup.policy'],
      })),
    })
    .catch(() => ({ resources: [] }));
  return new Map(
    described.resources.map((resource) => {
      const value = (name: string) => resource.configEntries.find((e) => e.configName === name)?.configValue;
      const bytes = Number(value('max.message.bytes'));
      return [
        resource.resourceName,
        {
          maxMessageBytes: Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined,
          compacted: (value('cleanup.policy') ?? '').split(',').includes('compact'),
        },
      ];
    }),
  );
}

/** What Kafka's failure means for the user, with what was delivered before it (`sent`) and how to go on. */
export function kafkaFailed(
  config: ResolvedConfig,
  topic: string,
  error: unknown,
  sent: number,
  checkpoint: string | undefined,
): UserError {
  const brokers = endpointOf(config, 'kafka').addresses.join(',');
  const resume = checkpoint
    ? `Run the same command again: it resumes from ${checkpoint}.`
    : 'Use --checkpoint FILE to resume where a replay stopped.';
  const delivered = `Delivered before that: ${plural(sent, 'record')}.`;
  // kafkajs gathers each topic's own error from a CreateTopics under a general one ("Topic creation errors").
  const [own] = (error as { errors?: unknown[] }).errors ?? [];
  if (own !== undefined) {
    const named = (own as { topic?: string }).topic ?? topic; // the dead-letter topic is created alongside
    const refused = kafkaFailed(config, named, own, sent, checkpoint);
    if (refused.code !== 'KAFKA_UNAVAILABLE') return refused;
    return new UserError(`Kafka at ${brokers} refused to create topic ${named}: ${(own as Error).message}`, {
      code: 'TOPIC_REFUSED',
      nextSteps: [
        "Check --partitions against the broker's limits, or create the topic with Kafka's own tools and replay into it.",
      ],
      cause: error,
    });
  }
  const type = (error as { type?: string }).type;
  // Batches are cut to the topic's limit, so only a single record can still be too large: the data's problem.
  if (type === 'MESSAGE_TOO_LARGE') {
    return new UserError(
      `A record is larger than the topic's max.message.bytes allows: Kafka refused it. ${delivered}`,
      {
        code: 'RECORD_TOO_LARGE',
        nextSteps: [
          "Raise the topic's max.message.bytes (kafka-configs.sh --alter --entity-type topics --add-config max.message.bytes=N).",
          resume,
        ],
        details: { sent },
        cause: error,
      },
    );
  }
  // A cluster's ACLs: nothing pbx or a retry can change.
  if (type?.endsWith('_AUTHORIZATION_FAILED')) {
    const user = config.services.kafka.external?.sasl?.username ?? 'pbx';
    const [what, rights] =
      type === 'CLUSTER_AUTHORIZATION_FAILED'
        ? ['use its idempotent producer', 'IDEMPOTENT_WRITE on the cluster (brokers before Kafka 2.8 ask for it)']
        : [
            `write to topic ${topic}`,
            `WRITE and DESCRIBE on topic ${topic} (CREATE too when pbx is to create it), or replay into a topic you may write to`,
          ];
    return new UserError(
      `Kafka at ${brokers} does not let ${user} ${what}: ${(error as Error).message}. ${delivered}`,
      {
        code: 'KAFKA_NOT_AUTHORIZED',
        nextSteps: [`Ask the cluster's administrator for ${rights}.`, resume],
        details: { sent },
        cause: error,
      },
    );
  }
  return new UserError(`Kafka at ${brokers} did not accept the records: ${(error as Error).message}. ${delivered}`, {
    code: 'KAFKA_UNAVAILABLE',
    exitCode: ExitCode.unhealthy,
    nextSteps: ['Check the stack with `pbx status kafka` (start it with `pbx up kafka`).', resume],
    cause: error,
  });
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
