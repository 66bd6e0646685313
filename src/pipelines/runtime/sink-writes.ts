// Cassandra, Redis and stdout writes of one batch, before its transaction commits: a sink that is down is retried with
// backoff (the group membership kept alive meanwhile) and nothing is committed past it; a value a sink cannot
// take follows --on-error. Past the sink time-out the run ends with exit 3, and resumes later with nothing lost.
import { sleep } from '../../async';
import { ExitCode, UserError } from '../../cli/errors';
import { formatDuration } from '../../cli/output';
import { SinkDownError, SinkRecordError, type RecordFailure } from '../sinks/errors';
import type { SinkWrite, SinkWriter } from '../sinks/types';
import { RecordProblem } from './messages';
import type { RunFigures } from './run-figures';

export interface SinkWriteOptions {
  sinks: Array<SinkWriter | undefined>;
  sinkTimeoutMs: number;
  figures: RunFigures;
  note: (text: string) => void;
}

/** Writes each sink's share of a batch; `recordFailed` returns true when a refused value stops the run. */
export async function writeSinks(
  options: SinkWriteOptions,
  writes: SinkWrite[][],
  group: { heartbeat(): Promise<void> },
  recordFailed: (write: SinkWrite, problem: RecordProblem) => boolean,
): Promise<void> {
  for (let i = 0; i < writes.length; i++) {
    const sink = options.sinks[i];
    const batch = writes[i]!;
    if (!sink || batch.length === 0) continue;
    for (const refused of await writeRetrying(options, sink, batch, group)) {
      const problem = new RecordProblem(sink.name, `${sink.name} refused it: ${refused.reason}`);
      if (recordFailed(refused.write, problem)) throw new SinkRefused(refused.write, problem);
    }
    for (const warning of sink.takeWarnings()) options.note(warning);
  }
}

/** A value a sink refused stopped the run (--on-error stop). */
export class SinkRefused extends Error {
  constructor(
    readonly write: SinkWrite,
    readonly problem: RecordProblem,
  ) {
    super(problem.message);
  }
}

async function writeRetrying(
  options: SinkWriteOptions,
  sink: SinkWriter,
  batch: SinkWrite[],
  group: { heartbeat(): Promise<void> },
): Promise<RecordFailure[]> {
  return whileDown(options, sink.name, group, async () => {
    const started = Date.now();
    try {
      // A write may wait long: on a slow Cassandra, or on stdout's reader (a pager, a paused `| less`).
      await stayingInGroup(group, () => sink.write(batch));
    } catch (error) {
      if (error instanceof SinkRecordError) return error.failures;
      throw error;
    }
    options.figures.sinkWrote(sink.name, batch, Date.now() - started);
    return [];
  });
}

/** Runs `work`, heartbeating meanwhile: work longer than the session timeout keeps the worker in its group. */
export async function stayingInGroup<T>(group: { heartbeat(): Promise<void> }, work: () => Promise<T>): Promise<T> {
  const heartbeat = setInterval(() => void group.heartbeat().catch(() => undefined), 1000);
  try {
    return await work();
  } finally {
    clearInterval(heartbeat);
  }
}

/**
 * Runs `attempt` again with backoff for as long as it fails with SinkDownError, up to --sink-timeout (then exit 3),
 * keeping the group membership alive meanwhile and saying when the sink went down and when it came back.
 */
export async function whileDown<T>(
  options: Pick<SinkWriteOptions, 'sinkTimeoutMs' | 'figures' | 'note'>,
  name: string,
  group: { heartbeat(): Promise<void> } | undefined,
  attempt: () => Promise<T>,
): Promise<T> {
  const since = Date.now();
  let delay = 200;
  for (;;) {
    try {
      const result = await attempt();
      if (options.figures.sinkDown(name, false))
        options.note(`${name} is back after ${formatDuration(Date.now() - since)}.`);
      return result;
    } catch (error) {
      if (!(error instanceof SinkDownError)) throw error;
      const down = Date.now() - since;
      const news = options.figures.sinkDown(name, true);
      if (down >= options.sinkTimeoutMs) {
        throw new UserError(`${name} has not answered for ${formatDuration(down)}: ${error.message}.`, {
          code: 'SINK_UNAVAILABLE',
          exitCode: ExitCode.unhealthy,
          hint: 'Nothing was committed past the last batch it acknowledged: a later run goes on from there, with nothing lost.',
          nextSteps: [
            'Check the service (`pbx status`), then run the pipeline again.',
            'Wait longer with --sink-timeout.',
          ],
          cause: error,
        });
      }
      if (news) options.note(`${name} is down (${error.message}): retrying; nothing is committed past it.`);
      await group?.heartbeat();
      await sleep(delay);
      delay = Math.min(delay * 2, 5000);
    }
  }
}
