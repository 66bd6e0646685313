// The replay's live figures as text, without Ink: the live view and the summary use them.
import { formatDuration, type Styler } from '../cli/output';
import type { Pace } from '../replay/pacing';
import type { ReplayStats } from '../replay/stats';
import type { ViewSpec } from './live-view';

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

/** The live view of `pbx replay`: one line on stderr, a plain line every 5 s (the first when there is a rate). */
export function replayProgress(topic: string): ViewSpec<ReplayStats> {
  return {
    to: 'stderr',
    render: (stats, style) => replayLine(replayLineProps(topic, stats), style),
    waiting: `replay → ${topic}: connecting…`,
    plainEveryMs: 5000,
  };
}

/** Target vs achieved rate, counts, elapsed and ETA: "replay → t: 2.00/s (target 2.00/s) · sent 8 · elapsed 4.0 s". */
export function replayLine(p: ReplayLineProps, style: Styler): string {
  return [
    `${style.bold(`replay → ${p.topic}`)}: ${formatRate(p.currentRate)}/s (${p.target})`,
    `sent ${style.green(String(p.sent))}`,
    p.skipped > 0 ? style.yellow(`skipped ${p.skipped}`) : undefined,
    p.deadLettered > 0 ? style.yellow(`dead-lettered ${p.deadLettered}`) : undefined,
    `elapsed ${formatDuration(p.elapsedMs)}`,
    p.etaSeconds !== undefined ? `ETA ${formatDuration(p.etaSeconds * 1000)}` : undefined,
  ]
    .filter((part) => part !== undefined)
    .join(' · ');
}

/** The props of the live line from the replay's running figures. */
function replayLineProps(topic: string, stats: ReplayStats, now = Date.now()): ReplayLineProps {
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
