import type { Admin, ConfigEntries, PartitionMetadata } from 'kafkajs';
import { UserError } from '../cli/errors';
import { sleep, withTimeout } from '../async';
import { createKafka, isAuthorizationFailure, kafkaClientConfig, loadKafkajs, type KafkaEndpoint } from './kafka';
import { loadClusterReads, type ClusterReads } from './kafkajs-internals';

// Kafka's topics, in one place for every command that needs one (up, replay, run, top): names Kafka refuses, topics
// made with their partitions and settings, existing ones brought to them or checked, and Kafka's refusals said with
// its reason and the setting or flag the user changes.

/** Kafka's rule for a topic's name: up to 249 letters, digits, dots, underscores and hyphens, and not . or .. */
const TOPIC_NAME = /^(?!\.\.?$)[a-zA-Z0-9._-]{1,249}$/;
/** Kafka's own topics, for consumer groups' offsets and transactions: no place for a user's data or settings. */
const INTERNAL_TOPICS: readonly string[] = ['__consumer_offsets', '__transaction_state'];

/** What is wrong with `name` as a topic for data (pure); undefined when nothing is. */
export function topicNameProblem(name: string): string | undefined {
  if (!TOPIC_NAME.test(name)) return 'not a Kafka topic name (up to 249 letters, digits, ".", "_" and "-")';
  if (INTERNAL_TOPICS.includes(name))
    return "Kafka's own topic (consumer groups' offsets or transactions), not one for data";
  return undefined;
}

/**
 * A topic among `others` that Kafka takes for `name` (pure): its metrics spell "." as "_", so it refuses a new topic
 * whose name differs from another's only there (as "an invalid topic", with no word of which).
 */
export function collidingTopic(name: string, others: Iterable<string>): string | undefined {
  const spelled = name.replaceAll('.', '_');
  for (const other of others) if (other !== name && other.replaceAll('.', '_') === spelled) return other;
  return undefined;
}

/**
 * What becomes of a requested topic that exists: `take` uses it as it is; `reconcile` gives it the partitions (Kafka
 * only adds them) and settings requested (pbx up); `{ require }` refuses it unless it has the partitions requested,
 * naming the setting or flag that asked for them (`{ require: '--partitions' }`).
 */
export type ExistingTopic = 'take' | 'reconcile' | { require: string };

/** A topic a command needs. */
export interface TopicRequest {
  name: string;
  /** The setting or flag that names the topic, for the next step of a refusal: "services.kafka.topics", "--topic". */
  namedIn: string;
  /** Of a topic pbx creates; default 1. */
  partitions?: number;
  /** Of a topic pbx creates; default the broker's. */
  replicationFactor?: number;
  /** Kafka's own topic settings (retention.ms, cleanup.policy…) for a topic pbx creates or reconciles. */
  settings?: Record<string, string>;
  /** Default `take`. */
  existing?: ExistingTopic;
}

/** What `ensureTopics` did to one topic. */
export interface TopicOutcome {
  name: string;
  partitions: number;
  action: 'created' | 'unchanged' | 'changed';
  /** What `changed` changed: "partitions 3 → 4", "retention.ms 604800000 → 3600000". */
  changes?: string[];
  /** What the request asks and Kafka cannot do. */
  note?: string;
}

export interface EnsureTopicsOptions {
  /** The cluster the admin talks to: each of its brokers is asked on its own whether it knows the topics yet. */
  endpoint: KafkaEndpoint;
  /** What to check when Kafka refuses to create or change a topic, in the caller's words (its settings, its flags). */
  refusedSteps: string[];
}

/** The code of every refusal of a topic, whether Kafka said it or pbx said it first with Kafka's reason. */
export const TOPIC_REFUSED = 'TOPIC_REFUSED';
/** The code of an existing topic whose partitions are not the ones a command requires. */
export const TOPIC_PARTITIONS_DIFFER = 'TOPIC_PARTITIONS_DIFFER';

