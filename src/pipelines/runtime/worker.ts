// One member of a pipeline's consumer group. Each batch kafkajs hands over (one partition's records) is one
// transaction: the records go through the operators, Cassandra, Redis and stdout writes are awaited, then the Kafka
// outputs (sink topics, repartition, changelog, dead letters) and the batch's next offset are committed together.
// A crash at any point leaves the last committed batch as the truth: the next owner of the partition restores
// state from the changelog and reads on from the committed offset, and the sinks' upserts of absolute values
// write the same results again.
import type { Admin, Batch, Consumer, EachBatchPayload, Kafka, Message } from 'kafkajs';
import { settable } from '../../async';
import { kafkaClientConfig } from '../../clients/kafka';
import { loadBatchMemberships, type GroupMembership } from '../../clients/kafkajs-internals';
import { TransactionalProducer } from '../../clients/transactional-producer';
import { Commits, type Begun, type Pending } from './commits';
import { kafkaEndpoint } from '../../services/endpoints';
import type { StreamRecord } from '../api';
import type { OnError } from '../../flow/kafka-sink';
import type { SinkWrite, SinkWriter } from '../sinks/types';
import {
  encodeValue,
  deadLetter,
  markerMessages,
  RecordProblem,
  sourceRecord,
  stageBMessage,
  type StageBMessage,
} from './messages';
import type { Output } from './operators';
import type { Emitted } from './aggregates';
import { BatchFailed, StageOperators } from './shell-operators';
import type { RunFigures } from './run-figures';
import { Combiner, combinable, mergingStep } from './combiner';
import { eachChunkValue, RepartitionChunks } from './repartition';
import { PartitionState } from './state';
import { Tables } from './tables';
import type { ResolvedConfig } from '../../config/load';
import { isLate, stateTopic, type Topology, type ValueRuns } from './topology';
import { stayingInGroup, writeSinks } from './sink-writes';
import { Idleness, sourceProgress, type SourceProgress } from './idleness';

export interface WorkerOptions {
  topology: Topology;
  config: ResolvedConfig;
  kafka: Kafka;
  /** The run's admin client, connected (its metadata loaded: a fresh one's first group lookup waits out a back-off). */
  admin: Admin;
  transactionalId: string;
  from: 'earliest' | 'latest';
  /** --until-end: each source partition's end offset at start, by `topic/partition`. */
  until?: Map<string, bigint>;
  /** Every source partition at start: stage B's watermark waits for each of them to mark, or to go idle. */
  sourcePartitions: string[];
  /** How long a source partition read to its end, with nothing new, holds the watermark back; Infinity: for good. */
  idleTimeoutMs: number;
  repartitionPartitions: number;
  onError: OnError;
  /** External sinks (Cassandra, Redis, stdout), in the order of topology.sinks; undefined for Kafka sinks. */
  sinks: Array<SinkWriter | undefined>;
  sinkTimeoutMs: number;
  figures: RunFigures;
  note: (text: string) => void;
}

/** What one batch sends, gathered before the transaction. */
class BatchOutputs {
  readonly topics = new Map<string, Message[]>();
  readonly writes: SinkWrite[][];
  /** The original bytes of each record, for its dead letter. */
  constructor(sinks: number) {
    this.writes = Array.from({ length: sinks }, () => []);
  }
  add(topic: string, message: Message): void {
    const list = this.topics.get(topic);
    if (list) list.push(message);
    else this.topics.set(topic, [message]);
  }
}

export class Worker {
  private readonly consumer: Consumer;
  private producer?: TransactionalProducer;
  /** The group membership a batch was fetched under. */
  private membershipOf: (batch: object) => GroupMembership | undefined = () => undefined;
  /** The partitions of this member's last join. */
  private assignment: Array<{ topic: string; partition: number }> = [];
  /** Their stable committed offsets, read at the first batch after the join (see pastCommitted). */
  private committedAtJoin?: Promise<Map<string, bigint> | undefined>;
  private readonly head: StageOperators;
  /** Stage B's steps: the operators after an aggregate, or a keyed or window shell and the operators after it. */
  private readonly tail: StageOperators;
  private readonly states = new Map<number, PartitionState>();
  private readonly tables: Tables;
  /** Each source partition's highest event time so far: its marker. */
  private readonly sourceTimes = new Map<string, number>();
  private failure: unknown;
  private sinceHeartbeat = 0;
  private readonly idleness: Idleness;
  private idleTimer?: NodeJS.Timeout;
  private idleCheck?: Promise<void>;
  /** Partitions said idle in a note already: once each per run. */
  private readonly notedIdle = new Set<string>();
  /** Transactions one at a time (a batch's, the idle markers'), those waiting meanwhile committed as one. */
  private readonly commits = new Commits((transaction) => this.producer!.commit(transaction), GATHER_MS);
  /** The next offset this worker reads, by `topic/partition`: past transaction markers, which reach no batch. */
  readonly positions = new Map<string, bigint>();
  /** Resolved when the next batch has ended (and committed, or failed): --until-end looks for its end then. */
  private ended = settable<void>();
  private stopped!: () => void;
  readonly done: Promise<void> = new Promise((resolve) => (this.stopped = resolve));
  private firstJoin!: () => void;
  /** Resolved once this worker joined its group (its assignment known), or stopped. */
  private readonly joined = new Promise<void>((resolve) => (this.firstJoin = resolve));

