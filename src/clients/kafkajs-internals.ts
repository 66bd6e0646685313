import type { KafkaConfig, PartitionMetadata } from 'kafkajs';
import type { FinishedBatch } from './record-batch';
import {
  DESCRIBE_LOG_DIRS_API_KEY,
  describeLogDirs,
  encodeLogDirsRequest,
  type LogDirsAnswer,
  type LogDirsProtocol,
  type LogDirsQuery,
} from './describe-log-dirs';
import { loadKafkajs } from './kafka';
import { FlexibleReader, FlexibleWriter } from './kafka-encoding';
import {
  decodeOffsetFetch,
  encodeOffsetFetch,
  OFFSET_FETCH_API_KEY,
  OFFSET_FETCH_STABLE_VERSION,
  type FetchedOffset,
  type TopicPartition,
} from './offset-fetch';

// The one module that touches kafkajs's private internals, for batch-producer.ts, transactional-producer.ts, the
// figures reader and pbx top: its cluster (metadata, leaders, coordinators, connections with TLS and SASL, version
// negotiation), a connection's request queue, the produce request definitions, a broker's fetch and transaction
// requests, a consumer group's generation and the protocol errors. They are not kafkajs's public API, so when loaded they are checked against
// the shape pbx relies on (kafkajs 2.2.4, pinned): a kafkajs that differs stops with a list of what moved
// (module path and property), instead of a TypeError somewhere in a replay. test/unit/kafkajs-internals.test.ts
// runs the same check on the installed kafkajs.

/** Room before each batch for a produce request's framing: header, client id, transactional id and topic name (at most 249). */
export const REQUEST_HEADROOM = 1024;
const PRODUCE_API_KEY = 0;
const ACKS_ALL = -1;
const ACK_TIMEOUT_MS = 30_000;
/** Record batches (magic 2) came with produce version 3 (Kafka 0.11). */
const MIN_PRODUCE_VERSION = 3;
/** The request body pbx frames is the same from version 3 to 8; version 9 is Kafka's flexible encoding. */
const MAX_PRODUCE_VERSION = 8;
const OUT_OF_ORDER_SEQUENCE_NUMBER = 45;

/** kafkajs's cluster as pbx's producer and the figures reader use it: connections, and topics' partitions and leaders. */
export interface ClusterAccess {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Adds the topics to those whose metadata the cluster keeps (they must exist). */
  addTopics(topics: string[]): Promise<void>;
  refreshMetadata(): Promise<void>;
  partitionsOf(topic: string): PartitionMetadata[];
}

/** What batch-producer.ts uses of kafkajs's internals. */
export interface ProducerInternals extends ClusterAccess {
  /** A producer id and epoch from the controller, for an idempotent producer. */
  initProducerId(): Promise<{ producerId: string; producerEpoch: number }>;
  /**
   * Sends one record batch, framed in the REQUEST_HEADROOM bytes before it, to the broker `nodeId`, and resolves
   * with Kafka's answer for its partition. Waits out a broker's throttle time as kafkajs does.
   */
  produce(request: ProduceRequest): Promise<PartitionResult>;
  /** kafkajs's error for a Kafka error code, `retriable` as pbx's producer treats it. */
  errorFor(code: number): Error & { retriable: boolean };
  /** The partition Kafka's Java client would pick for this key (murmur2), or round robin without one. */
  partitionFor(topic: string, partitionMetadata: PartitionMetadata[], key: Buffer | string | null): number;
}

export interface ProduceRequest {
  nodeId: number;
  /** A transactional producer's id: its batches are transactional ones. */
  transactionalId?: string;
  topic: string;
  partition: number;
  batch: FinishedBatch;
}

export interface PartitionResult {
  errorCode: number;
  baseOffset: string;
}

/** kafkajs is not the one pbx was built against: a bug in how pbx was built or installed, not the user's. */
export class KafkajsChangedError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `pbx's producer relies on kafkajs 2.2.4's internals, and the kafkajs it runs with differs:\n` +
        problems.map((problem) => `  - ${problem}`).join('\n'),
    );
    this.name = 'KafkajsChangedError';
  }
}

/**
 * Loads kafkajs's internals, checks their shape, and makes a cluster for `config` (not yet connected). Throws a
 * KafkajsChangedError (a bug: exit 70) listing what moved when they differ. `modules` is for tests.
 */
export async function loadProducerInternals(config: KafkaConfig, modules?: KafkajsModules): Promise<ProducerInternals> {
  const { cluster, checked } = await checkedCluster(config, modules);
  return producerInternals(cluster, checked);
}

function producerInternals(cluster: Cluster, checked: CheckedModules): ProducerInternals {
  const partitioner = checked.kafkajs.Partitioners.DefaultPartitioner();
  return {
    ...clusterAccess(cluster),
    initProducerId: async () => (await cluster.findControllerBroker()).initProducerId({ transactionTimeout: 60_000 }),
    produce: async (request) =>
      produceOn(await cluster.findBroker({ nodeId: request.nodeId }), checked.produce, request),
    errorFor: (code) => {
      const error = checked.errors.createErrorFromCode(code);
      // Out of order means an earlier batch failed and is about to be sent again: retriable here.
      if (code === OUT_OF_ORDER_SEQUENCE_NUMBER) error.retriable = true;
      return error;
    },
    partitionFor: (topic, partitionMetadata, key) =>
      partitioner({ topic, partitionMetadata, message: { key, value: null } }),
  };
}

