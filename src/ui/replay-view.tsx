import { Text, render } from 'ink';
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

/** One live line: target vs achieved rate, counts, elapsed and ETA (props in, text out). */
export function ReplayLine(props: ReplayLineProps) {
  const target = props.targetRate === undefined ? 'max' : `${formatRate(props.targetRate)}/s`;
  return (
    <Text>
      <Text bold>replay → {props.topic}</Text> {formatRate(props.currentRate)}/s (target {target}) · sent{' '}
      <Text color="green">{props.sent}</Text>
      {props.skipped > 0 ? <Text color="yellow"> · skipped {props.skipped}</Text> : null}
      {props.deadLettered > 0 ? <Text color="yellow"> · dead-lettered {props.deadLettered}</Text> : null} ·{' '}
      {formatDuration(props.elapsedMs / 1000)}
      {props.etaSeconds !== undefined ? ` · ETA ${formatDuration(props.etaSeconds)}` : ''}
    </Text>
  );
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

/** Shows the live line on a terminal until `stop()`. */
export function startReplayView(topic: string): { update: (stats: ReplayStats) => void; stop: () => void } {
  const app = render(<Text>replay → {topic}: connecting…</Text>, {
    exitOnCtrlC: false,
    patchConsole: false,
    stdout: process.stderr,
  });
  return {
    update: (stats) => app.rerender(<ReplayLine {...replayLineProps(topic, stats)} />),
    stop: () => app.unmount(),
  };
}