  constructor(private readonly options: WorkerOptions) {
    const { kafka, topology, figures } = options;
    this.consumer = kafka.consumer({
      groupId: topology.groupId,
      readUncommitted: false,
      // A worker killed without leaving holds its partitions this long: a restart or the others take over after it.
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      // A batch is a transaction: larger ones spread its round trips over more records, and a keyed aggregate's
      // updates coalesce over more of them (kafkajs's default is 1 MB per partition).
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxBytes: 16 * 1024 * 1024,
      // Leaving the group waits for the fetch under way: --until-end, whose last fetch finds nothing, waited up to
      // kafkajs's 5 s for it after its work was done (a fetch answers as soon as there is something to read: a
      // short wait costs only requests while there is nothing).
      ...(options.until ? { maxWaitTimeInMs: 50 } : {}),
    });
    this.tables = new Tables(kafka, options.config);
    this.idleness = new Idleness(options.idleTimeoutMs);
    const lookup = this.tables.lookup;
    this.head = new StageOperators(topology.head, figures, lookup);
    this.tail =
      topology.keyed?.kind === 'shell'
        ? new StageOperators([topology.keyed, ...topology.tail], figures, lookup, topology.head.length)
        : new StageOperators(topology.tail, figures, lookup, topology.head.length + 1);
  }

