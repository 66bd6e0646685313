// Replay's side of Kafka: the connection, its topics made ready through clients/topics (created, checked against
// what exists, their settings read), and what a failure of Kafka's means for a replay. Everything else of replay
// reaches Kafka through the sink this returns.
import type { Admin, Kafka } from 'kafkajs';
import { ExitCode, UserError, UsageError } from '../cli/errors';
import {
  createKafka,
  isAuthorizationFailure,
  kafkaClientConfig,
  type KafkaClientOptions,
  type KafkaEndpoint,
} from '../clients/kafka';
import { ensureTopics, readTopicSettings, type TopicSettings } from '../clients/topics';
import type { ResolvedConfig } from '../config/load';
import { KafkaSink, type KafkaSinkOptions } from '../flow/kafka-sink';
import { endpointOf, kafkaEndpoint } from '../services/endpoints';
import type { ReplayPlan } from './plan';

/** A connected replay: the admin stays connected for checkpoint offsets, `kafka` makes the resume's consumer. */
export interface ReplayKafka {
  kafka: Kafka;
  admin: Admin;
  /** Where the cluster answers: what the admin and the sink were made for. */
  endpoint: KafkaEndpoint;
  sink: KafkaSink;
}

const REPLAY_CLIENT: KafkaClientOptions = {
  clientId: 'pbx-replay',
  connectionTimeout: 3000,
  retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5000 },
};

/** Connects, creating the topics that are missing, and opens the sink into them. */
export async function connect(
  plan: ReplayPlan,
  hooks: Pick<KafkaSinkOptions, 'onDelivered' | 'commit'>,
): Promise<ReplayKafka> {
  const endpoint = kafkaEndpoint(plan.config);
  const kafka = await createKafka(endpoint, REPLAY_CLIENT);
  const admin = kafka.admin();
  try {
    await admin.connect();
    const settings = await prepareTopics(admin, plan);
    const sink = await KafkaSink.connect({
      kafka: kafkaClientConfig(endpoint, REPLAY_CLIENT),
      topic: plan.topic,
      deadLetterTopic: plan.deadLetterTopic,
      onError: plan.onError,
      compression: plan.compression,
      maxMessageBytes: new Map(
        [...settings].flatMap(([topic, s]) => (s.maxMessageBytes ? [[topic, s.maxMessageBytes] as const] : [])),
      ),
      ...hooks,
    });
    return { kafka, admin, sink, endpoint };
  } catch (error) {
    await admin.disconnect().catch(() => undefined);
    if (error instanceof UserError) throw error;
    throw kafkaFailed(plan.config, plan.topic, error, 0, undefined);
  }
}

/** Creates the plan's topics that are missing (an existing one must have --partitions, when given); their settings. */
async function prepareTopics(admin: Admin, plan: ReplayPlan): Promise<Map<string, TopicSettings>> {
  await ensureTopics(
    admin,
    plan.topics.map((name) => ({
      name,
      namedIn: name === plan.topic ? '--topic' : '--dead-letter-topic',
      partitions: plan.partitions,
      existing: name === plan.topic && plan.partitions !== undefined ? { require: '--partitions' } : 'take',
    })),
    {
      endpoint: kafkaEndpoint(plan.config),
      refusedSteps: [
        "Check --partitions against the broker's limits, or create the topic with Kafka's own tools and replay into it.",
      ],
    },
  );
  const settings = await readTopicSettings(admin, plan.topics);
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
  if (isAuthorizationFailure(error)) {
    // clients/topics names the topic a refusal concerns: the dead-letter topic is created alongside.
    const named = (error as { topic?: string }).topic ?? topic;
    const user = config.services.kafka.external?.sasl?.username ?? 'pbx';
    const [what, rights] =
      type === 'CLUSTER_AUTHORIZATION_FAILED'
        ? ['use its idempotent producer', 'IDEMPOTENT_WRITE on the cluster (brokers before Kafka 2.8 ask for it)']
        : [
            `write to topic ${named}`,
            `WRITE and DESCRIBE on topic ${named} (CREATE too when pbx is to create it), or replay into a topic you may write to`,
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
