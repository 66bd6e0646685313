// Where a learner is in a tutorial, saved in the tutorial's project (.pbx/tutorial.json), so that it resumes there.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const PROGRESS_FILE = '.pbx/tutorial.json';

export interface Progress {
  tutorial: string;
  /** The step the learner is on (steps.length when finished). */
  step: number;
  /** Steps whose check passed, by id. */
  done: string[];
  /** Steps moved past without their check passing. */
  skipped: string[];
  updatedAt: string;
}

export function newProgress(tutorial: string): Progress {
  return { tutorial, step: 0, done: [], skipped: [], updatedAt: new Date().toISOString() };
}

/** The progress saved in `dir`, or undefined when there is none (or it is of another tutorial, or unreadable). */
export function loadProgress(dir: string, tutorial?: string): Progress | undefined {
  const file = join(dir, PROGRESS_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const progress = JSON.parse(readFileSync(file, 'utf8')) as Progress;
    if (typeof progress.tutorial !== 'string' || typeof progress.step !== 'number') return undefined;
    if (tutorial !== undefined && progress.tutorial !== tutorial) return undefined;
    return { ...progress, done: progress.done ?? [], skipped: progress.skipped ?? [] };
  } catch {
    return undefined;
  }
}

export function saveProgress(dir: string, progress: Progress): void {
  const file = join(dir, PROGRESS_FILE);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ ...progress, updatedAt: new Date().toISOString() }, null, 2)}\n`);
}

export function removeProgress(dir: string): void {
  rmSync(join(dir, PROGRESS_FILE), { force: true });
}

/** A step passed: recorded, and the learner moved to the next one. */
export function markDone(progress: Progress, index: number, id: string): Progress {
  return {
    ...progress,
    step: Math.max(progress.step, index + 1),
    done: [...new Set([...progress.done, id])],
    skipped: progress.skipped.filter((s) => s !== id),
  };
}

/** The learner moves to `index` (skip, back); leaving a step not done for a later one records it as skipped. */
export function moveTo(progress: Progress, index: number, current: { index: number; id: string }): Progress {
  const skipping = index > current.index && !progress.done.includes(current.id);
  return {
    ...progress,
    step: index,
    skipped: skipping ? [...new Set([...progress.skipped, current.id])] : progress.skipped,
  };
}
