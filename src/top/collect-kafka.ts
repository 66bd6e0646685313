// One refresh's reading of a Kafka cluster for pbx top, in a few batched requests whatever the number of partitions:
// Metadata once; ListOffsets (end, then start) once per leader for every partition; ListGroups once per broker;
// DescribeGroups once per coordinator; OffsetFetch once per group; and one Fetch per leader for the first record each
// lagging group has yet to consume, whose timestamp gives its lag in time (kept until the group moves on); and one
// DescribeLogDirs per leader for the size on disk of the partitions it leads (pbx's own request: kafkajs lacks it).
import type { ClusterMetadata, ClusterReads, ReadingBroker } from '../clients/kafkajs-internals';
import { sleep } from '../async';
import { loadKafkajs } from '../clients/kafka';
import type { ClusterReading, GroupReading, MemberReading, TopicReading } from './collect-rows';

const LATEST = -1;
const EARLIEST = -2;
const READ_UNCOMMITTED = 0;
/** FindCoordinator's key type for a consumer group. */
const GROUP_COORDINATOR = 0;
/** A group's committed offsets are asked of every topic this often, and of the topics it is known to read between. */
const ALL_TOPICS_EVERY_MS = 30_000;
/** What a partition's first Fetch asks for: enough for the first batch of most producers. */
const FIRST_FETCH_BYTES = 64 * 1024;
/** A batch larger than the partition's share comes back cut, which kafkajs drops: the next refresh asks for more. */
const MOST_FETCH_BYTES = 16 * 1024 * 1024;
const FETCH_RESPONSE_BYTES = 8 * 1024 * 1024;
/** How long after a Metadata answer with a leaderless partition it is asked again. */
const METADATA_AGAIN_MS = 250;

type Partition = { topic: string; partition: number };
const keyOf = (topic: string, partition: number) => `${topic}/${partition}`;

/** Reads a cluster once a refresh, keeping what saves requests between refreshes (coordinators, record times). */
export class ClusterReader {
  private readonly coordinators = new Map<string, number>();
  /** The topics each group committed offsets on, and when every topic was last asked. */
  private readonly groupTopics = new Map<string, { topics: Set<string>; askedAllAt: number }>();
  /** The timestamp of a record, by `topic/partition@offset`: a stopped group's is read once. */
  private recordTimes = new Map<string, number>();
  private readonly fetchBytes = new Map<string, number>();

  constructor(
    private readonly reads: ClusterReads,
    private readonly now: () => number,
  ) {}

  /** The cluster now: its brokers, topics with their offsets, groups with their members and committed offsets. */
  async read(): Promise<ClusterReading & { brokers: number }> {
    const metadata = await this.metadata();
    const leaders = leadersOf(metadata);
    const asked = this.now();
    const [ends, starts, sizes] = await Promise.all([
      this.offsets(leaders, LATEST),
      this.offsets(leaders, EARLIEST),
      this.leaderSizes(leaders),
    ]);
    // The offsets were read somewhere between the request and its answer: the middle is the best guess.
    const time = Math.round((asked + this.now()) / 2);
    const topics: TopicReading[] = metadata.topicMetadata.map((t) => ({
      name: t.topic,
      internal: Boolean(t.isInternal) || t.topic.startsWith('__'),
      partitions: t.partitionMetadata.map((p) => ({
        partition: p.partitionId,
        leader: p.leader,
        replicas: p.replicas,
        isr: p.isr,
        start: starts.get(keyOf(t.topic, p.partitionId)) ?? 0,
        end: ends.get(keyOf(t.topic, p.partitionId)) ?? 0,
        bytes: sizes.get(keyOf(t.topic, p.partitionId)),
      })),
    }));
    const groups = await this.groups(metadata, time);
    await this.readRecordTimes(groups, topics);
    return {
      time,
      brokers: metadata.brokers.length,
      topics,
      groups,
      recordTime: (topic, partition, offset) => this.recordTimes.get(`${keyOf(topic, partition)}@${offset}`),
    };
  }

  /**
   * Every topic's metadata. kafkajs fails the whole answer on one partition without a leader, which a topic just made
   * (by a replay, a pipeline) is for a moment: asked again once, a moment later, rather than saying Kafka is down.
   */
  private async metadata(): Promise<ClusterMetadata> {
    try {
      return await this.reads.metadata();
    } catch (error) {
      if ((error as Error).name !== 'KafkaJSProtocolError' || !(error as { retriable?: boolean }).retriable)
        throw error;
      await sleep(METADATA_AGAIN_MS);
      return this.reads.metadata();
    }
  }

