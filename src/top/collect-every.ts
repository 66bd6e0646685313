import { sleep } from '../async';
import type { Collector } from './collect';
import type { Snapshot } from './snapshot';

/** The one refresh interval of pbx top: the screen, --watch and the rates all move a second at a time. */
export const REFRESH_MS = 1000;

/**
 * Snapshots a refresh apart until `signal` aborts, each with its rates: the first is collected one refresh after a
 * first look, so that even one snapshot (`--json`) has rates measured over at least a second.
 */
export async function* snapshotsEvery(
  collector: Collector,
  options: { signal: AbortSignal; everyMs?: number; now?: () => number },
): AsyncGenerator<Snapshot> {
  const { signal, everyMs = REFRESH_MS, now = Date.now } = options;
  let next = (await collector.collect()).time + everyMs;
  while (!signal.aborted) {
    await sleep(Math.max(0, next - now()), signal);
    if (signal.aborted) return;
    const snapshot = await collector.collect();
    // A refresh that took longer than the interval starts the next at once, not a burst of them.
    next = Math.max(next + everyMs, snapshot.time);
    yield snapshot;
  }
}
