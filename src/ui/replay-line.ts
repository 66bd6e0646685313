// The replay's live figures as text, without Ink: the plain progress line and the summary use them, and
// importing Ink here would load it at start-up for every command.
import type { ReplayStats } from '../replay/stats';

export interface ReplayLineProps {
  topic: string;
  sent: number;
  skipped: number;
  deadLettered: number;
  elapsedMs: number;
  targetRate?: number;
  currentRate: number;
  etaSeconds?: number;
}

export function formatRate(rate: number): string {
  return rate >= 100 ? Math.round(rate).toLocaleString('en-US') : rate.toFixed(rate >= 10 ? 1 : 2);
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m < 60 ? `${m} min ${s} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** The props of the live line from the replay's running figures. */
export function replayLineProps(topic: string, stats: ReplayStats, now = Date.now()): ReplayLineProps {
  return {
    topic,
    sent: stats.sent,
    skipped: stats.skipped,
    deadLettered: stats.deadLettered,
    elapsedMs: stats.elapsedMs(now),
    targetRate: stats.targetRate,
    currentRate: stats.currentRate(now),
    etaSeconds: stats.etaSeconds(now),
  };
}
