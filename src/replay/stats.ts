/** Counters and rates of a running replay, read by the live view and the summary. */
export class ReplayStats {
  sent = 0;
  skipped = 0;
  deadLettered = 0;
  /** Bytes of the file handled so far (sent, skipped or dead-lettered), against totalBytes for the ETA. */
  bytesDone = 0;
  totalBytes: number | undefined;
  private readonly samples: Array<{ at: number; sent: number }> = [];

  constructor(
    readonly startedAt: number,
    readonly targetRate: number | undefined,
  ) {}

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

  /** Records per second since the start. */
  overallRate(now: number): number {
    const seconds = this.elapsedMs(now) / 1000;
    return seconds > 0 ? this.sent / seconds : 0;
  }

  /** Seconds left, from the share of the file read so far; undefined for streams of unknown size. */
  etaSeconds(now: number): number | undefined {
    if (!this.totalBytes || this.bytesDone === 0) return undefined;
    const fraction = Math.min(1, this.bytesDone / this.totalBytes);
    return (this.elapsedMs(now) / 1000) * ((1 - fraction) / fraction);
  }
}