/**
 * Creates the requested topics that are missing and deals with the ones that exist as each request says, then waits
 * until every broker knows each of them with a leader for each partition (see awaitEveryBroker). A topic Kafka
 * refuses is a UserError (TOPIC_REFUSED, exit 1) with Kafka's reason; a refusal of pbx's rights
 * (`*_AUTHORIZATION_FAILED`, with the `topic` it concerns) and a cluster that stops answering are thrown as kafkajs
 * threw them, for the caller to word.
 */
export async function ensureTopics(
  admin: Admin,
  requests: TopicRequest[],
  options: EnsureTopicsOptions,
): Promise<TopicOutcome[]> {
  if (requests.length === 0) return [];
  // Every topic with its partitions, in the one request a list of names would take.
  const { topics } = await admin.fetchTopicMetadata();
  const existing = new Map(topics.map((t) => [t.name, t.partitions.length]));
  const missing = requests.filter((r) => !existing.has(r.name));
  const refused = refusedName(missing, new Set(existing.keys()));
  if (refused) throw refused;
  for (const request of requests) {
    const partitions = existing.get(request.name);
    if (partitions !== undefined) checkPartitions(request, partitions);
  }
  const found = await describeTopics(admin, requests, existing);
  await createTopics(admin, missing, options);
  const outcomes: TopicOutcome[] = [];
  for (const request of requests) {
    const topic = found.get(request.name);
    if (topic === undefined) {
      outcomes.push({ name: request.name, partitions: request.partitions ?? 1, action: 'created' });
    } else if (request.existing === 'reconcile') {
      outcomes.push(await reconcileTopic(admin, request, topic, options));
    } else {
      outcomes.push({ name: request.name, partitions: topic.partitions, action: 'unchanged' });
    }
  }
  await awaitEveryBroker(
    options.endpoint,
    requests.map((r) => r.name),
  );
  return outcomes;
}

/**
 * The refusal of the first topic to create whose name Kafka would refuse, with Kafka's reason (pure): Kafka itself
 * says only "an invalid topic", with no word of which. Undefined when Kafka takes them all.
 */
export function refusedName(missing: TopicRequest[], existing: Set<string>): UserError | undefined {
  const asked: string[] = [];
  for (const { name, namedIn } of missing) {
    const problem = topicNameProblem(name);
    if (problem !== undefined) {
      return new UserError(`Kafka refuses topic ${name}: ${problem}.`, {
        code: TOPIC_REFUSED,
        nextSteps: [`Choose another name (${namedIn}).`],
      });
    }
    const other = collidingTopic(name, existing) ?? collidingTopic(name, asked);
    asked.push(name);
    if (other === undefined) continue;
    return new UserError(
      `Topic ${name} would collide with topic ${other}, which ${existing.has(other) ? 'exists' : 'is requested too'}: Kafka refuses a topic whose name differs from another's only by "." and "_".`,
      {
        code: TOPIC_REFUSED,
        nextSteps: [`Name it ${other} (${namedIn}), or choose a name that differs otherwise.`],
      },
    );
  }
  return undefined;
}

function checkPartitions(request: TopicRequest, partitions: number): void {
  const { existing, name } = request;
  const wanted = request.partitions ?? 1;
  if (typeof existing !== 'object' || partitions === wanted) return;
  throw new UserError(
    `Topic ${name} already has ${partitions} partition(s): ${existing.require} ${wanted} applies only to a topic pbx creates.`,
    {
      code: TOPIC_PARTITIONS_DIFFER,
      nextSteps: [
        `Drop ${existing.require}, or make it ${partitions}.`,
        partitions < wanted
          ? `Or add partitions to the topic with kafka-topics.sh --alter --topic ${name} --partitions ${wanted}.`
          : 'Kafka cannot take partitions away: only deleting the topic and making it again gives it fewer.',
      ],
    },
  );
}

