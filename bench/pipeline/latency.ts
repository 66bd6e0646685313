// --mode latency's figures: what a live `pbx run` publishes once a second to the project's figures topic, read with
// the runtime's own reader, kept per snapshot, and summed up over the seconds records were sent.
import type { Admin } from 'kafkajs';
import type { KafkaEndpoint } from '../../src/clients/kafka';
import type { PipelineFigures } from '../../src/pipelines/runtime/figures';
import { readFigures } from '../../src/pipelines/runtime/figures-topic';

export interface FiguresWatch {
  /** Every snapshot of the pipeline's replica heard so far, oldest first. */
  snapshots: PipelineFigures[];
  latest(): PipelineFigures | undefined;
  stop(): Promise<void>;
}

/** Follows one pipeline's figures (its one replica), keeping each new snapshot. */
export async function watchFigures(endpoint: KafkaEndpoint, admin: Admin, pipeline: string): Promise<FiguresWatch> {
  const reader = await readFigures({ endpoint, admin, pipeline });
  const snapshots: PipelineFigures[] = [];
  const keep = () => {
    for (const snapshot of reader.replicas())
      if (snapshot.time > (snapshots.at(-1)?.time ?? 0)) snapshots.push(snapshot);
  };
  const timer = setInterval(keep, 200);
  return {
    snapshots,
    latest: () => (keep(), snapshots.at(-1)),
    stop: async () => {
      clearInterval(timer);
      keep();
      await reader.close();
    },
  };
}

export interface LatencyFigures {
  /** Records the pipeline read per second: the median of the seconds the replay sent in (the first and last left out). */
  readPerSecond: number;
  /** Results acknowledged by the sink over the run, with the end-to-end percentiles over all of them (ms). */
  run: PipelineFigures['endToEnd']['run'];
  /** Each second's p99 (ms), over the seconds that acknowledged results from the replay's start to the stop. */
  lastSecondP99s: number[];
}

/** The run's figures from its snapshots up to the stop; `from`–`to`: when the replay sent. */
export function latencyFigures(snapshots: PipelineFigures[], from: number, to: number): LatencyFigures {
  const final = snapshots.at(-1);
  if (!final) throw new Error('the pipeline published no figures');
  const since = snapshots.filter((s) => s.time > from);
  const sending = since.filter((s) => s.time <= to).map((s) => s.consumed.perSecond);
  return {
    readPerSecond: median(sending.length > 2 ? sending.slice(1, -1) : sending),
    run: final.endToEnd.run,
    lastSecondP99s: since.filter((s) => s.endToEnd.lastSecond.count > 0).map((s) => s.endToEnd.lastSecond.p99),
  };
}

function median(values: number[]): number {
  return values.length === 0 ? 0 : [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

/** The last-second p99s as a distribution: median, 90th percentile, largest, and how many seconds were over `goal`. */
export function describeP99s(p99s: number[], goal: number): string {
  if (p99s.length === 0) return 'none';
  const sorted = [...p99s].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1);
  const over = sorted.filter((p) => p > goal).length;
  return `${at(0.5)} / ${at(0.9)} / ${sorted.at(-1)!.toFixed(1)}; ${over} of ${sorted.length} s over ${goal} ms`;
}