  async start(): Promise<void> {
    const { topology, from } = this.options;
    // Connecting a transactional producer fences an earlier one of the same id and aborts what it left open.
    this.producer = await TransactionalProducer.connect({
      kafka: kafkaClientConfig(kafkaEndpoint(this.options.config), {
        clientId: `pbx-run-${topology.name}`,
        connectionTimeout: 3000,
      }),
      transactionalId: this.options.transactionalId,
      transactionTimeoutMs: 15_000,
    });
    this.membershipOf = await loadBatchMemberships();
    await this.markEnded();
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: topology.sources, fromBeginning: from === 'earliest' });
    if (topology.topics.repartition)
      await this.consumer.subscribe({ topics: [topology.topics.repartition], fromBeginning: true });
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      this.assignment = Object.entries(payload.memberAssignment).flatMap(([topic, ps]) =>
        ps.map((partition) => ({ topic, partition })),
      );
      this.committedAtJoin = undefined;
      this.assigned(payload.memberAssignment);
      this.firstJoin();
    });
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      this.positions.set(`${payload.topic}/${payload.partition}`, BigInt(payload.lastOffset) + 1n);
      this.ended.resolve();
      this.ended = settable<void>();
    });
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.fail(payload.error);
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.parallelBatches(),
      eachBatch: (payload) => this.batch(payload),
    });
    // Only windows wait for the watermark. kafkajs hands over no batch for a partition with nothing to read:
    // idleness is checked on a clock. Co-partitioned, a state partition's watermark is its one source partition's:
    // marking it idle would move nothing.
    if (topology.aggregate?.window && topology.topics.repartition && Number.isFinite(this.options.idleTimeoutMs)) {
      const every = Math.min(1000, Math.max(100, this.options.idleTimeoutMs / 4));
      this.idleTimer = setInterval(() => {
        this.idleCheck ??= this.markIdle().finally(() => (this.idleCheck = undefined));
      }, every);
    }
  }

  /** Stops consuming, leaving the group cleanly; what was committed stays committed. */
  async stop(): Promise<void> {
    clearInterval(this.idleTimer);
    await this.idleCheck;
    await this.consumer.disconnect().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    await Promise.all([this.head.close(), this.tail.close()]);
    await this.tables.close();
    this.stopped();
  }

  /** Resolves once the next batch has ended. */
  get batchEnded(): Promise<void> {
    return this.ended.promise;
  }

  /** The error that ended the worker, if one did. */
  get error(): unknown {
    return this.failure;
  }

  private fail(error: unknown): void {
    this.failure ??= error;
    // Not awaited here: stopping waits for the batch in progress, which may be the caller.
    setImmediate(() => void this.stop());
  }

  /** State of partitions that moved to another member is dropped: it restores from the changelog there. Their
   * long-running commands end: the next owner starts its own. */
  private assigned(assignment: Record<string, number[]>): void {
    const stateful = stateTopic(this.options.topology);
    const kept = new Set(stateful ? (assignment[stateful] ?? []) : []);
    for (const partition of this.states.keys()) if (!kept.has(partition)) this.states.delete(partition);
    const owned = new Set(Object.entries(assignment).flatMap(([topic, ps]) => ps.map((p) => `${topic}/${p}`)));
    const sources = this.options.topology.sources;
    this.idleness.assigned(
      [...owned].filter((p) => sources.includes(p.slice(0, p.lastIndexOf('/')))),
      Date.now(),
    );
    void this.head.close(owned);
    void this.tail.close(owned);
  }

  private async batch(payload: EachBatchPayload): Promise<void> {
    if (this.failure !== undefined || payload.batch.isEmpty()) return;
    try {
      if (!(await this.pastCommitted(payload))) return;
    } catch (error) {
      this.fail(error);
      return;
    }
    // A fetch's batches begin together: the transaction waits for each to join it (or leave), see commits.ts.
    const begun = this.commits.begin();
    try {
      await this.work(payload, begun);
    } finally {
      begun.leave();
    }
  }

  /**
   * Drops the batch's records below its partition's stable committed offset. kafkajs reads where each partition starts
   * after every join (every partition assigned, kept or moved) with an OffsetFetch that does not wait for a
   * transaction's offsets: one whose EndTxn was answered a moment ago, its commit marker not yet written, still counts
   * as not committed, and its records came again (a job executed twice). The stable offsets (KIP-447), read once per
   * join, wait for it. False when nothing is left of the batch: it is resolved up to that offset instead.
   */
  private async pastCommitted(payload: EachBatchPayload): Promise<boolean> {
    const { batch } = payload;
    const { groupId } = this.options.topology;
    // Kafka may take until a dead producer's transaction times out: the worker stays in its group meanwhile.
    this.committedAtJoin ??= stayingInGroup(payload, () => this.producer!.stableOffsets(groupId, this.assignment));
    const committed = (await this.committedAtJoin)?.get(`${batch.topic}/${batch.partition}`);
    if (committed === undefined || BigInt(batch.messages[0]!.offset) >= committed) return true;
    batch.messages = batch.messages.filter((message) => BigInt(message.offset) >= committed);
    if (batch.messages.length > 0) return true;
    payload.resolveOffset(String(committed - 1n));
    return false;
  }

  private async work(payload: EachBatchPayload, begun: Begun): Promise<void> {
    const { batch } = payload;
    const stageB = batch.topic === this.options.topology.topics.repartition;
    // Stage B's, or a co-partitioned source's: the batch changes the state of its partition.
    const stateful = batch.topic === stateTopic(this.options.topology);
    const source = `${batch.topic}/${batch.partition}`;
    if (!stageB) this.idleness.active(source, Date.now());
    const outputs = new BatchOutputs(this.options.topology.sinks.length);
    // The membership the batch was fetched under: its offsets are refused once the group has moved on (a zombie).
    const member = this.membershipOf(batch) ?? { memberId: '', generationId: -1 };
    let next = BigInt(batch.lastOffset()) + 1n;
    let stop: RecordProblem | undefined;
    try {
      const stoppedAt = stageB
        ? await this.keyedStep(batch.messages.map(stageBMessage), payload, outputs)
        : await this.stageA(payload, outputs);
      if (stoppedAt) [next, stop] = [BigInt(stoppedAt.offset), stoppedAt.problem];
      await writeSinks(this.options, outputs.writes, payload, (write, problem) =>
        this.recordFailed(write.record, null, problem, outputs),
      );
      await this.commit(begun, outputs, { topic: batch.topic, partition: batch.partition, next, member });
      payload.resolveOffset(String(next - 1n));
      if (!stageB) this.idleness.active(source, Date.now());
      this.options.figures.committed(batch.topic, batch.partition, next, BigInt(batch.highWatermark));
      if (stateful)
        this.options.figures.figures.state(
          batch.topic,
          batch.partition,
          this.states.get(batch.partition)?.aggregates.size ?? 0,
        );
    } catch (error) {
      // Whatever this batch did to state is not in Kafka: restore it from there next time.
      if (stateful) this.states.delete(batch.partition);
      if (isRebalance(error)) throw error;
      this.fail(error);
      return;
    }
    if (stop) this.fail(stop);
  }

  /**
   * Source records through the operators, to the sinks or the repartition topic, then the watermark markers; or,
   * co-partitioned, on into the keyed step of the batch's own partition, its progress the watermark.
   */
  private async stageA(payload: EachBatchPayload, outputs: BatchOutputs): Promise<StopAt | undefined> {
    const { batch } = payload;
    const { topology, figures } = this.options;
    const source = `${batch.topic}/${batch.partition}`;
    let time = this.sourceTimes.get(source) ?? -Infinity;
    let stopAt: StopAt | undefined;
    const combiner = combinable(topology.aggregate) ? new Combiner(topology.aggregate.aggregation) : undefined;
    // Co-partitioned, the chunks stay here: one partition, this one.
    const chunks = topology.keyed
      ? new RepartitionChunks(topology.coPartitioned ? 1 : this.options.repartitionPartitions)
      : undefined;
    // With a shell step in stage A, outputs wait for the batch's end: `fed` holds the records they came from.
    const pending: Output[] = [];
    const fed: Fed[] = [];
    // --until-end reads to the ends seen at the start (a partition empty then has none): the rest is the next run's.
    const end = this.options.until ? (this.options.until.get(source) ?? 0n) : undefined;
    let pastEnd = false;
    for (const message of batch.messages) {
      // Stopping (Ctrl-C, SIGTERM): the batch ends here, and its offset is this record's, so the next run starts at it.
      if (!payload.isRunning()) {
        stopAt = { offset: message.offset };
        break;
      }
      if (end !== undefined && BigInt(message.offset) >= end) {
        stopAt = { offset: String(end) };
        pastEnd = true;
        // Nothing more of it is this run's: fetching on would only send the end marker again and again.
        payload.pause();
        break;
      }
      figures.read(1);
      let record: StreamRecord | undefined;
      try {
        const read = sourceRecord(topology, batch.topic, batch.partition, message);
        record = read.record;
        const ran = this.head.first.run(read.value, record.key, record);
        const results = Array.isArray(ran) ? ran : await ran;
        if (this.head.batched) {
          for (const r of results) pending.push(r);
          if (results.length > 0) fed.push({ record, original: message.value });
        } else {
          if (topology.aggregate && results.length > 0 && isLate(topology.aggregate, record.time, time))
            throw this.late(record.time, time);
          this.emitA(results, outputs, combiner, chunks);
        }
        if (record.time > time) time = record.time;
      } catch (error) {
        if (!(error instanceof RecordProblem)) throw error;
        const stopped = this.recordFailed(
          record ?? placeholder(batch.topic, batch.partition, message.offset),
          message.value,
          error,
          outputs,
        );
        if (stopped) {
          stopAt = { offset: message.offset, problem: error };
          break;
        }
      }
      // A long batch keeps the worker in its group (kafkajs sends at most one heartbeat per interval).
      if (++this.sinceHeartbeat % 1000 === 0) await payload.heartbeat();
    }
    if (this.head.batched) {
      // Keyed values with nothing to fold them: a shell's output lines go straight into the repartition chunks.
      const into = combiner ? undefined : chunks;
      for (const output of await this.throughShells(this.head, pending, fed, payload, outputs, into)) {
        try {
          this.emitA([output], outputs, combiner, chunks);
        } catch (error) {
          // An aggregate's fold throwing on a command's output (a sum of what is not a number).
          if (!(error instanceof RecordProblem)) throw error;
          if (this.recordFailed(output.record, encodeValue(output.value), error, outputs)) throw error;
        }
      }
    }
    this.sourceTimes.set(source, time);
    if (!chunks) return stopAt;
    for (const p of combiner?.drain() ?? []) chunks.add(p.key, p.accumulator, p.record);
    const ended = pastEnd || (!stopAt && end !== undefined && BigInt(batch.lastOffset()) + 1n >= end);
    const mark = ended ? Infinity : time;
    const { repartition } = topology.topics;
    if (!repartition) {
      // Stage B's own path, in this batch and its transaction: the values as stage B would read them, then the mark.
      const read: StageBMessage[] = chunks.drain().map((m) => ({ kind: 'values', chunk: m.value as string }));
      if (mark > -Infinity) read.push({ kind: 'mark', source, time: mark, idle: false });
      await this.keyedStep(read, payload, outputs);
      return stopAt;
    }
    for (const m of chunks.drain()) outputs.add(repartition, m);
    if (mark > -Infinity)
      for (const m of markerMessages(source, mark, this.options.repartitionPartitions)) outputs.add(repartition, m);
    return stopAt;
  }

  /** Stage A's outputs: to the sinks, or (keyed) folded into the combiner or into the repartition chunks. */
  private emitA(
    results: Output[],
    outputs: BatchOutputs,
    combiner: Combiner | undefined,
    chunks: RepartitionChunks | undefined,
  ): void {
    if (!chunks) this.route(results, outputs);
    else if (combiner) this.combine(combiner, results);
    else for (const r of results) chunks.add(r.key ?? '', r.value, r.record);
  }

  /**
   * Stage B: keyed values (repartition chunks, as read from the repartition topic or, co-partitioned, as a source
   * batch made them) and watermark marks into the keyed step of the batch's partition; what it emits through the
   * operators after it.
   */
  private async keyedStep(
    messages: StageBMessage[],
    payload: BatchPlace,
    outputs: BatchOutputs,
  ): Promise<StopAt | undefined> {
    const { batch } = payload;
    const { topology, figures } = this.options;
    if (!topology.aggregate) {
      // A keyed shell: the batch's records (in the partition's order) are its batch; nothing is kept.
      const pending: Output[] = [];
      const fed: Fed[] = [];
      for (const read of messages) {
        if (read.kind === 'mark') continue;
        eachChunkValue(read.chunk, (key, value, record) => {
          pending.push({ value, key, record });
          fed.push({ record: withKey(record, key), original: JSON.stringify(value ?? null) });
        });
      }
      this.route(await this.throughShells(this.tail, pending, fed, payload, outputs), outputs);
      return undefined;
    }
    const state = await this.state(batch.partition);
    const step = topology.aggregate;
    const index = topology.head.length;
    // A window shell counts its records in when it is fed them.
    const counted = topology.keyed?.kind === 'aggregate';
    let latest = 0;
    for (const read of messages) {
      if (read.kind === 'mark') {
        state.watermarks.mark(read.source, read.time, read.idle);
        continue;
      }
      const skipped: number[] = [];
      // A window shell's state keeps values, not their records: only an aggregate's function may look at the key.
      const keyedRecords = topology.keyed?.kind !== 'shell';
      eachChunkValue(read.chunk, (key, value, record, i) => {
        if (counted) figures.in(index);
        if (record.timestamp > latest) latest = record.timestamp;
        const problem = this.stateAdd(state, key, value, keyedRecords ? withKey(record, key) : record);
        if (!problem) return;
        skipped.push(i);
        // --on-error stop: nothing of the batch is committed (its chunk's values before this one are in the state).
        if (this.recordFailed(withKey(record, key), JSON.stringify(value ?? null), problem, outputs)) throw problem;
      });
      state.aggregates.logChunk(read.chunk, skipped);
    }
    const emitted = step.window ? state.aggregates.advance(state.watermarks.current()) : state.aggregates.updates();
    const record = (result: Emitted): StreamRecord => ({
      topic: batch.topic,
      partition: batch.partition,
      offset: batch.lastOffset(),
      key: result.key,
      headers: {},
      timestamp: latest || Date.now(),
      time: result.time,
    });
    if (counted) {
      figures.out(index, emitted.length);
      await this.afterAggregate(emitted, record, payload, outputs);
    } else await this.closedWindows(emitted, record, payload, outputs);
    for (const m of state.changelog(batch.partition)) outputs.add(topology.topics.changelog!, m);
    return undefined;
  }

  /** A repartitioned value into the keyed state; the problem when it is late or the aggregate throws. */
  private stateAdd(
    state: PartitionState,
    key: string,
    value: unknown,
    record: StreamRecord,
  ): RecordProblem | undefined {
    const step = this.options.topology.aggregate!;
    const index = this.options.topology.head.length;
    try {
      if (state.aggregates.add(key, record.time, value, record)) return undefined;
    } catch (error) {
      return new RecordProblem(
        step.label,
        `${step.label} (operator ${index + 1}) threw ${(error as Error).message}`,
        index,
      );
    }
    const source = `${record.topic}/${record.partition}`;
    const ended =
      state.watermarks.current() === Infinity
        ? ': an earlier --until-end run closed every window (run with --reset to compute them again)'
        : state.watermarks.isIdle(source)
          ? `: ${source} was idle (nothing to read for --idle-timeout), and the other partitions moved the watermark on`
          : '';
    return new RecordProblem(
      step.label,
      `late: event time ${iso(record.time)} is past its window's end plus the allowed lateness (${step.lateness} ms); the watermark is ${iso(state.watermarks.current())}${ended}`,
      index,
    );
  }

  /** An aggregate's results through the operators after it. */
  private async afterAggregate(
    emitted: Emitted[],
    recordOf: (result: Emitted) => StreamRecord,
    payload: BatchPlace,
    outputs: BatchOutputs,
  ): Promise<void> {
    const pending: Output[] = [];
    const fed: Fed[] = [];
    for (const result of emitted) {
      const record = recordOf(result);
      try {
        const ran = this.tail.first.run(result.value, result.key, record);
        const results = Array.isArray(ran) ? ran : await ran;
        if (!this.tail.batched) this.route(results, outputs);
        else {
          for (const r of results) pending.push(r);
          fed.push({ record, original: JSON.stringify(result.value) });
        }
      } catch (error) {
        if (!(error instanceof RecordProblem)) throw error;
        if (this.recordFailed(record, JSON.stringify(result.value), error, outputs)) throw error; // --on-error stop: the run's RECORD_FAILED, nothing of this batch committed
      }
    }
    if (this.tail.batched) this.route(await this.throughShells(this.tail, pending, fed, payload, outputs), outputs);
  }

  /** A window shell's closed windows: each window's records of this partition (every key's) are one batch. */
  private async closedWindows(
    emitted: Emitted[],
    recordOf: (result: Emitted) => StreamRecord,
    payload: BatchPlace,
    outputs: BatchOutputs,
  ): Promise<void> {
    // Emitted in order of (window end, key): a window's keys are together.
    for (let i = 0; i < emitted.length;) {
      const { window_start: start, window_end: end } = emitted[i]!.value;
      const pending: Output[] = [];
      for (
        ;
        i < emitted.length && emitted[i]!.value.window_start === start && emitted[i]!.value.window_end === end;
        i++
      ) {
        const result = emitted[i]!;
        const record = recordOf(result);
        // A run of equal values is one output fed again and again: no object made per value.
        const { values, counts } = result.value.value as ValueRuns;
        for (let run = 0; run < values.length; run++) {
          const output = { value: values[run], key: result.key, record };
          for (let n = counts[run]!; n > 0; n--) pending.push(output);
        }
      }
      // Each record fed is its value (a dead letter holds it encoded).
      this.route(await this.throughShells(this.tail, pending, undefined, payload, outputs), outputs);
    }
  }

  /**
   * A batch's outputs through a stage's shell steps. When a command fails the batch, --on-error applies to every
   * record it was fed (`fed`, else each output's own record and value): stop throws (nothing of the batch is
   * committed), skip and dead-letter go on without its output. With `into`, keyed outputs may go into those
   * repartition chunks instead of being returned (StageOperators.finish).
   */
  private async throughShells(
    stage: StageOperators,
    pending: Output[],
    fed: Fed[] | undefined,
    payload: BatchPlace,
    outputs: BatchOutputs,
    into?: RepartitionChunks,
  ): Promise<Output[]> {
    const { batch } = payload;
    const origin = { topic: batch.topic, partition: batch.partition, offset: batch.lastOffset() };
    try {
      // A command may take longer than the session timeout: the worker stays in its group meanwhile.
      return await stayingInGroup(payload, () =>
        stage.finish(
          pending,
          origin,
          (output, problem) => this.recordFailed(output.record, encodeValue(output.value), problem, outputs),
          into,
        ),
      );
    } catch (error) {
      if (!(error instanceof BatchFailed)) throw error;
      error.at = `${batch.topic}/${batch.partition} offsets ${batch.firstOffset() ?? '?'}–${batch.lastOffset()}`;
      if (this.options.onError === 'stop') {
        this.options.figures.error(error.step);
        throw error;
      }
      const problem = new BatchFailed(error.operator, `${error.message} (batch ${error.at})`, error.step!);
      const records = fed ?? pending.map((o) => ({ record: o.record, original: encodeValue(o.value) }));
      for (const { record, original } of records) this.recordFailed(record, original, problem, outputs);
      return [];
    }
  }

  /** A record's values folded into the batch's partials; all of them or, when one throws, none. */
  private combine(combiner: Combiner, results: Output[]): void {
    const step = this.options.topology.aggregate!;
    const index = this.options.topology.head.length;
    try {
      combiner.add(results.map((r) => ({ key: r.key ?? '', value: r.value, record: r.record })));
    } catch (error) {
      throw new RecordProblem(
        step.label,
        `${step.label} (operator ${index + 1}) threw ${(error as Error).message}`,
        index,
      );
    }
  }

  private late(time: number, maxBefore: number): RecordProblem {
    const step = this.options.topology.aggregate!;
    return new RecordProblem(
      step.label,
      `late: its event time ${iso(time)} is before its newest window's end plus the allowed lateness (${step.lateness} ms), and its partition had reached ${iso(maxBefore)}`,
      this.options.topology.head.length,
    );
  }

  private async state(partition: number): Promise<PartitionState> {
    const known = this.states.get(partition);
    if (known) return known;
    const { kafka, admin, topology, sourcePartitions } = this.options;
    const changelog = topology.topics.changelog!;
    // Co-partitioned, the watermark of state partition p is source partition p's own progress.
    const sources = topology.coPartitioned ? [`${topology.sources[0]}/${partition}`] : sourcePartitions;
    const offsets = await admin.fetchTopicOffsets(changelog);
    const found = offsets.find((o) => o.partition === partition);
    // From the first offset Kafka still holds: --reset deletes the records before the end.
    const [from, end] = [BigInt(found?.low ?? '0'), BigInt(found?.high ?? '0')];
    if (end > from) this.options.note(`Restoring the state of partition ${partition} from ${changelog}.`);
    const state = await PartitionState.restore({
      kafka,
      changelog,
      partition,
      from,
      end,
      step: combinable(topology.aggregate) ? mergingStep(topology.aggregate) : topology.aggregate!,
      sources,
      logValues: topology.keyed?.kind === 'shell',
    });
    this.states.set(partition, state);
    return state;
  }

  /** Outputs to every sink: Kafka topics in the transaction, Cassandra, Redis and stdout writes before it. */
  private route(results: Output[], outputs: BatchOutputs): void {
    const { sinks } = this.options.topology;
    for (const result of results) {
      for (let i = 0; i < sinks.length; i++) {
        const sink = sinks[i]!;
        if (sink.kind === 'kafka') {
          outputs.add(sink.topic, {
            key: result.key,
            value: encodeValue(result.value),
            timestamp: String(result.record.timestamp),
          });
        } else outputs.writes[i]!.push(result);
      }
    }
  }

  /** --on-error for one record; true when it stops the run. */
  private recordFailed(
    record: StreamRecord,
    original: Buffer | string | null,
    problem: RecordProblem,
    outputs: BatchOutputs,
  ): boolean {
    const { onError, topology, figures } = this.options;
    problem.at ??= `${record.topic}/${record.partition}/${record.offset}`;
    figures.error(problem.step);
    if (onError === 'stop') return true;
    if (onError === 'dead-letter') {
      outputs.add(topology.topics.deadLetter, deadLetter(record, original, problem));
      figures.deadLetter();
    }
    return false;
  }

  /** A batch's outputs and (unless it read nothing) its partition's next offset, in its transaction. */
  private async commit(begun: Begun, outputs: BatchOutputs, read?: ReadUpTo): Promise<void> {
    const offsets = read && {
      groupId: this.options.topology.groupId,
      ...read.member,
      offsets: [{ topic: read.topic, partition: read.partition, offset: read.next }],
    };
    const started = Date.now();
    await begun.commit({ records: outputs.topics, ...(offsets ? { offsets } : {}) });
    const ackedAt = Date.now();
    for (const [sinkTopic, messages] of outputs.topics) {
      this.options.figures.sent(sinkTopic, messages, ackedAt, ackedAt - started);
    }
  }

  /**
   * --until-end, co-partitioned: closes the windows of the source partitions this worker holds that no batch of this
   * run closed (read to their end by an earlier live run, they send none), each in a transaction of its own: the
   * windows to the sinks, the state to the changelog. Stage B gets an end marker for those instead (markEnded).
   */
  async closeAtEnd(): Promise<void> {
    const { topology, until } = this.options;
    if (!topology.coPartitioned || !topology.aggregate?.window || !until) return;
    const [topic] = topology.sources as [string];
    // An earlier run may have read every partition to its end: the end is seen before this worker joined.
    await Promise.race([this.joined, this.done]);
    for (const { partition } of this.assignment.filter((a) => a.topic === topic)) {
      if (this.failure !== undefined) return;
      const source = `${topic}/${partition}`;
      const begun = this.commits.begin();
      try {
        const state = await this.state(partition);
        if (state.watermarks.current() === Infinity || state.aggregates.size === 0) continue;
        const last = String((until.get(source) ?? 0n) - 1n);
        // Outside a batch kafkajs's runner heartbeats between its fetches itself.
        const place = { batch: { topic, partition, lastOffset: () => last, firstOffset: () => last }, heartbeat: noop };
        const outputs = new BatchOutputs(topology.sinks.length);
        await this.keyedStep([{ kind: 'mark', source, time: Infinity, idle: false }], place, outputs);
        await writeSinks(this.options, outputs.writes, place, (write, problem) =>
          this.recordFailed(write.record, null, problem, outputs),
        );
        await this.commit(begun, outputs);
      } catch (error) {
        this.states.delete(partition);
        this.fail(error);
      } finally {
        begun.leave();
      }
    }
  }

  /** One transaction, committed (aborted when it fails), after those before it; maybe with others waiting. */
  private transact(pending: Pending): Promise<void> {
    return this.commits.commit(pending);
  }

  /**
   * Batches of several partitions are worked on at once: every batch of a fetch (one per partition it read, at most
   * every source and repartition partition) begins together, their Cassandra writes go out together and their
   * transactions commit as one. Shell steps too: each partition's batch has a process of its own (a fresh one, or its
   * partition's long-running one), so the partitions' commands run side by side, as a pipe's do, 4 at most (as
   * measured). Not with Redis or stdout sinks (stdout's lines of two batches would mix, and a Redis stream's
   * entries); there, one at a time. Cassandra's upserts of two partitions' batches are of different rows after a
   * keyBy, and of no order between partitions without.
   */
  private parallelBatches(): number {
    const { topology, sourcePartitions, repartitionPartitions } = this.options;
    const parallel = topology.sinks.every((sink) => sink.kind === 'kafka' || sink.kind === 'cassandra');
    if (!parallel) return 1;
    const shells = this.head.batched || this.tail.batched || topology.keyed?.kind === 'shell';
    const fetched = sourcePartitions.length + (topology.topics.repartition ? repartitionPartitions : 0);
    return shells ? 4 : Math.max(1, fetched);
  }

  /**
   * A live run's idle source partitions: those read to their end with no batch for the idle time are marked idle in
   * every repartition partition, so that they hold stage B's watermark back no more. Their next batch marks them
   * active again. A Kafka error here is tried again at the next check; the batches report Kafka's failures.
   */
  private async markIdle(): Promise<void> {
    const due = this.idleness.due(Date.now());
    if (due.length === 0 || this.failure !== undefined) return;
    try {
      const topics = [...new Set(due.map((source) => source.slice(0, source.lastIndexOf('/'))))];
      const progress = await this.sourceProgress(topics);
      const repartition = this.options.topology.topics.repartition!;
      let idle: string[] = [];
      await this.transact(() => {
        // Decided once no other transaction runs: a partition with a batch since `due` is active again.
        idle = this.idleness.toMark(progress, Date.now());
        if (idle.length === 0) return undefined;
        const messages = idle.flatMap((source) =>
          markerMessages(source, this.sourceTimes.get(source) ?? -Infinity, this.options.repartitionPartitions, true),
        );
        return { records: [[repartition, messages]] };
      });
      this.idleness.marked(idle);
      const first = idle.filter((source) => !this.notedIdle.has(source));
      for (const source of first) this.notedIdle.add(source);
      if (first.length > 0)
        this.options.note(
          `Idle, no longer holding windows open until it has records again: ${first.join(', ')} (nothing to read for ${this.options.idleTimeoutMs / 1000} s).`,
        );
    } catch (error) {
      if (!(error as Error).name?.startsWith('KafkaJS')) this.fail(error);
    }
  }

  /** Where each partition of these source topics is: this worker's position, else the group's, against its end. */
  private async sourceProgress(topics: string[]): Promise<Map<string, SourceProgress>> {
    const { admin } = this.options;
    const { groupId } = this.options.topology;
    const committed = new Map<string, bigint>();
    for (const { topic, partitions } of await admin.fetchOffsets({ groupId, topics })) {
      for (const p of partitions) committed.set(`${topic}/${p.partition}`, BigInt(p.offset));
    }
    const progress = new Map<string, SourceProgress>();
    for (const topic of topics) {
      // admin's offsets are read_committed: `high` is the last stable offset, the end this worker can reach.
      for (const o of await admin.fetchTopicOffsets(topic)) {
        const source = `${topic}/${o.partition}`;
        progress.set(
          source,
          sourceProgress({
            tracked: this.positions.get(source),
            committed: committed.get(source) ?? -1n,
            low: BigInt(o.low),
            end: BigInt(o.high),
            from: this.options.from,
          }),
        );
      }
    }
    return progress;
  }

  /**
   * --until-end: a source partition the group had read to its end before this run sends no batch, so its end is
   * marked here, before anything is read; stage B's windows close once every source is at its end.
   */
  private async markEnded(): Promise<void> {
    const { topology, until } = this.options;
    if (!until || !topology.topics.repartition) return;
    const progress = await this.sourceProgress(topology.sources);
    // Nothing before the end seen at start left to read: read to it by an earlier run, or empty.
    const ended = [...progress].filter(([source, p]) => p.position >= (until.get(source) ?? 0n)).map(([s]) => s);
    if (ended.length === 0) return;
    const repartition = topology.topics.repartition;
    const messages = ended.flatMap((source) => markerMessages(source, Infinity, this.options.repartitionPartitions));
    await this.transact({ records: [[repartition, messages]] });
  }
}