/** A transaction's requests, on the broker that coordinates them: kafkajs's, and TxnOffsetCommit of pbx's own. */
export interface Coordinator {
  initProducerId(args: {
    transactionalId: string;
    transactionTimeout: number;
  }): Promise<{ producerId: string; producerEpoch: number }>;
  addPartitionsToTxn(
    args: TransactionIdentity & { topics: Array<{ topic: string; partitions: number[] }> },
  ): Promise<unknown>;
  addOffsetsToTxn(args: TransactionIdentity & { groupId: string }): Promise<unknown>;
  endTxn(args: TransactionIdentity & { transactionResult: boolean }): Promise<unknown>;
  /**
   * A transaction's offsets for a consumer group, with the member's generation (KIP-447, version 3): a member whose
   * partitions moved on (a paused worker, a zombie) is refused with ILLEGAL_GENERATION or UNKNOWN_MEMBER_ID. A broker
   * older than Kafka 2.5 gets version 0–1, which carries no generation: only the transactional id fences there.
   */
  txnOffsetCommit(args: TransactionIdentity & GroupOffsets): Promise<void>;
  /**
   * A consumer group's committed offsets of these partitions, stable (OffsetFetch version 7, offset-fetch.ts): rejects
   * with kafkajs's UNSTABLE_OFFSET_COMMIT (retriable) while a transaction's offsets for one of them are pending. A
   * broker older than Kafka 2.5 has no such request: undefined.
   */
  stableOffsets(groupId: string, partitions: TopicPartition[]): Promise<FetchedOffset[] | undefined>;
}

export interface TransactionIdentity {
  transactionalId: string;
  producerId: string;
  producerEpoch: number;
}

/** A consumer-group member's offsets: the next offset to read, per partition. */
export interface GroupOffsets {
  groupId: string;
  generationId: number;
  memberId: string;
  offsets: Array<{ topic: string; partition: number; offset: bigint }>;
}

/** What transactional-producer.ts uses of kafkajs's internals: the producer's, and the coordinators. */
export interface TransactionInternals extends ProducerInternals {
  /** The broker coordinating a transactional id's transactions, or a consumer group. */
  coordinator(key: string, kind: 'transaction' | 'group'): Promise<Coordinator>;
}

/** Loads and checks kafkajs's internals as loadProducerInternals does, for a transactional producer. */
export async function loadTransactionInternals(
  config: KafkaConfig,
  modules?: KafkajsModules,
): Promise<TransactionInternals> {
  const { cluster, checked } = await checkedCluster(config, modules);
  return {
    ...producerInternals(cluster, checked),
    coordinator: async (key, kind) => {
      const broker = await cluster.findGroupCoordinator({ groupId: key, coordinatorType: kind === 'group' ? 0 : 1 });
      return {
        initProducerId: (args) => broker.initProducerId(args),
        addPartitionsToTxn: (args) => broker.addPartitionsToTxn(args),
        addOffsetsToTxn: (args) => broker.addOffsetsToTxn(args),
        endTxn: (args) => broker.endTxn(args),
        txnOffsetCommit: (args) => txnOffsetCommit(broker, checked, args),
        stableOffsets: (groupId, partitions) => stableOffsets(broker, checked, groupId, partitions),
      };
    },
  };
}

const TXN_OFFSET_COMMIT = 28;
/** The first version with the member's generation and id (KIP-447, Kafka 2.5); Kafka's flexible encoding. */
const TXN_OFFSET_COMMIT_FENCING = 3;

async function txnOffsetCommit(
  broker: CoordinatingBroker,
  checked: CheckedModules,
  args: TransactionIdentity & GroupOffsets,
): Promise<void> {
  const topics = new Map<string, Array<{ partition: number; offset: bigint }>>();
  for (const { topic, partition, offset } of args.offsets) {
    const list = topics.get(topic) ?? [];
    list.push({ partition, offset });
    topics.set(topic, list);
  }
  if ((broker.versions?.[TXN_OFFSET_COMMIT]?.maxVersion ?? 0) < TXN_OFFSET_COMMIT_FENCING) {
    await broker.txnOffsetCommit({
      ...args,
      topics: [...topics].map(([topic, ps]) => ({
        topic,
        partitions: ps.map((p) => ({ partition: p.partition, offset: String(p.offset) })),
      })),
    });
    return;
  }
  const codes = await sendOwn(broker, {
    apiKey: TXN_OFFSET_COMMIT,
    apiVersion: TXN_OFFSET_COMMIT_FENCING,
    apiName: 'TxnOffsetCommit',
    body: encodeTxnOffsetCommit(args, topics),
    decode: decodeTxnOffsetCommit,
  });
  const failed = codes.find((code) => code !== 0);
  if (failed !== undefined) throw checked.errors.createErrorFromCode(failed);
}

async function stableOffsets(
  broker: CoordinatingBroker,
  checked: CheckedModules,
  groupId: string,
  partitions: TopicPartition[],
): Promise<FetchedOffset[] | undefined> {
  if ((broker.versions?.[OFFSET_FETCH_API_KEY]?.maxVersion ?? 0) < OFFSET_FETCH_STABLE_VERSION) return undefined;
  const answer = await sendOwn(broker, {
    apiKey: OFFSET_FETCH_API_KEY,
    apiVersion: OFFSET_FETCH_STABLE_VERSION,
    apiName: 'OffsetFetch',
    body: encodeOffsetFetch(groupId, partitions),
    decode: decodeOffsetFetch,
  });
  const failed = [answer.errorCode, ...answer.partitions.map((p) => p.errorCode)].find((code) => code !== 0);
  if (failed !== undefined) throw checked.errors.createErrorFromCode(failed);
  return answer.partitions;
}

/**
 * One of pbx's own requests, its body written whole (header's tagged fields first: kafkajs writes request header
 * version 1, they make it version 2), sent on kafkajs's connection to the broker as kafkajs's own requests are.
 */
async function sendOwn<T>(
  broker: CoordinatingBroker,
  own: { apiKey: number; apiVersion: number; apiName: string; body: Buffer; decode: (payload: Buffer) => T },
): Promise<T> {
  const { apiKey, apiVersion, apiName, body, decode } = own;
  return (await broker.connectionPool.send({
    request: { apiKey, apiVersion, apiName, encode: () => Promise.resolve({ buf: body, buffer: body }) },
    response: {
      decode: (payload: Buffer) => Promise.resolve(decode(payload)),
      parse: (answer: T) => Promise.resolve(answer),
    },
  })) as T;
}