async function createTopics(admin: Admin, missing: TopicRequest[], options: EnsureTopicsOptions): Promise<void> {
  if (missing.length === 0) return;
  await admin
    .createTopics({
      // Waited for by ensureTopics: kafkajs's own wait asks one broker, which ends at its first answer but
      // LEADER_NOT_AVAILABLE, and another broker may not know the topic yet.
      waitForLeaders: false,
      topics: missing.map((r) => ({
        topic: r.name,
        numPartitions: r.partitions ?? 1,
        replicationFactor: r.replicationFactor,
        configEntries: Object.entries(r.settings ?? {}).map(([name, value]) => ({ name, value })),
      })),
    })
    .catch((error: unknown) => {
      throw topicRefusal('create', error, missing.map((r) => r.name).join(', '), options.refusedSteps);
    });
}

/** How long topics are given to reach every broker, each partition led: moments, unless a broker is in trouble. */
const EVERY_BROKER_TIMEOUT_MS = 30_000;

/**
 * Waits until every broker of the cluster knows `topics` with a leader for each partition, asking each broker on its
 * own, one metadata request each a round. A broker learns of a new topic (or partition) a moment after the controller
 * made it, and refuses it meanwhile (UNKNOWN_TOPIC_OR_PARTITION): to a producer whose metadata came from another
 * broker, to a client listing offsets. That holds for a topic another command has just made too, so topics that
 * existed are waited for as well. A broker that cannot be reached serves no client meanwhile: it is not waited for.
 */
async function awaitEveryBroker(endpoint: KafkaEndpoint, topics: string[]): Promise<void> {
  const reads = await loadClusterReads(
    kafkaClientConfig(endpoint, {
      clientId: 'pbx-topics',
      connectionTimeout: 3000,
      requestTimeout: 5000,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
    }),
  );
  await reads.connect();
  try {
    const deadline = Date.now() + EVERY_BROKER_TIMEOUT_MS;
    const { brokers } = await reads.metadata();
    for (;;) {
      const views = await Promise.all(brokers.map((broker) => brokerView(reads, broker, topics)));
      const behind = views.filter((view) => view.lacking.length > 0);
      if (behind.length === 0) return;
      if (Date.now() >= deadline) throw new Error(notOnEveryBroker(behind, EVERY_BROKER_TIMEOUT_MS));
      await sleep(100);
    }
  } finally {
    await reads.disconnect().catch(() => undefined);
  }
}

/**
 * Each partition's high watermark. kafkajs's admin lists read_committed offsets (the last stable offset), which stays
 * behind a committed transaction until its markers are written, a moment after the commit was answered: records
 * committed then count here.
 */
export async function highWatermarks(reads: ClusterReads, topic: string): Promise<Map<number, bigint>> {
  const { topicMetadata } = await reads.metadata();
  const byLeader = new Map<number, number[]>();
  for (const p of topicMetadata.find((t) => t.topic === topic)?.partitionMetadata ?? [])
    byLeader.set(p.leader, [...(byLeader.get(p.leader) ?? []), p.partitionId]);
  const highs = new Map<number, bigint>();
  await Promise.all(
    [...byLeader].map(async ([leader, partitions]) => {
      const broker = await reads.broker(leader);
      const { responses } = await broker.listOffsets({
        isolationLevel: READ_UNCOMMITTED,
        topics: [{ topic, partitions: partitions.map((partition) => ({ partition, timestamp: LATEST })) }],
      });
      for (const answer of responses) for (const p of answer.partitions) highs.set(p.partition, BigInt(p.offset));
    }),
  );
  return highs;
}

const READ_UNCOMMITTED = 0;
/** ListOffsets' timestamp for a partition's end. */
const LATEST = -1;

/** What one broker knows of the topics waited for: those it lacks, or holds with a partition not led. */
export interface BrokerView {
  nodeId: number;
  address: string;
  lacking: string[];
}

async function brokerView(
  reads: ClusterReads,
  broker: { nodeId: number; host: string; port: number },
  topics: string[],
): Promise<BrokerView> {
  const view = { nodeId: broker.nodeId, address: `${broker.host}:${broker.port}` };
  try {
    const { topicMetadata } = await (await reads.broker(broker.nodeId)).metadata(topics);
    return { ...view, lacking: topicsNotLed(topicMetadata, topics) };
  } catch (error) {
    if (isConnectionFailure(error)) return { ...view, lacking: [] };
    // Kafka's "not yet" (the topic unknown, a partition's leader not elected) and a slow answer: asked again.
    if ((error as { retriable?: boolean }).retriable) return { ...view, lacking: topics };
    throw error;
  }
}