/** A batch's partition read up to `next`, under the group membership it was fetched with. */
interface ReadUpTo {
  topic: string;
  partition: number;
  next: bigint;
  member: GroupMembership;
}

/** What the keyed step needs of a batch: where its results come from, and its group's heartbeat. */
type BatchPlace = Pick<EachBatchPayload, 'heartbeat'> & {
  batch: Pick<Batch, 'topic' | 'partition' | 'lastOffset' | 'firstOffset'>;
};

/** A record fed (through the operators before it) to a shell step, and what to dead-letter of it. */
interface Fed {
  record: StreamRecord;
  original: Buffer | string | null;
}

/** Where a batch stopped short: the first record not done, and the problem that stopped it (none: a stop asked for). */
interface StopAt {
  offset: string;
  problem?: RecordProblem;
}

/** A repartitioned value's record with its key (a text chunk's values share a record whose key is null). */
function withKey(record: StreamRecord, key: string): StreamRecord {
  return record.key === key ? record : { ...record, key };
}

const noop = () => Promise.resolve();

function placeholder(topic: string, partition: number, offset: string): StreamRecord {
  return { topic, partition, offset, key: null, headers: {}, timestamp: 0, time: 0 };
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}

/**
 * How long a transaction waits at most for the batches of its fetch still working (a partition's Cassandra writes):
 * a few of their writes' time, so that a slow batch holds the others' commit back no longer than that.
 */
const GATHER_MS = 20;

const REBALANCE = new Set([
  'REBALANCE_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
]);
/** kafkajs rejoins the group itself after these: the batch is given up, not the run. */
function isRebalance(error: unknown): boolean {
  return REBALANCE.has((error as { type?: string }).type ?? '');
}
