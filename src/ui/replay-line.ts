// The replay's live figures as text, without Ink: the plain progress line and the summary use them, and
// importing Ink here would load it at start-up for every command.
import type { Pace } from '../replay/pacing';
import type { ReplayStats } from '../replay/stats';

export interface ReplayLineProps {
  topic: string;
  sent: number;
  skipped: number;
  deadLettered: number;
  elapsedMs: number;
  /** What the rate is held to: "target 2.00/s", "target max", "time × 3600" (the records' own pace). */
  target: string;
  currentRate: number;
  etaSeconds?: number;
}

export function formatRate(rate: number): string {
  if (rate >= 100) return Math.round(rate).toLocaleString('en-US');
  // Below 0.01 (--rate 0.001: one record every 1000 s), two significant digits instead of "0.00".
  return rate > 0 && rate < 0.01 ? String(Number(rate.toPrecision(2))) : rate.toFixed(rate >= 10 ? 1 : 2);
}

/** The props of the live line from the replay's running figures. */
export function replayLineProps(topic: string, stats: ReplayStats, now = Date.now()): ReplayLineProps {
  return {
    topic,
    sent: stats.sent,
    skipped: stats.skipped,
    deadLettered: stats.deadLettered,
    elapsedMs: stats.elapsedMs(now),
    target: targetOf(stats.pace),
    currentRate: stats.currentRate(now),
    etaSeconds: stats.etaSeconds(now),
  };
}

function targetOf(pace: Pace): string {
  switch (pace.kind) {
    case 'max':
      return 'target max';
    case 'rate':
      return `target ${formatRate(pace.perSecond)}/s`;
    case 'event-time':
      return `${pace.field} × ${pace.speed}`;
  }
}
