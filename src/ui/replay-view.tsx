import { Static, Text, render } from 'ink';
import type { ReactNode } from 'react';
import type { ReplayStats } from '../replay/stats';
import { formatDuration } from '../cli/output';
import { formatRate, replayLineProps, type ReplayLineProps } from './replay-line';

/** One live line: target vs achieved rate, counts, elapsed and ETA (props in, text out). */
export function ReplayLine(props: ReplayLineProps) {
  return (
    <Text>
      <Text bold>replay → {props.topic}</Text> {formatRate(props.currentRate)}/s ({props.target}) · sent{' '}
      <Text color="green">{props.sent}</Text>
      {props.skipped > 0 ? <Text color="yellow"> · skipped {props.skipped}</Text> : null}
      {props.deadLettered > 0 ? <Text color="yellow"> · dead-lettered {props.deadLettered}</Text> : null} ·{' '}
      {formatDuration(props.elapsedMs)}
      {props.etaSeconds !== undefined ? ` · ETA ${formatDuration(props.etaSeconds * 1000)}` : ''}
    </Text>
  );
}

/** What a replay shows while it runs: its figures, notes about it, until it stops. */
export interface ReplayView {
  update: (stats: ReplayStats) => void;
  note: (text: string) => void;
  stop: () => void;
}

/** Shows the live line on a terminal until `stop()`; notes stay above it, written once. */
export function startReplayView(topic: string): ReplayView {
  const notes: string[] = [];
  let line: ReactNode = <Text>replay → {topic}: connecting…</Text>;
  const view = () => (
    <>
      <Static items={[...notes]}>{(note, i) => <Text key={i}>{note}</Text>}</Static>
      {line}
    </>
  );
  const app = render(view(), { exitOnCtrlC: false, patchConsole: false, stdout: process.stderr });
  return {
    update: (stats) => {
      line = <ReplayLine {...replayLineProps(topic, stats)} />;
      app.rerender(view());
    },
    note: (text) => {
      notes.push(text);
      app.rerender(view());
    },
    stop: () => app.unmount(),
  };
}
