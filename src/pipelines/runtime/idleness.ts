// When a source partition stops holding stage B's watermark back (pure). A live run's watermark is the least of
// the source partitions' markers, so one that gets no records (a keyed replay that fills only some partitions, a
// quiet producer) would keep every window open for good. A partition this worker has read to its end, with
// nothing new for the idle time, is marked idle and leaves the minimum until it has records again; records it
// then gets behind the watermark are late (Flink's withIdleness makes the same trade).

/** `--idle-timeout`'s default: long enough that a replay at a few records a second keeps its partitions active. */
export const IDLE_TIMEOUT_DEFAULT = '10s';

/** Where a source partition is: the next offset this worker reads, and the last a read_committed reader can reach. */
export interface SourceProgress {
  position: bigint;
  end: bigint;
}

/** Whether a source partition has nothing to read now. */
export function caughtUp(progress: SourceProgress | undefined): boolean {
  return progress !== undefined && progress.position >= progress.end;
}

/**
 * A partition's progress from what Kafka says. `tracked`: where this worker's last batch of it ended, if it had one;
 * `committed`: the group's offset (-1: none); `low`/`end`: the partition's first offset and its last stable one.
 */
export function sourceProgress(options: {
  tracked?: bigint;
  committed: bigint;
  low: bigint;
  end: bigint;
  from: 'earliest' | 'latest';
}): SourceProgress {
  const { tracked = -1n, committed, low, end, from } = options;
  let position = tracked > committed ? tracked : committed;
  // No offset, or one Kafka no longer holds: the consumer starts where --start says.
  if (position < low) position = from === 'earliest' ? low : end;
  return { position, end };
}

interface Clock {
  /** The last time the partition was assigned here or had a batch of records: its idle time counts from there. */
  since: number;
  idle: boolean;
}

/** The idle clocks of the source partitions one worker reads. */
export class Idleness {
  private readonly clocks = new Map<string, Clock>();

  /** `idleMs`: how long a partition with nothing to read stays active; Infinity: never idle. */
  constructor(readonly idleMs: number) {}

  /** The source partitions assigned to this worker now; a newly assigned one starts its clock at `now`. */
  assigned(sources: Iterable<string>, now: number): void {
    const kept = new Set(sources);
    for (const source of this.clocks.keys()) if (!kept.has(source)) this.clocks.delete(source);
    for (const source of kept) if (!this.clocks.has(source)) this.clocks.set(source, { since: now, idle: false });
  }

  /** A batch of the partition's records begins or ends: it is active, and its clock starts again. */
  active(source: string, now: number): void {
    this.clocks.set(source, { since: now, idle: false });
  }

  /** Partitions active but with no batch for the idle time: idle if they are caught up (see `toMark`). */
  due(now: number): string[] {
    const due: string[] = [];
    for (const [source, clock] of this.clocks) if (!clock.idle && now - clock.since >= this.idleMs) due.push(source);
    return due;
  }

  /**
   * Of the partitions still due now, those caught up by `progress`. Progress is read between `due` and this call:
   * a partition with a batch meanwhile is no longer due, so a batch in flight is never taken for idleness.
   */
  toMark(progress: Map<string, SourceProgress>, now: number): string[] {
    return this.due(now).filter((source) => caughtUp(progress.get(source)));
  }

  /** The markers saying these partitions are idle were sent. */
  marked(sources: Iterable<string>): void {
    for (const source of sources) {
      const clock = this.clocks.get(source);
      if (clock) clock.idle = true;
    }
  }

  isIdle(source: string): boolean {
    return this.clocks.get(source)?.idle ?? false;
  }
}
