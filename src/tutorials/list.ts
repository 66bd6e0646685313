// `pbx tutorial`: what there is to learn, how long each takes and how far the learner got.
import { TUTORIALS } from './catalog';
import { loadProgress } from './progress';
import { tutorialDir } from './project';

export interface TutorialRow {
  name: string;
  title: string;
  after: string;
  steps: number;
  minutes: number;
  /** Where its project is and how far it got; absent when not started. */
  progress?: { dir: string; step: number; done: number; finished: boolean };
}

/** Every tutorial, with its progress (found as `pbx tutorial <name>` would find its project). */
export function listTutorials(cwd = process.cwd()): TutorialRow[] {
  return TUTORIALS.map((t): TutorialRow => {
    const dir = tutorialDir(t.name, undefined, cwd);
    const saved = loadProgress(dir, t.name);
    return {
      name: t.name,
      title: t.title,
      after: t.after,
      steps: t.steps.length,
      minutes: t.minutes,
      ...(saved
        ? {
            progress: {
              dir,
              step: saved.step,
              done: saved.done.length,
              finished: saved.step >= t.steps.length,
            },
          }
        : {}),
    };
  });
}

/** The PROGRESS column: "3 of 6 steps done, on step 4", "finished", "not started". */
export function progressText(row: TutorialRow): string {
  const p = row.progress;
  if (!p) return 'not started';
  if (p.finished) return `finished (${p.done} of ${row.steps} checked)`;
  return `${p.done} of ${row.steps} done, on step ${p.step + 1}`;
}
