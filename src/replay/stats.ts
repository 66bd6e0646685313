import type { Pace } from './pacing';

/** Counters and rates of a running replay, read by the live view and the summary. */
export class ReplayStats {
  sent = 0;
  skipped = 0;
  deadLettered = 0;
  /** Bytes of the file handled so far (sent, skipped or dead-lettered), against totalBytes for the ETA. */
  bytesDone = 0;
  totalBytes: number | undefined;
  private readonly samples: Array<{ at: number; sent: number }> = [];
  /** Records handed to Kafka so far (what --limit counts), and the first and last one's create time. */
  queued = 0;
  private firstQueuedAt = 0;
  private lastQueuedAt = 0;

  constructor(
    readonly startedAt: number,
    readonly pace: Pace,
    /** --limit: the replay stops after this many records, whatever is left of the file. */
    readonly limit?: number,
  ) {}

  get targetRate(): number | undefined {
    return this.pace.kind === 'rate' ? this.pace.perSecond : undefined;
  }

  /** Records that a record was handed to Kafka, stamped `now`. */
  queuedAt(now: number): void {
    if (this.queued++ === 0) {
      this.firstQueuedAt = now;
      // The current rate counts from here: with a sample only at each delivery, the first frames said 0/s.
      this.samples.push({ at: now, sent: 0 });
    }
    this.lastQueuedAt = now;
  }

  /** Records that records were delivered (acknowledged by Kafka). */
  delivered(count: number, now: number): void {
    this.sent += count;
    this.samples.push({ at: now, sent: this.sent });
    // Keep about the last five seconds for the current rate.
    while (this.samples.length > 2 && now - this.samples[0]!.at > 5000) this.samples.shift();
  }

  elapsedMs(now: number): number {
    return now - this.startedAt;
  }

  /** Records per second over the last seconds (the live figure). */
  currentRate(now: number): number {
    const first = this.samples[0];
    if (!first || now - first.at < 1) return 0;
    return (this.sent - first.sent) / ((now - first.at) / 1000);
  }

  /**
   * Records per second: since the start at full speed; at a target rate, between the first and the last record's
   * create time, as a consumer sees them: record k is due k/N s after the first, so 8 records at 2/s span 3.5 s.
   */
  overallRate(now: number): number {
    if (this.targetRate !== undefined && this.lastQueuedAt > this.firstQueuedAt) {
      return (this.queued - 1) / ((this.lastQueuedAt - this.firstQueuedAt) / 1000);
    }
    const seconds = this.elapsedMs(now) / 1000;
    return seconds > 0 ? this.sent / seconds : 0;
  }

  /**
   * Seconds left, from the share of the file handled or of --limit sent, whichever ends the replay first;
   * undefined for streams of unknown size without a limit.
   */
  etaSeconds(now: number): number | undefined {
    const ofFile = this.totalBytes ? this.bytesDone / this.totalBytes : 0;
    const ofLimit = this.limit ? this.sent / this.limit : 0;
    const fraction = Math.min(1, Math.max(ofFile, ofLimit));
    if (fraction === 0) return undefined;
    return (this.elapsedMs(now) / 1000) * ((1 - fraction) / fraction);
  }
}
