// A replay runs as a flow of stages: its options resolved into a plan (plan.ts), then the source (flow/sources),
// each entry made a message (records.ts), paced (pacing.ts) and sent into Kafka (flow/kafka-sink.ts), whose
// acknowledgements move the checkpoint on. This file drives them and says how the replay ended.
import { randomUUID } from 'node:crypto';
import { sleep } from '../async';
import { UserError, UsageError } from '../cli/errors';
import { RECOVERY_MS } from '../clients/batch-producer';
import type { KafkaSink, Span } from '../flow/kafka-sink';
import { textOf, type Source, type SourceItem } from '../flow/records';
import { openSource, type SourceOptions } from '../flow/sources/open';
import { withPauses } from '../flow/sources/pauses';
import { checkCheckpoint, CheckpointWriter, readCheckpoint } from './checkpoint';
import { publishReplayFigures } from './figures';
import { connect, kafkaFailed, plural, type ReplayKafka } from './kafka';
import { BATCH_WINDOW_MS, Pacer, Schedule } from './pacing';
import { planReplay, type ReplayOptions, type ReplayPlan } from './plan';
import { MessageBuilder } from './records';
import { deliveredAfter, endOffsets } from './resume';
import { ReplayStats } from './stats';

export type { OnError } from '../flow/kafka-sink';
export type { ReplayOptions } from './plan';

export interface ReplaySummary {
  source: string;
  format: string;
  topic: string;
  sent: number;
  skipped: number;
  deadLettered: number;
  /** Records a crashed run delivered after its last checkpoint, found in Kafka and not sent again. */
  recovered: number;
  /** Where a checkpoint made this run start: the source's entries (of its pass) that earlier runs had done. */
  resumedAfter?: number;
  outOfOrder: number;
  passes: number;
  /** Source index of the first record not delivered (what a checkpoint resumes from). */
  nextIndex: number;
  elapsedMs: number;
  targetRate?: number;
  achievedRate: number;
  stoppedBy: 'end' | 'limit' | 'interrupt';
  checkpoint?: string;
}

/** What a running replay answers to and reports to: the interrupt, the live view's figures and notes. */
export type ReplayHooks = Pick<ReplayOptions, 'signal' | 'onProgress' | 'onNote'>;

/** Replays a dataset into Kafka in order, paced, and says exactly what was delivered. */
export async function replay(options: ReplayOptions): Promise<ReplaySummary> {
  return runReplay(await planReplay(options), options);
}

/** Runs a checked plan (planReplay's). */
export function runReplay(plan: ReplayPlan, hooks: ReplayHooks): Promise<ReplaySummary> {
  return new ReplayRun(plan, hooks).run();
}

type Stop = ReplaySummary['stoppedBy'];

/** One replay's state, from the first record to the summary. */
class ReplayRun {
  private readonly sourceOptions: SourceOptions;
  private readonly schedule: Schedule;
  private readonly builder: MessageBuilder;
  private readonly pacer = new Pacer();
  private readonly writer: CheckpointWriter | undefined;
  private connection!: ReplayKafka;
  private sink!: KafkaSink;
  private stats!: ReplayStats;
  private started = 0;
  private source: Source | undefined;
  private pass = 0;
  /** Source index of the first entry of this pass not yet delivered: where a checkpoint resumes. */
  private nextIndex = 0;
  /** Entries before this one were done by an earlier run, or come before --from. */
  private startIndex = 0;
  /** After the last entry read. */
  private indexEnd = 0;
  private countInPass = 0;
  private runId: string = randomUUID();
  /** Each partition's end offset (a checkpoint's): records of this run beyond them came later. */
  private offsets: Record<string, string> = {};
  /** `${pass}:${index}` of the records found in Kafka on resume. */
  private alreadyDelivered = new Set<string>();
  private recovered = 0;
  private resumedAfter: number | undefined;
  private stoppedBy: Stop = 'end';
  /** Progress counts what was handled, not what was read: reading runs up to a chunk ahead of the sending. */
  private handledBytes = 0;