/** The topics of `wanted` a broker's metadata does not hold with a leader for each partition (pure). */
export function topicsNotLed(
  topicMetadata: Array<{ topic: string; partitionMetadata: PartitionMetadata[] }>,
  wanted: string[],
): string[] {
  const led = new Set(
    topicMetadata
      .filter((t) => t.partitionMetadata.length > 0 && t.partitionMetadata.every((p) => p.leader >= 0))
      .map((t) => t.topic),
  );
  return wanted.filter((topic) => !led.has(topic));
}

/** Why the topics are not usable yet, broker by broker (pure). */
export function notOnEveryBroker(behind: BrokerView[], withinMs: number): string {
  const each = behind.map((view) => `broker ${view.nodeId} (${view.address}) lacks ${view.lacking.join(', ')}`);
  return `not every broker knew the topics with a leader for each partition within ${withinMs / 1000} s: ${each.join('; ')}`;
}

/** A broker that could not be reached at all (refused, unresolved, timed out connecting), as kafkajs says it. */
function isConnectionFailure(error: unknown): boolean {
  const { name, cause } = error as { name?: string; cause?: unknown };
  if (name === 'KafkaJSConnectionError') return true;
  return name === 'KafkaJSNumberOfRetriesExceeded' && cause !== undefined && isConnectionFailure(cause);
}

/** Each topic's own error, where kafkajs gathers them under one ("Topic creation errors"); else the error itself. */
export function topicErrorsOf(error: unknown): Array<Error & { topic?: string; type?: string }> {
  const each = (error as { errors?: unknown }).errors;
  const errors = Array.isArray(each) && each.length > 0 ? each : [error];
  return errors.map((e) => (e instanceof Error ? e : new Error(String(e))));
}

/**
 * Kafka's answer to creating or changing topics as a TOPIC_REFUSED UserError, when it is a refusal of the topic
 * (an error Kafka named). A refusal of rights, or no answer, is returned as kafkajs gave it, the topic's own error
 * first, for the caller to word.
 */
export function topicRefusal(
  what: 'create' | 'change',
  error: unknown,
  topic: string,
  refusedSteps: string[],
): unknown {
  const errors = topicErrorsOf(error);
  const denied = errors.find(isAuthorizationFailure);
  if (denied) return Object.assign(denied, { topic: denied.topic ?? topic });
  if (errors.some((e) => e.type === undefined)) return errors.length === 1 ? errors[0] : error;
  const reasons = errors.map((e) => `topic ${e.topic ?? topic}: ${e.message}`).join('; ');
  return new UserError(`Kafka refused to ${what} ${reasons}`, {
    code: TOPIC_REFUSED,
    nextSteps: refusedSteps,
    cause: error,
  });
}

/** An existing topic as Kafka describes it: its partitions, and its settings when it is to be reconciled. */
interface FoundTopic {
  partitions: number;
  entries: ConfigEntries[];
}

async function describeTopics(
  admin: Admin,
  requests: TopicRequest[],
  partitionsOf: Map<string, number>,
): Promise<Map<string, FoundTopic>> {
  const reconciled = requests.filter((r) => r.existing === 'reconcile' && partitionsOf.has(r.name));
  const { ConfigResourceTypes } = await loadKafkajs();
  const described =
    reconciled.length === 0
      ? { resources: [] }
      : await admin.describeConfigs({
          includeSynonyms: false,
          resources: reconciled.map((r) => ({ type: ConfigResourceTypes.TOPIC, name: r.name })),
        });
  return new Map(
    requests.flatMap((r) => {
      const partitions = partitionsOf.get(r.name);
      if (partitions === undefined) return [];
      const entries = described.resources.find((d) => d.resourceName === r.name)?.configEntries ?? [];
      return [[r.name, { partitions, entries }]];
    }),
  );
}

/** A topic's setting as Kafka describes it: `own` when set on the topic itself, not a default of the broker's. */
export interface TopicSetting {
  name: string;
  value: string;
  own: boolean;
}