/** TxnOffsetCommit version 3's body (flexible: compact strings and arrays, tagged fields), after the header. */
export function encodeTxnOffsetCommit(
  args: TransactionIdentity & GroupOffsets,
  topics: Map<string, Array<{ partition: number; offset: bigint }>>,
): Buffer {
  const out = new FlexibleWriter();
  out.varint(0); // the request header's tagged fields
  out.string(args.transactionalId).string(args.groupId);
  out.int64(BigInt(args.producerId)).int16(args.producerEpoch).int32(args.generationId);
  out.string(args.memberId).string(null); // group instance id: none (no static membership)
  out.varint(topics.size + 1);
  for (const [topic, partitions] of topics) {
    out.string(topic).varint(partitions.length + 1);
    for (const { partition, offset } of partitions) {
      out.int32(partition).int64(offset).int32(-1).string(null).varint(0); // leader epoch, metadata: none
    }
    out.varint(0);
  }
  return out.varint(0).done();
}

/** The error code of each partition in a TxnOffsetCommit version 3 response (after the correlation id). */
export function decodeTxnOffsetCommit(payload: Buffer): number[] {
  const read = new FlexibleReader(payload, 'TxnOffsetCommit');
  read.tags(); // the response header's
  read.int32(); // throttle time
  const topics = read.array(() => {
    read.string();
    return read.array(() => {
      read.int32(); // partition
      return read.int16();
    });
  });
  return topics.flat();
}

/** A consumer-group member in one generation of the group: what a transaction's offsets carry (KIP-447). */
export interface GroupMembership {
  memberId: string;
  generationId: number;
}

/** The membership each batch was fetched under, by kafkajs's batch. */
const memberships = new WeakMap<object, GroupMembership>();
const watchedGroups = new WeakSet<object>();

/**
 * The group membership a kafkajs consumer's batch was fetched under, which the batch's transaction carries so that
 * offsets of a partition that moved on are refused (KIP-447). kafkajs keeps the generation to itself, and with several
 * brokers a batch may wait in its queue while another broker's fetch rejoins the group (after a leader moved): its
 * ConsumerGroup's fetch is wrapped, once, to note on each batch the membership its fetch was sent under.
 */
export async function loadBatchMemberships(
  modules?: KafkajsModules,
): Promise<(batch: object) => GroupMembership | undefined> {
  modules ??= await importKafkajsModules();
  const problems = await kafkajsShapeProblems(modules);
  if (problems.length > 0) throw new KafkajsChangedError(problems);
  const prototype = (modules.consumerGroup as { prototype: FetchingGroup }).prototype;
  if (!watchedGroups.has(prototype)) {
    watchedGroups.add(prototype);
    const { fetch } = prototype;
    prototype.fetch = async function (this: FetchingGroup, nodeId: number) {
      const membership = { memberId: this.memberId ?? '', generationId: this.generationId ?? -1 };
      const batches = await fetch.call(this, nodeId);
      for (const batch of batches) memberships.set(batch, membership);
      return batches;
    };
  }
  return (batch) => memberships.get(batch);
}

interface FetchingGroup {
  memberId: string | null;
  generationId: number | null;
  fetch: (this: FetchingGroup, nodeId: number) => Promise<object[]>;
}

/**
 * What figures-topic.ts uses to follow a topic with no consumer group: kafkajs's consumer always joins one, which
 * every dashboard would list and which takes a rebalance to start. Loaded and checked as the producer's internals are.
 */
export interface FetchInternals extends ClusterAccess {
  /** Records of a topic's partitions from the leader `nodeId`, from each one's offset; waits up to maxWaitMs for some. */
  fetch(request: FetchRequest): Promise<FetchedPartition[]>;
}

export interface FetchRequest {
  nodeId: number;
  topic: string;
  partitions: Array<{ partition: number; fetchOffset: string }>;
  maxWaitMs: number;
}

/** A partition's answer; its records may start before the offset asked for (a batch is sent whole). */
export interface FetchedPartition {
  partition: number;
  errorCode: number;
  highWatermark: string;
  messages: Array<{ offset: string; timestamp: string; key: Buffer | null; value: Buffer | null }>;
}

/** Loads and checks kafkajs's internals as loadProducerInternals does, for reading a topic without a group. */
export async function loadFetchInternals(config: KafkaConfig, modules?: KafkajsModules): Promise<FetchInternals> {
  const { cluster } = await checkedCluster(config, modules);
  return {
    ...clusterAccess(cluster),
    fetch: async ({ nodeId, topic, partitions, maxWaitMs }) => {
      const broker = await cluster.findBroker({ nodeId });
      const answer = await broker.fetch({
        replicaId: -1,
        isolationLevel: 0, // read uncommitted: figures are written without transactions
        maxWaitTime: maxWaitMs,
        minBytes: 1,
        maxBytes: 4 * 1024 * 1024,
        topics: [{ topic, partitions: partitions.map((p) => ({ ...p, maxBytes: 1024 * 1024 })) }],
      });
      return answer.responses.filter((r) => r.topicName === topic).flatMap((r) => r.partitions);
    },
  };
}

/**
 * What `pbx top`'s collector reads a cluster with, a few batched requests a refresh: every topic's metadata in one
 * request, offsets of many topics in one ListOffsets per leader, the groups of each broker, each group's description
 * and committed offsets from its coordinator, and the first records of many partitions in one Fetch per leader.
 * kafkajs's admin would send one request per topic or per group, and find a group's coordinator at every call.
 */