  constructor(
    private readonly plan: ReplayPlan,
    private readonly hooks: ReplayHooks,
  ) {
    this.sourceOptions = { ...plan.source, signal: hooks.signal };
    this.schedule = new Schedule(plan.pace);
    this.builder = new MessageBuilder(plan, this.schedule);
    this.writer = plan.checkpoint ? new CheckpointWriter(plan.checkpoint) : undefined;
  }

  async run(): Promise<ReplaySummary> {
    // A file opens first, so that a missing or empty one is reported as such, not as Kafka being down. A command
    // or stdin is read only once Kafka has answered: what it printed meanwhile would be lost.
    this.source = this.plan.opensBeforeKafka ? await openSource(this.sourceOptions) : undefined;
    // (Deliveries start only after the first send, once the stats exist.)
    this.connection = await connect(this.plan, {
      onDelivered: (done) => this.delivered(done),
      commit: this.writer ? () => this.saveCheckpoint() : undefined,
    }).catch((error: unknown) => {
      this.source?.close();
      throw error;
    });
    this.sink = this.connection.sink;
    this.started = Date.now();
    this.stats = new ReplayStats(this.started, this.plan.pace, this.plan.limit);
    const progress = setInterval(() => this.progress(), 250);
    const stopNoting = this.noteWhyStoppingWaits();
    const figures = publishReplayFigures({ ...this.connection, row: (now) => this.figures(now) });
    try {
      await this.resume();
      await this.passes();
    } catch (error) {
      throw await this.failed(error);
    } finally {
      stopNoting();
      clearInterval(progress);
      // The last figures, whatever ended the replay: a live line left at its last tick would show fewer sent.
      this.progress();
      this.source?.close();
      await this.sink.close();
      await figures.stop();
      await this.connection.admin.disconnect().catch(() => undefined);
    }
    return this.summary();
  }

  /** Where a checkpoint says the replay stands, and what a crashed run delivered after it. */
  private async resume(): Promise<void> {
    const { plan } = this;
    this.startIndex = plan.from ?? 0;
    if (plan.checkpoint) {
      const source = (this.source ??= await openSource(this.sourceOptions));
      const { kafka, admin } = this.connection;
      const saved = await readCheckpoint(plan.checkpoint);
      if (saved) {
        checkCheckpoint(plan.checkpoint, saved, source.name, source.totalBytes, plan.topic);
        this.startIndex = Math.max(this.startIndex, saved.nextIndex);
        this.pass = saved.pass;
        this.runId = saved.runId;
        this.resumedAfter = saved.nextIndex;
        this.hooks.onNote?.(
          `Resuming from ${plan.checkpoint}: the first ${plural(saved.nextIndex, 'record')} of ${source.name}${saved.pass > 0 ? ` (pass ${saved.pass + 1})` : ''} were done by an earlier run.`,
        );
        this.alreadyDelivered = await deliveredAfter(kafka, admin, plan.topic, saved.offsets, saved.runId);
      }
      this.offsets = await endOffsets(admin, plan.topic);
      this.builder.runId = this.runId;
    }
    this.nextIndex = this.startIndex;
    this.sink.startAt(this.startIndex);
  }

  /** The source once, or again and again with --loop, then everything delivered and the checkpoint saved. */
  private async passes(): Promise<void> {
    const { plan, sink } = this;
    for (;;) {
      const source = (this.source ??= await openSource(this.sourceOptions));
      this.stats.totalBytes = plan.loop ? undefined : source.totalBytes;
      this.stoppedBy = await this.readPass(source);
      if (this.stoppedBy !== 'end') break;
      await sink.drain();
      if (!plan.loop || this.hooks.signal.aborted) {
        if (this.hooks.signal.aborted) this.stoppedBy = 'interrupt';
        break;
      }
      if (this.pass === 0) this.schedule.endFirstPass();
      if (this.countInPass === 0) break; // an empty pass would loop forever
      this.pass++;
      this.countInPass = 0;
      this.startIndex = 0;
      this.nextIndex = 0;
      sink.startAt(0);
      source.close();
      this.source = undefined;
    }
    await sink.drain();
    if (plan.from !== undefined && plan.from > this.indexEnd && this.pass === 0 && this.stoppedBy === 'end') {
      throw new UsageError(
        `--from ${plan.from} is past the end of ${this.source?.name ?? 'the source'}, which holds ${plural(this.indexEnd, 'record')}: nothing was sent.`,
      );
    }
    await this.saveCheckpoint(true);
  }