  /** Every partition's end (LATEST) or start (EARLIEST) offset, in one ListOffsets per leader. */
  private async offsets(leaders: Map<number, Partition[]>, timestamp: number): Promise<Map<string, number>> {
    const answers = await Promise.all(
      [...leaders].map(async ([nodeId, partitions]) => {
        const broker = await this.reads.broker(nodeId);
        return broker.listOffsets({ isolationLevel: READ_UNCOMMITTED, topics: byTopic(partitions, { timestamp }) });
      }),
    );
    const offsets = new Map<string, number>();
    for (const { responses } of answers)
      for (const { topic, partitions } of responses)
        for (const { partition, offset } of partitions) offsets.set(keyOf(topic, partition), Number(offset));
    return offsets;
  }

  /**
   * The size on disk of each partition's leader replica, in one DescribeLogDirs per leader for the partitions it leads.
   * A broker that does not say (no such request before Kafka 1.0, not allowed to describe the cluster, a directory
   * offline) leaves its partitions out: their topics' sizes are unknown, not smaller.
   */
  private async leaderSizes(leaders: Map<number, Partition[]>): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    await Promise.all(
      [...leaders].map(async ([nodeId, partitions]) => {
        const query = byTopic(partitions, {}).map((t) => ({
          topic: t.topic,
          partitions: t.partitions.map((p) => p.partition),
        }));
        const answer = await this.reads.logDirs(nodeId, query).catch(() => undefined);
        const led = new Set(partitions.map((p) => keyOf(p.topic, p.partition)));
        for (const dir of answer?.logDirs ?? []) {
          if (dir.errorCode !== 0) continue;
          // A future replica is a copy on its way to another directory of the broker: the data once is the replica.
          for (const r of dir.replicas) {
            if (!r.isFuture && led.has(keyOf(r.topic, r.partition))) sizes.set(keyOf(r.topic, r.partition), r.size);
          }
        }
      }),
    );
    return sizes;
  }

  /** Every group of every broker, described by its coordinator, with its committed offsets. */
  private async groups(metadata: ClusterMetadata, time: number): Promise<GroupReading[]> {
    const listed = await Promise.all(
      metadata.brokers.map(async ({ nodeId }) => (await this.reads.broker(nodeId)).listGroups()),
    );
    const ids = [...new Set(listed.flatMap((l) => l.groups.map((g) => g.groupId)))];
    const listedIds = new Set(ids);
    for (const gone of [...this.coordinators.keys()].filter((id) => !listedIds.has(id))) {
      this.coordinators.delete(gone);
      this.groupTopics.delete(gone);
    }
    const byCoordinator = new Map<number, string[]>();
    for (const id of ids) {
      const nodeId = await this.coordinatorOf(id, metadata);
      byCoordinator.set(nodeId, [...(byCoordinator.get(nodeId) ?? []), id]);
    }
    const { AssignerProtocol } = await loadKafkajs();
    const topics = metadata.topicMetadata.filter((t) => !t.isInternal);
    const described = await Promise.all(
      [...byCoordinator].map(async ([nodeId, groupIds]) => {
        try {
          const broker = await this.reads.broker(nodeId);
          const { groups } = await broker.describeGroups({ groupIds });
          return await Promise.all(
            groups.map(async (group): Promise<GroupReading> => {
              const members = group.members.map((m): MemberReading => ({
                clientId: m.clientId,
                host: m.clientHost.replace(/^\//, ''),
                assignment:
                  group.protocolType === 'consumer' && m.memberAssignment.length > 0
                    ? Object.entries(
                        AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment ?? {},
                      ).map(([topic, partitions]) => ({ topic, partitions }))
                    : [],
              }));
              const committed = await this.committed(broker, group.groupId, topics, members, time);
              return { id: group.groupId, state: group.state, members, committed };
            }),
          );
        } catch (error) {
          // A coordinator that moved answers NOT_COORDINATOR: find it again next refresh.
          for (const id of groupIds) this.coordinators.delete(id);
          throw error;
        }
      }),
    );
    return described.flat();
  }

  private async coordinatorOf(groupId: string, metadata: ClusterMetadata): Promise<number> {
    const known = this.coordinators.get(groupId);
    if (known !== undefined) return known;
    const any = await this.reads.broker(metadata.brokers[0]!.nodeId);
    const { coordinator } = await any.findGroupCoordinator({ groupId, coordinatorType: GROUP_COORDINATOR });
    this.coordinators.set(groupId, coordinator.nodeId);
    return coordinator.nodeId;
  }

  /** A group's committed offsets: of the topics it is known to read, and of every topic now and then. */
  private async committed(
    coordinator: ReadingBroker,
    groupId: string,
    topics: ClusterMetadata['topicMetadata'],
    members: MemberReading[],
    time: number,
  ): Promise<GroupReading['committed']> {
    let known = this.groupTopics.get(groupId);
    const askAll = !known || time - known.askedAllAt >= ALL_TOPICS_EVERY_MS;
    if (!known || askAll) this.groupTopics.set(groupId, (known = { topics: new Set(), askedAllAt: time }));
    for (const member of members) for (const { topic } of member.assignment) known.topics.add(topic);
    const asked = askAll ? topics : topics.filter((t) => known.topics.has(t.topic));
    if (asked.length === 0) return [];
    const { responses } = await coordinator.offsetFetch({
      groupId,
      topics: asked.map((t) => ({
        topic: t.topic,
        partitions: t.partitionMetadata.map((p) => ({ partition: p.partitionId })),
      })),
    });
    const committed: GroupReading['committed'] = [];
    for (const { topic, partitions } of responses) {
      for (const { partition, offset } of partitions) {
        const value = Number(offset);
        if (value < 0) continue; // -1: never committed
        committed.push({ topic, partition, offset: value });
        known.topics.add(topic);
      }
    }
    return committed;
  }

  /**
   * The timestamp of each lagging partition's first record not consumed, in one Fetch per leader for the ones not
   * read before. A record deleted by retention is replaced by the oldest one left, as a consumer would go on from it.
   */
  private async readRecordTimes(groups: GroupReading[], topics: TopicReading[]): Promise<void> {
    const partitions = new Map(
      topics.flatMap((t) => t.partitions.map((p) => [keyOf(t.name, p.partition), p] as const)),
    );
    const wanted = new Map<string, { topic: string; partition: number; offset: number; leader: number }>();
    for (const group of groups) {
      for (const { topic, partition, offset } of group.committed) {
        const p = partitions.get(keyOf(topic, partition));
        if (!p || offset >= p.end) continue;
        const from = Math.max(offset, p.start);
        wanted.set(`${keyOf(topic, partition)}@${from}`, { topic, partition, offset: from, leader: p.leader });
      }
    }
    const kept = new Map([...this.recordTimes].filter(([key]) => wanted.has(key)));
    this.recordTimes = kept;
    const missing = [...wanted].filter(([key]) => !kept.has(key)).map(([, w]) => w);
    const byLeader = new Map<number, typeof missing>();
    for (const w of missing) byLeader.set(w.leader, [...(byLeader.get(w.leader) ?? []), w]);
    await Promise.all([...byLeader].map(([nodeId, asked]) => this.fetchFirst(nodeId, asked).catch(() => undefined)));
  }

  private async fetchFirst(
    nodeId: number,
    asked: Array<{ topic: string; partition: number; offset: number }>,
  ): Promise<void> {
    const broker = await this.reads.broker(nodeId);
    const bytes = (p: Partition) => this.fetchBytes.get(keyOf(p.topic, p.partition)) ?? FIRST_FETCH_BYTES;
    const answer = await broker.fetch({
      replicaId: -1,
      isolationLevel: READ_UNCOMMITTED,
      maxWaitTime: 0,
      minBytes: 0,
      maxBytes: FETCH_RESPONSE_BYTES,
      topics: byTopic(asked, (p) => ({ fetchOffset: String(p.offset), maxBytes: bytes(p) })),
    });
    const offsets = new Map(asked.map((a) => [keyOf(a.topic, a.partition), a.offset]));
    for (const { topicName, partitions } of answer.responses) {
      for (const { partition, messages } of partitions) {
        const key = keyOf(topicName, partition);
        const offset = offsets.get(key);
        if (offset === undefined) continue;
        const first = messages.find((m) => Number(m.offset) >= offset);
        if (first && Number(first.timestamp) >= 0) {
          this.recordTimes.set(`${key}@${offset}`, Number(first.timestamp));
          this.fetchBytes.delete(key);
        } else {
          this.fetchBytes.set(key, Math.min(MOST_FETCH_BYTES, bytes({ topic: topicName, partition }) * 4));
        }
      }
    }
  }
}

/** The partitions each broker leads, from one Metadata answer (partitions without a leader are left out). */
function leadersOf(metadata: ClusterMetadata): Map<number, Partition[]> {
  const leaders = new Map<number, Partition[]>();
  for (const { topic, partitionMetadata } of metadata.topicMetadata) {
    for (const { partitionId, leader } of partitionMetadata) {
      if (leader < 0) continue;
      let led = leaders.get(leader);
      if (!led) leaders.set(leader, (led = []));
      led.push({ topic, partition: partitionId });
    }
  }
  return leaders;
}

/** Partitions grouped by topic, as Kafka's requests take them, each with the fields `extra` gives it. */
function byTopic<P extends Partition, E extends object>(
  partitions: P[],
  extra: E | ((p: P) => E),
): Array<{ topic: string; partitions: Array<{ partition: number } & E> }> {
  const topics = new Map<string, Array<{ partition: number } & E>>();
  for (const p of partitions) {
    let list = topics.get(p.topic);
    if (!list) topics.set(p.topic, (list = []));
    list.push({ partition: p.partition, ...(typeof extra === 'function' ? extra(p) : extra) });
  }
  return [...topics].map(([topic, list]) => ({ topic, partitions: list }));
}