export interface ClusterReads {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Every topic (Kafka's own included) and the brokers, in one Metadata request. */
  metadata(): Promise<ClusterMetadata>;
  /** A broker by node id, connected on first use. */
  broker(nodeId: number): Promise<ReadingBroker>;
  /**
   * The broker's log directories and the sizes of the `query`'s replicas in them: pbx's own DescribeLogDirs
   * (describe-log-dirs.ts), sent on kafkajs's connection to that broker as kafkajs's own requests are.
   */
  logDirs(nodeId: number, query: LogDirsQuery): Promise<LogDirsAnswer>;
}

export interface ClusterMetadata {
  brokers: Array<{ nodeId: number; host: string; port: number }>;
  topicMetadata: Array<{ topic: string; isInternal?: boolean; partitionMetadata: PartitionMetadata[] }>;
}

/** The requests of kafkajs's Broker the collector (and ensureTopics) sends, as kafkajs decodes their answers. */
export interface ReadingBroker {
  /**
   * What this broker, not another, knows of `topics`: rejects with Kafka's error (UNKNOWN_TOPIC_OR_PARTITION,
   * LEADER_NOT_AVAILABLE) for a topic or partition it does not know or lead yet.
   */
  metadata(topics: string[]): Promise<ClusterMetadata>;
  listOffsets(args: {
    isolationLevel: number;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; timestamp: number }> }>;
  }): Promise<{ responses: Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }> }>;
  listGroups(): Promise<{ groups: Array<{ groupId: string; protocolType: string }> }>;
  findGroupCoordinator(args: {
    groupId: string;
    coordinatorType: number;
  }): Promise<{ coordinator: { nodeId: number } }>;
  describeGroups(args: { groupIds: string[] }): Promise<{ groups: DescribedGroup[] }>;
  offsetFetch(args: {
    groupId: string;
    topics: Array<{ topic: string; partitions: Array<{ partition: number }> }>;
  }): Promise<{ responses: Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }> }>;
  fetch: FetchingBroker['fetch'];
}

export interface DescribedGroup {
  groupId: string;
  state: string;
  protocolType: string;
  members: Array<{ memberId: string; clientId: string; clientHost: string; memberAssignment: Buffer }>;
}

/** Loads and checks kafkajs's internals as loadProducerInternals does, for the reads of `pbx top`. */
export async function loadClusterReads(config: KafkaConfig, modules?: KafkajsModules): Promise<ClusterReads> {
  const { cluster } = await checkedCluster(config, modules);
  return {
    connect: () => cluster.connect(),
    disconnect: () => cluster.disconnect(),
    metadata: () => cluster.metadata({ topics: [] }),
    broker: (nodeId) => cluster.findBroker({ nodeId }),
    logDirs: async (nodeId, query) => {
      const broker = await cluster.findBroker({ nodeId });
      // The version both sides know, as kafkajs picks its own (a broker without the request: kafkajs's error says so).
      const make = broker.lookupRequest(DESCRIBE_LOG_DIRS_API_KEY, describeLogDirs) as unknown as MakeLogDirs;
      // Sent as kafkajs's own requests are: framed, authenticated, matched, timed out and throttled by its connection.
      return (broker.connectionPool as unknown as OwnRequestPool).send(make({ query }));
    },
  };
}

type MakeLogDirs = (args: { query: LogDirsQuery }) => LogDirsProtocol;

/** A connection pool sending one of pbx's own requests. */
interface OwnRequestPool {
  send<R>(protocol: { request: object; response: { decode(payload: Buffer): Promise<R> } }): Promise<R>;
}

/** A cluster for `config` from checked modules: a KafkajsChangedError lists what moved when they differ. */
async function checkedCluster(
  config: KafkaConfig,
  modules?: KafkajsModules,
): Promise<{ cluster: Cluster; checked: CheckedModules }> {
  modules ??= await importKafkajsModules();
  const problems = await kafkajsShapeProblems(modules);
  if (problems.length > 0) throw new KafkajsChangedError(problems);
  const checked = modules as unknown as CheckedModules;
  const cluster = new checked.cluster({
    logger: silentLogger(checked),
    socketFactory: checked.socketFactory(),
    brokers: config.brokers,
    ssl: config.ssl,
    sasl: config.sasl,
    clientId: config.clientId,
    connectionTimeout: config.connectionTimeout,
    requestTimeout: config.requestTimeout,
    retry: config.retry,
    allowAutoTopicCreation: false,
    metadataMaxAge: 300_000,
  });
  return { cluster, checked };
}

function clusterAccess(cluster: Cluster): ClusterAccess {
  return {
    connect: () => cluster.connect(),
    disconnect: () => cluster.disconnect(),
    addTopics: (topics) => cluster.addMultipleTargetTopics(topics),
    refreshMetadata: () => cluster.refreshMetadata(),
    partitionsOf: (topic) => cluster.findTopicPartitionMetadata(topic),
  };
}

// ---- The modules, and the shape pbx relies on --------------------------------------------------------------

/** Each module's path, and its import written out so that `bun build` bundles it into the binary. */
const KAFKAJS_MODULES = {
  kafkajs: { path: 'kafkajs', load: () => loadKafkajs() }, // silences kafkajs's warnings, as every pbx client does
  cluster: { path: 'kafkajs/src/cluster/index.js', load: () => import('kafkajs/src/cluster/index.js') },
  broker: { path: 'kafkajs/src/broker/index.js', load: () => import('kafkajs/src/broker/index.js') },
  connectionPool: {
    path: 'kafkajs/src/network/connectionPool.js',
    load: () => import('kafkajs/src/network/connectionPool.js'),
  },
  connection: { path: 'kafkajs/src/network/connection.js', load: () => import('kafkajs/src/network/connection.js') },
  requests: {
    path: 'kafkajs/src/protocol/requests/index.js',
    load: () => import('kafkajs/src/protocol/requests/index.js'),
  },
  produce: {
    path: 'kafkajs/src/protocol/requests/produce/index.js',
    load: () => import('kafkajs/src/protocol/requests/produce/index.js'),
  },
  loggers: { path: 'kafkajs/src/loggers/index.js', load: () => import('kafkajs/src/loggers/index.js') },
  socketFactory: {
    path: 'kafkajs/src/network/socketFactory.js',
    load: () => import('kafkajs/src/network/socketFactory.js'),
  },
  errors: { path: 'kafkajs/src/protocol/error.js', load: () => import('kafkajs/src/protocol/error.js') },
  consumerGroup: {
    path: 'kafkajs/src/consumer/consumerGroup.js',
    load: () => import('kafkajs/src/consumer/consumerGroup.js'),
  },
  request: { path: 'kafkajs/src/protocol/request.js', load: () => import('kafkajs/src/protocol/request.js') },
} as const;