  /**
   * One pass over the source: each entry made a message, paced and appended to the sink, which sends a batch's
   * worth at a time. The per-record path allocates nothing and awaits only to wait, to send or at a bad record.
   */
  private async readPass(source: Source): Promise<Stop> {
    const { sink, stats, builder, pacer, plan } = this;
    const { signal } = this.hooks;
    const message = builder.message;
    const chunks = source.live
      ? withPauses(source.batches, () => sink.pause(), signal, BATCH_WINDOW_MS)
      : source.batches;
    for await (const items of chunks) {
      // The records' create time: read once per chunk at full speed (a chunk takes about a millisecond), again
      // after anything that waits.
      let now = Date.now();
      for (const item of items) {
        if (signal.aborted) return 'interrupt';
        this.indexEnd = item.index + 1;
        if (item.index < this.startIndex) {
          // Done by an earlier run (or before --from): not part of what this one has left, for its ETA.
          if (stats.totalBytes !== undefined && !source.gzipped) stats.totalBytes -= item.end - item.start + 1;
          continue;
        }
        if (this.alreadyDelivered.size > 0 && this.alreadyDelivered.delete(`${this.pass}:${item.index}`)) {
          this.recovered++;
          sink.passOver(item);
          continue;
        }
        this.countInPass++;
        const problem =
          builder.build(item, this.pass, source.format) ?? sink.tooLarge(message.key, message.value, message.headers);
        if (problem !== undefined) {
          const outcome = sink.reject(item, problem, source.name);
          if (outcome === 'skip') stats.skipped++;
          else if (outcome === 'stop') await this.stopAt(item, problem, source);
          continue;
        }
        pacer.leaving(now);
        if (message.dueMs !== 0) {
          now = Date.now();
          const wait = pacer.waitMs(message.dueMs, now);
          if (wait > 0) {
            await sink.send();
            await sleep(wait, signal);
            if (signal.aborted) return 'interrupt';
            now = Date.now();
          }
        }
        stats.queuedAt(now);
        sink.append(message.key, message.value, message.headers, now);
        sink.passOver(item);
        // At once: a live source need not say more for the replay to end.
        if (plan.limit !== undefined && stats.queued >= plan.limit) return 'limit';
        if (sink.full) {
          await sink.send();
          now = Date.now();
        }
      }
    }
    return 'end';
  }

  /** A bad record stops the replay: what came before it is delivered, and a resume starts at it. */
  private async stopAt(item: SourceItem, reason: string, source: Source): Promise<never> {
    await this.sink.drain();
    this.nextIndex = item.index;
    await this.saveCheckpoint(true);
    throw badRecord(source.name, item, reason, this.stats.sent);
  }

  /** Kafka acknowledges the sends in order: what was delivered is always a prefix of the source. */
  private delivered(done: Span): void {
    this.stats.delivered(done.sent, Date.now());
    this.stats.deadLettered += done.deadLettered;
    this.handledBytes += done.fileBytes;
    this.nextIndex = done.nextIndex;
  }

  private async saveCheckpoint(force = false): Promise<void> {
    const { source, writer } = this;
    if (!writer?.due(force) || !source) return;
    // Where the delivered records end in each partition: anything later of this run lies beyond, where a
    // resume reads back.
    Object.assign(this.offsets, this.sink.deliveredOffsets());
    await writer.save({
      source: source.name,
      size: source.totalBytes,
      topic: this.plan.topic,
      nextIndex: this.nextIndex,
      pass: this.pass,
      sent: this.stats.sent,
      runId: this.runId,
      offsets: this.offsets,
    });
  }