/** What bringing an existing topic to a request takes (pure). */
export interface TopicChange {
  /** The partition count to grow to, when it has fewer. */
  growTo?: number;
  /** Every setting of the topic's own after the change, when one changes (Kafka's AlterConfigs replaces them all). */
  settings?: Array<{ name: string; value: string }>;
  /** "partitions 3 → 4", "retention.ms 604800000 → 3600000". */
  changes: string[];
  note?: string;
}

/** What to change of a topic that has `partitions` and `current` settings to give it those `request` asks (pure). */
export function topicChange(request: TopicRequest, partitions: number, current: TopicSetting[]): TopicChange {
  const wanted = request.partitions ?? 1;
  const changes: string[] = [];
  const change: TopicChange = { changes };
  if (partitions < wanted) {
    change.growTo = wanted;
    changes.push(`partitions ${partitions} → ${wanted}`);
  } else if (partitions > wanted) {
    change.note = `${wanted} asked for (${request.namedIn}), and Kafka cannot take partitions away (delete the topic to make it again)`;
  }
  // The topic's own settings (not the broker's defaults) are kept, with the requested ones on top.
  const values = new Map(current.map((s) => [s.name, s.value]));
  const own = new Map(current.filter((s) => s.own).map((s) => [s.name, s.value]));
  const differing = Object.entries(request.settings ?? {}).filter(([name, value]) => values.get(name) !== value);
  for (const [name, value] of differing) {
    changes.push(`${name} ${values.get(name) ?? '(unset)'} → ${value}`);
    own.set(name, value);
  }
  if (differing.length > 0) change.settings = [...own].map(([name, value]) => ({ name, value }));
  return change;
}

/** Gives a topic that exists the partitions and settings requested, where Kafka allows. */
async function reconcileTopic(
  admin: Admin,
  request: TopicRequest,
  found: FoundTopic,
  options: EnsureTopicsOptions,
): Promise<TopicOutcome> {
  const { ConfigResourceTypes, ConfigSource } = await loadKafkajs();
  const current = found.entries.map((e) => ({
    name: e.configName,
    value: e.configValue,
    own: e.configSource === ConfigSource.TOPIC_CONFIG,
  }));
  const { growTo, settings, changes, note } = topicChange(request, found.partitions, current);
  try {
    if (growTo !== undefined) {
      await admin.createPartitions({ topicPartitions: [{ topic: request.name, count: growTo }] });
    }
    if (settings !== undefined) {
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: request.name, configEntries: settings }],
      });
    }
  } catch (error) {
    throw topicRefusal('change', error, request.name, options.refusedSteps);
  }
  return {
    name: request.name,
    partitions: growTo ?? found.partitions,
    action: changes.length > 0 ? 'changed' : 'unchanged',
    ...(changes.length > 0 ? { changes } : {}),
    ...(note ? { note } : {}),
  };
}

/** What a producer needs of a topic's settings. */
export interface TopicSettings {
  /** The largest record batch the topic takes (its max.message.bytes, the broker's default unless set). */
  maxMessageBytes?: number;
  /** cleanup.policy includes compact: Kafka refuses records without a key. */
  compacted: boolean;
}

/** Each topic's settings a producer needs. A client that may not read them (ACLs) gets none: Kafka's defaults hold. */
export async function readTopicSettings(admin: Admin, topics: string[]): Promise<Map<string, TopicSettings>> {
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

/** The topics of a cluster, Kafka's own left out, sorted; rejects when Kafka has not answered within `withinMs`. */
export async function topicNames(endpoint: KafkaEndpoint, withinMs: number): Promise<string[]> {
  const kafka = await createKafka(endpoint, {
    clientId: 'pbx-completion',
    connectionTimeout: withinMs,
    requestTimeout: withinMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  const names = withTimeout(
    admin.connect().then(() => admin.listTopics()),
    withinMs,
    `Kafka did not answer within ${withinMs} ms`,
  );
  try {
    return (await names).filter((name) => !name.startsWith('__')).sort();
  } finally {
    void admin.disconnect().catch(() => undefined);
  }
}