type ModuleName = keyof typeof KAFKAJS_MODULES;
/** Each module's exports (a CommonJS module's `module.exports`), not yet checked. */
export type KafkajsModules = Record<ModuleName, unknown>;

/** Imports the modules pbx uses; their exports are checked by `kafkajsShapeProblems`. */
export async function importKafkajsModules(): Promise<KafkajsModules> {
  const names = Object.keys(KAFKAJS_MODULES) as ModuleName[];
  const loaded = await Promise.all(names.map((name) => KAFKAJS_MODULES[name].load()));
  return Object.fromEntries(
    names.map((name, i) => {
      const module = loaded[i] as { default?: unknown };
      return [name, name === 'kafkajs' ? module : module.default];
    }),
  ) as KafkajsModules;
}

/**
 * What of the shape pbx relies on the modules lack, one line each naming the module and the property: empty when
 * all is there. Checks what can be checked without a broker: the classes' methods, the objects their
 * constructors make (a connection pool, a connection and its request queue, a broker), the produce request
 * definitions and their response decoders on answers written here byte by byte, and the protocol errors.
 */
export async function kafkajsShapeProblems(modules: KafkajsModules): Promise<string[]> {
  const problems: string[] = [];
  const check = (name: ModuleName) => new ShapeCheck(KAFKAJS_MODULES[name].path, problems);
  const m = modules as Record<ModuleName, Record<string, unknown> | undefined>;
  const partitioners = m.kafkajs?.Partitioners as Record<string, unknown> | undefined;
  check('kafkajs').is('Partitioners.DefaultPartitioner', partitioners?.DefaultPartitioner, 'function');
  check('cluster').methods('Cluster', m.cluster, CLUSTER_METHODS);
  check('consumerGroup').methods('ConsumerGroup', m.consumerGroup, ['fetch']);
  check('socketFactory').is('module.exports', m.socketFactory, 'function');
  const errors = check('errors');
  await errors.survives('createErrorFromCode', () => checkErrors(errors, m.errors));
  const loggers = check('loggers');
  const silent =
    loggers.is('createLogger', m.loggers?.createLogger, 'function') &&
    loggers.is('LEVELS.NOTHING', (m.loggers?.LEVELS as Record<string, unknown> | undefined)?.NOTHING, 'number');
  const produce = check('produce');
  if (
    produce.is('versions', m.produce?.versions, 'object') &&
    produce.is('protocol', m.produce?.protocol, 'function')
  ) {
    const definition = modules.produce as ProduceDefinition;
    await checkProduceVersions(produce, definition);
    const requests = check('requests');
    if (requests.is('lookup', m.requests?.lookup, 'function'))
      await requests.survives('lookup(versions)(0, produce)', () =>
        checkLookup(requests, modules.requests as Requests, definition),
      );
  }
  const connection = check('connection');
  if (silent) {
    await connection.survives('making a connection pool, a connection and a broker', () =>
      checkConnections(check, modules, silentLogger(modules as unknown as CheckedModules)),
    );
  }
  await checkOwnRequests(check, modules);
  return problems;
}

const CLUSTER_METHODS = [
  'connect',
  'disconnect',
  'addMultipleTargetTopics',
  'refreshMetadata',
  'findTopicPartitionMetadata',
  'findBroker',
  'findControllerBroker',
  'findGroupCoordinator',
  'metadata',
];

/** Collects what is missing from one module, by name. */
class ShapeCheck {
  constructor(
    private readonly module: string,
    private readonly problems: string[],
  ) {}

  /** Whether `value` (the module's `what`) is of `kind`; when not, says so. */
  is(what: string, value: unknown, kind: 'function' | 'object' | 'number' | 'string' | 'boolean'): boolean {
    const actual = value === null ? 'null' : typeof value;
    if (actual === kind) return true;
    this.fail(`${what} is ${actual === 'undefined' ? 'missing' : `a ${actual}`}, not a ${kind}`);
    return false;
  }

  /** Whether the class has each method on its prototype. */
  methods(className: string, value: unknown, names: string[]): boolean {
    if (!this.is(className, value, 'function')) return false;
    const prototype = (value as { prototype: Record<string, unknown> }).prototype;
    return names.map((name) => this.is(`${className}#${name}`, prototype[name], 'function')).every(Boolean);
  }

  fail(problem: string): void {
    this.problems.push(`${this.module}: ${problem}`);
  }

  /** Runs a probe of the module's behaviour; a probe that throws is a problem too, not the check's end. */
  async survives(what: string, probe: () => unknown): Promise<void> {
    try {
      await probe();
    } catch (error) {
      this.fail(`${what} throws ${String(error)}`);
    }
  }
}

function checkErrors(check: ShapeCheck, errors: Record<string, unknown> | undefined): void {
  if (!check.is('createErrorFromCode', errors?.createErrorFromCode, 'function')) return;
  const error = (errors!.createErrorFromCode as (code: number) => unknown)(OUT_OF_ORDER_SEQUENCE_NUMBER);
  if (!(error instanceof Error)) check.fail(`createErrorFromCode(${OUT_OF_ORDER_SEQUENCE_NUMBER}) is not an Error`);
  else
    check.is(
      `createErrorFromCode(${OUT_OF_ORDER_SEQUENCE_NUMBER}).retriable`,
      (error as { retriable?: unknown }).retriable,
      'boolean',
    );
}

/** Every produce version kafkajs may pick that pbx uses: pbx frames its body and reads its decoded answer. */
async function checkProduceVersions(check: ShapeCheck, produce: ProduceDefinition): Promise<void> {
  const versions = (produce.versions as unknown[]).map(Number).filter((v) => v >= MIN_PRODUCE_VERSION);
  if (versions.length === 0) check.fail(`versions has none from ${MIN_PRODUCE_VERSION} on (record batches)`);
  for (const version of versions) {
    if (version > MAX_PRODUCE_VERSION) {
      check.fail(`version ${version} is one pbx does not frame (${MIN_PRODUCE_VERSION} to ${MAX_PRODUCE_VERSION})`);
    } else {
      await check.survives(`protocol({ version: ${version} })`, () => checkProduceVersion(check, produce, version));
    }
  }
}