  /** What to throw for what stopped the replay, once what can still be delivered and saved was. */
  private async failed(error: unknown): Promise<unknown> {
    const { plan, stats, sink } = this;
    if (sink.failure || (error as { name?: string }).name?.startsWith('Kafka')) {
      await sink.settled();
      await this.saveCheckpoint(true).catch(() => undefined);
      // Counted from Kafka's acknowledgements: a failed send may have had some of its batches written.
      return kafkaFailed(plan.config, plan.topic, error, sink.acknowledged(), plan.checkpoint);
    }
    if (error instanceof UserError && error.code === 'CHECKPOINT_UNWRITABLE') {
      // Kafka's answers, not the checkpoint, say what was delivered.
      return new UserError(`${error.message}. Delivered before that: ${plural(stats.sent, 'record')}.`, {
        code: error.code,
        nextSteps: error.nextSteps,
        details: { sent: stats.sent },
      });
    }
    if (error instanceof UserError && (error.code === 'SOURCE_MALFORMED' || error.code === 'SOURCE_COMMAND_FAILED')) {
      // The rest of the source cannot be read: deliver what came before, as a bad record does.
      await sink.drain();
      await this.saveCheckpoint(true);
      return new UserError(
        `${error.message.replace(/\.$/, '')}. Stopped after delivering ${plural(stats.sent, 'record')}.`,
        {
          code: error.code,
          nextSteps: error.nextSteps,
          details: { sent: stats.sent },
        },
      );
    }
    return error;
  }

  /** Interrupted, the records in flight are still delivered: says why stopping takes a while when it does. */
  private noteWhyStoppingWaits(): () => void {
    const { signal, onNote } = this.hooks;
    const { checkpoint } = this.plan;
    let stopping: NodeJS.Timeout | undefined;
    const sayWhy = () => {
      stopping = setTimeout(
        () =>
          onNote?.(
            `Waiting for Kafka to acknowledge the records in flight (up to ${RECOVERY_MS / 1000} s while it does not answer); Ctrl-C again stops at once${checkpoint ? `, and ${checkpoint} still resumes with nothing sent twice` : ''}.`,
          ),
        1000,
      );
    };
    signal.addEventListener('abort', sayWhy, { once: true });
    return () => {
      signal.removeEventListener('abort', sayWhy);
      clearTimeout(stopping);
    };
  }

  private progress(): void {
    const { source } = this;
    if (source) this.stats.bytesDone = source.gzipped ? source.bytesRead() : this.handledBytes;
    this.hooks.onProgress?.(this.stats);
  }

  /** What pbx top shows of this replay. */
  private figures(now: number) {
    const { plan, stats, source } = this;
    return {
      topic: plan.topic,
      source: source?.name ?? plan.source.path ?? plan.source.exec ?? '',
      targetRate: stats.targetRate ?? null,
      achievedRate: Math.round(stats.currentRate(now) * 1000) / 1000,
      sent: stats.sent,
      total: plan.limit ?? null,
      startedAt: this.started,
    };
  }

  private summary(): ReplaySummary {
    const { plan, stats, source } = this;
    const now = Date.now();
    return {
      source: source?.name ?? plan.source.path ?? '',
      format: source?.format ?? '',
      topic: plan.topic,
      sent: stats.sent,
      skipped: stats.skipped,
      deadLettered: stats.deadLettered,
      recovered: this.recovered,
      resumedAfter: this.resumedAfter,
      outOfOrder: this.schedule.outOfOrder,
      passes: this.pass + 1,
      nextIndex: this.nextIndex,
      elapsedMs: now - this.started,
      targetRate: stats.targetRate,
      achievedRate: stats.overallRate(now),
      stoppedBy: this.stoppedBy,
      checkpoint: plan.checkpoint,
    };
  }
}

function badRecord(source: string, item: SourceItem, reason: string, sent: number): UserError {
  const text = textOf(item);
  const where = item.line > 0 ? `${source}:${item.line}` : `${source}: element ${item.index}`;
  return new UserError(`${where}: ${reason}. Stopped after delivering ${plural(sent, 'record')}.`, {
    code: 'BAD_RECORD',
    hint: text.length > 200 ? `${text.slice(0, 200)}…` : text,
    nextSteps: [
      // A lone "{" on the first line: pretty-printed JSON, which NDJSON's one value per line cannot be.
      ...(item.line === 1 && text.trim() === '{'
        ? [`This is JSON spread over lines; pbx reads one value per line: \`jq -c . ${source} > one-per-line.json\`.`]
        : []),
      'Fix the record, or replay with `--on-error skip` (count and go on) or `--on-error dead-letter --dead-letter-topic T`.',
    ],
    details: { line: item.line, index: item.index, sent },
  });
}