async function checkProduceVersion(check: ShapeCheck, produce: ProduceDefinition, version: number): Promise<void> {
  const make = produce.protocol({ version });
  if (!check.is(`protocol({ version: ${version} })`, make, 'function')) return;
  const { request, response } = make({ acks: ACKS_ALL, timeout: ACK_TIMEOUT_MS, topicData: [] });
  const at = `protocol({ version: ${version} })(…)`;
  if (request?.apiKey !== PRODUCE_API_KEY || request.apiVersion !== version) {
    check.fail(`${at}.request is not a produce request of version ${version}`);
  }
  if (!check.is(`${at}.response.decode`, response?.decode, 'function')) return;
  const throttle = 250;
  const decoded = await response.decode(produceResponse(version, { partition: 3, baseOffset: 42n, throttle }));
  const partition = decoded.topics?.[0]?.partitions?.[0];
  if (decoded.topics?.[0]?.topicName !== 't' || partition?.partition !== 3 || partition.errorCode !== 0) {
    check.fail(`${at}.response.decode does not give topics[].topicName, partitions[].partition and errorCode`);
  } else if (partition.baseOffset !== '42') {
    check.fail(`${at}.response.decode does not give partitions[].baseOffset as a string`);
  }
  // From version 6 on the broker answers first, then expects the client to wait (KIP-219); kafkajs hands
  // the wait to the connection's request queue as `clientSideThrottleTime`, and so does pbx.
  if (version >= 6 && decoded.clientSideThrottleTime !== throttle) {
    check.fail(`${at}.response.decode does not give the throttle time as clientSideThrottleTime`);
  }
}

/** The version negotiation pbx relies on: the broker's best version that kafkajs implements. */
function checkLookup(check: ShapeCheck, requests: Requests, produce: ProduceDefinition): void {
  const best = Math.max(...(produce.versions as unknown[]).map(Number));
  const protocol = requests.lookup({ [PRODUCE_API_KEY]: { minVersion: 0, maxVersion: 99 } })(PRODUCE_API_KEY, produce)({
    acks: ACKS_ALL,
    timeout: ACK_TIMEOUT_MS,
    topicData: [],
  });
  if (protocol?.request?.apiVersion !== best) check.fail(`lookup(versions)(0, produce) does not pick version ${best}`);
}

/** The objects a cluster makes for each broker, made here with no socket: what pbx reads and calls on them. */
function checkConnections(check: (name: ModuleName) => ShapeCheck, m: KafkajsModules, logger: unknown): void {
  const pool = check('connectionPool');
  const connection = check('connection');
  const broker = check('broker');
  if (
    !pool.methods('ConnectionPool', m.connectionPool, ['getConnection', 'send']) ||
    !connection.methods('Connection', m.connection, ['isAuthenticated', 'failIfNotConnected', 'nextCorrelationId']) ||
    !broker.methods('Broker', m.broker, [
      'metadata',
      'initProducerId',
      'fetch',
      'listOffsets',
      'listGroups',
      'findGroupCoordinator',
      'describeGroups',
      'offsetFetch',
      'addPartitionsToTxn',
      'addOffsetsToTxn',
      'txnOffsetCommit',
      'endTxn',
    ])
  ) {
    return;
  }
  const options = { host: '127.0.0.1', port: 9, logger, clientId: 'pbx-shape-check', sasl: null, requestTimeout: 1000 };
  const made = new (m.connection as new (o: object) => Record<string, unknown>)(options);
  connection.is('new Connection(…).clientId', made.clientId, 'string');
  if (!('sasl' in made)) connection.fail('new Connection(…).sasl is missing');
  const queue = made.requestQueue as Record<string, unknown> | undefined;
  if (connection.is('new Connection(…).requestQueue', queue, 'object')) {
    connection.is('new Connection(…).requestQueue.push', queue!.push, 'function');
    connection.is('new Connection(…).requestQueue.maybeThrottle', queue!.maybeThrottle, 'function');
  }
  const connectionPool = new (m.connectionPool as new (o: object) => object)({ ...options, connectionTimeout: 1000 });
  const made2 = new (m.broker as new (o: object) => Record<string, unknown>)({ connectionPool, logger });
  broker.is('new Broker(…).lookupRequest', made2.lookupRequest, 'function');
  if (made2.connectionPool !== connectionPool) broker.fail('new Broker(…).connectionPool is not the pool it was given');
}

/**
 * pbx's own requests (DescribeLogDirs) go through kafkajs as its own do: its version lookup picks one of theirs,
 * its request framing writes their body after the header, and a connection sends them (Connection#send).
 */
async function checkOwnRequests(check: (name: ModuleName) => ShapeCheck, m: KafkajsModules): Promise<void> {
  const requests = check('requests');
  const request = check('request');
  const lookup = (m.requests as { lookup?: unknown } | undefined)?.lookup;
  if (!requests.is('lookup', lookup, 'function') || !request.is('module.exports', m.request, 'function')) return;
  check('connection').methods('Connection', m.connection, ['send']);
  const query = [{ topic: 't', partitions: [2] }];
  await requests.survives(`lookup(versions)(${DESCRIBE_LOG_DIRS_API_KEY}, describeLogDirs)`, () => {
    for (const [maxVersion, expected] of [
      [4, 1],
      [0, 0],
    ] as const) {
      const picked = (lookup as Requests['lookup'])({ [DESCRIBE_LOG_DIRS_API_KEY]: { minVersion: 0, maxVersion } })(
        DESCRIBE_LOG_DIRS_API_KEY,
        describeLogDirs as never,
      ) as unknown as MakeLogDirs;
      if (picked({ query }).request.apiVersion !== expected)
        requests.fail(`lookup does not pick DescribeLogDirs version ${expected} from a broker's 0 to ${maxVersion}`);
    }
  });
  await request.survives('framing DescribeLogDirs', async () => {
    const frame = await (m.request as FrameRequest)({
      correlationId: 7,
      clientId: 'c',
      request: describeLogDirs.protocol({ version: 1 })({ query }).request,
    });
    // size, api key, version, correlation id, client id "c", then the body as pbx wrote it
    const body = encodeLogDirsRequest(query);
    const header = Buffer.from([0, 35, 0, 1, 0, 0, 0, 7, 0, 1, 0x63]);
    const size = Buffer.alloc(4);
    size.writeInt32BE(header.length + body.length);
    if (!Buffer.concat([size, header, body]).equals(frame.buffer))
      request.fail('module.exports does not frame a request as its header and then what encode() gives');
  });
}

type FrameRequest = (args: { correlationId: number; clientId: string; request: object }) => Promise<{ buffer: Buffer }>;

// ---- The checked shape -------------------------------------------------------------------------------------

interface ProduceProtocol {
  request: { apiKey: number; apiVersion: number; apiName: string; encode: () => Promise<unknown> };
  response: {
    decode: (payload: Buffer) => Promise<ProduceResponse>;
    parse: (data: ProduceResponse) => Promise<ProduceResponse>;
  };
}

interface ProduceResponse {
  topics: { topicName: string; partitions: { partition: number; errorCode: number; baseOffset: string }[] }[];
  /** How long the client is to wait before its next request (produce version 6 on). */
  clientSideThrottleTime?: number;
}

type MakeProduce = (args: { acks: number; timeout: number; topicData: [] }) => ProduceProtocol;

interface ProduceDefinition {
  versions: string[];
  protocol: (args: { version: number }) => MakeProduce;
}

interface Requests {
  lookup: (versions: object) => (apiKey: number, definition: ProduceDefinition) => MakeProduce;
}

/** A connection to one broker; its queue pairs responses with requests by correlation id and holds throttles. */
export interface Connection {
  sasl: unknown;
  clientId: string;
  socket: { write(bytes: Buffer): boolean };
  isAuthenticated(): boolean;
  failIfNotConnected(): void;
  nextCorrelationId(): number;
  requestQueue: {
    push(request: {
      entry: {
        apiKey: number;
        apiName: string;
        apiVersion: number;
        correlationId: number;
        resolve: (answer: { payload: Buffer }) => void;
        reject: (error: Error) => void;
      };
      expectResponse: boolean;
      sendRequest: () => void;
    }): void;
    maybeThrottle(clientSideThrottleTime: number | undefined): void;
  };
}

export interface Broker {
  lookupRequest(apiKey: number, definition: unknown): MakeProduce;
  connectionPool: { send(protocol: ProduceProtocol): Promise<ProduceResponse>; getConnection(): Promise<Connection> };
  initProducerId(args: { transactionTimeout: number }): Promise<{ producerId: string; producerEpoch: number }>;
}

/** A broker as a transaction's coordinator: kafkajs's requests, and its connection pool for pbx's own. */
interface CoordinatingBroker extends Omit<Coordinator, 'txnOffsetCommit'> {
  connectionPool: { send(protocol: unknown): Promise<unknown> };
  /** kafkajs's TxnOffsetCommit, versions 0–1 (no generation). */
  txnOffsetCommit(args: TransactionIdentity & { groupId: string; topics: unknown[] }): Promise<unknown>;
  /** The API versions the broker told kafkajs, by api key (once connected). */
  versions?: Record<number, { minVersion: number; maxVersion: number }>;
}

/** What the figures reader calls on a broker: kafkajs's own fetch, which decodes the record batches. */
interface FetchingBroker {
  fetch(args: {
    replicaId: number;
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }> }>;
  }): Promise<{ responses: Array<{ topicName: string; partitions: FetchedPartition[] }> }>;
}

interface Cluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  refreshMetadata(): Promise<void>;
  findTopicPartitionMetadata(topic: string): PartitionMetadata[];
  findBroker(args: { nodeId: number }): Promise<Broker & ReadingBroker>;
  metadata(args: { topics: string[] }): Promise<ClusterMetadata>;
  findControllerBroker(): Promise<Broker>;
  findGroupCoordinator(args: { groupId: string; coordinatorType: number }): Promise<CoordinatingBroker>;
}

interface CheckedModules {
  kafkajs: typeof import('kafkajs');
  cluster: new (options: object) => Cluster;
  produce: ProduceDefinition;
  loggers: {
    createLogger(options: { level: number; logCreator: () => () => void }): unknown;
    LEVELS: { NOTHING: number };
  };
  socketFactory: () => unknown;
  errors: { createErrorFromCode(code: number): Error & { retriable: boolean } };
}

function silentLogger(modules: CheckedModules): unknown {
  const { loggers } = modules;
  return loggers.createLogger({ level: loggers.LEVELS.NOTHING, logCreator: () => () => undefined });
}

// ---- The produce path --------------------------------------------------------------------------------------

/** Sends one batch to `broker` in a produce request of the version it negotiated; Kafka's answer for its partition. */
export async function produceOn(broker: Broker, produce: unknown, request: ProduceRequest): Promise<PartitionResult> {
  const protocol = broker.lookupRequest(
    PRODUCE_API_KEY,
    produce,
  )({ acks: ACKS_ALL, timeout: ACK_TIMEOUT_MS, topicData: [] });
  if (protocol.request.apiVersion < MIN_PRODUCE_VERSION) {
    throw Object.assign(new Error('This Kafka is older than 0.11: it does not take record batches.'), {
      retriable: false,
    });
  }
  const response = await exchange(broker, protocol, request);
  const result = response.topics
    .find((t) => t.topicName === request.topic)
    ?.partitions.find((p) => p.partition === request.partition);
  if (!result) throw new Error(`Kafka's answer left out ${request.topic} partition ${request.partition}.`);
  return result;
}

/**
 * Sends one batch in a produce request (versions 3 to 8) and returns the decoded response. The request is
 * framed in the headroom before the batch and written to kafkajs's connection, whose queue matches the
 * response, enforces the timeout and holds requests while the broker's throttle time runs, as for kafkajs's own.
 * A connection that must (re)authenticate first goes through kafkajs's own send, which does that (and the
 * throttle) and copies the request once more.
 */
async function exchange(broker: Broker, protocol: ProduceProtocol, request: ProduceRequest): Promise<ProduceResponse> {
  const { buffer, start, end } = request.batch;
  const bodyStart = writeProduceBody(buffer, start, end, request);
  const decode = protocol.response.decode;
  const connection = await broker.connectionPool.getConnection();
  if (connection.sasl && !connection.isAuthenticated()) {
    const body = buffer.subarray(bodyStart, end);
    // kafkajs frames what encode() returns by reading `buf` and `buffer`, as it does from its own Encoder;
    // its parse step is skipped, as it would throw away which partition failed.
    return broker.connectionPool.send({
      request: { ...protocol.request, encode: () => Promise.resolve({ buf: body, buffer: body }) },
      response: { decode, parse: (data) => Promise.resolve(data) },
    });
  }
  connection.failIfNotConnected();
  checkConnected(connection);
  const correlationId = connection.nextCorrelationId();
  const frameStart = writeRequestHeader(buffer, bodyStart, end, {
    apiVersion: protocol.request.apiVersion,
    correlationId,
    clientId: connection.clientId,
  });
  const frame = buffer.subarray(frameStart, end);
  const { payload } = await new Promise<{ payload: Buffer }>((resolve, reject) => {
    connection.requestQueue.push({
      entry: {
        apiKey: PRODUCE_API_KEY,
        apiName: 'Produce',
        apiVersion: protocol.request.apiVersion,
        correlationId,
        resolve,
        reject,
      },
      expectResponse: true,
      sendRequest: () => connection.socket.write(frame),
    });
  });
  const response = await decode(payload);
  // KIP-219, as kafkajs's Connection#send does: the queue sends nothing more to this broker until the time is up.
  connection.requestQueue.maybeThrottle(response.clientSideThrottleTime);
  return response;
}

/** A connected connection's socket, which only exists once connected: checked once per connection. */
const checkedConnections = new WeakSet<Connection>();
function checkConnected(connection: Connection): void {
  if (checkedConnections.has(connection)) return;
  if (typeof (connection.socket as Partial<Connection['socket']> | undefined)?.write !== 'function') {
    throw new KafkajsChangedError([
      `${KAFKAJS_MODULES.connection.path}: a connected Connection's socket.write is missing`,
    ]);
  }
  checkedConnections.add(connection);
}

/** The request body from the transactional id on, written just before the batch; returns where it starts. */
function writeProduceBody(buffer: Buffer, start: number, end: number, request: ProduceRequest): number {
  const topic = Buffer.from(request.topic);
  const transactionalId = request.transactionalId === undefined ? undefined : Buffer.from(request.transactionalId);
  const bodyStart = start - (2 + (transactionalId?.length ?? 0) + 2 + 4 + 4 + 2 + topic.length + 4 + 4 + 4);
  if (bodyStart < 0) throw new Error(`A produce request's framing does not fit in ${start} bytes before its batch.`);
  let at = buffer.writeInt16BE(transactionalId?.length ?? -1, bodyStart); // -1: null
  if (transactionalId) at += transactionalId.copy(buffer, at);
  at = buffer.writeInt16BE(ACKS_ALL, at);
  at = buffer.writeInt32BE(ACK_TIMEOUT_MS, at);
  at = buffer.writeInt32BE(1, at); // one topic
  at = buffer.writeInt16BE(topic.length, at);
  buffer.set(topic, at);
  at = buffer.writeInt32BE(1, at + topic.length); // one partition
  at = buffer.writeInt32BE(request.partition, at);
  buffer.writeInt32BE(end - start, at);
  return bodyStart;
}

/** The size and request header before the body; returns where the frame starts. */
function writeRequestHeader(
  buffer: Buffer,
  bodyStart: number,
  end: number,
  header: { apiVersion: number; correlationId: number; clientId: string },
): number {
  const clientId = Buffer.from(header.clientId);
  const frameStart = bodyStart - (4 + 2 + 2 + 4 + 2 + clientId.length);
  let at = buffer.writeInt32BE(end - frameStart - 4, frameStart); // size of what follows
  at = buffer.writeInt16BE(PRODUCE_API_KEY, at);
  at = buffer.writeInt16BE(header.apiVersion, at);
  at = buffer.writeInt32BE(header.correlationId, at);
  at = buffer.writeInt16BE(clientId.length, at);
  buffer.set(clientId, at);
  return frameStart;
}

/**
 * A produce response of `version` (3 to 8) for one partition of topic "t", as a broker writes it (after the
 * correlation id): what the shape check decodes with kafkajs, and what tests answer pbx's requests with.
 */
export function produceResponse(
  version: number,
  {
    partition,
    baseOffset,
    throttle = 0,
    errorCode = 0,
  }: { partition: number; baseOffset: bigint; throttle?: number; errorCode?: number },
): Buffer {
  const out = Buffer.alloc(64);
  let at = out.writeInt32BE(1, 0); // one topic
  at = out.writeInt16BE(1, at);
  at += out.write('t', at);
  at = out.writeInt32BE(1, at); // one partition
  at = out.writeInt32BE(partition, at);
  at = out.writeInt16BE(errorCode, at);
  at = out.writeBigInt64BE(baseOffset, at);
  at = out.writeBigInt64BE(-1n, at); // log append time: none
  if (version >= 5) at = out.writeBigInt64BE(0n, at); // log start offset
  if (version >= 8) {
    at = out.writeInt32BE(0, at); // record errors: none
    at = out.writeInt16BE(-1, at); // error message: null
  }
  at = out.writeInt32BE(throttle, at);
  return out.subarray(0, at);
}
