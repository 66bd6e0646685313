// --solve: every step's solution run as the learner would, then its check polled until it passes or its time is
// up. One report line per step; it stops at the first step that fails (the next ones build on it).
import { solutionRunner } from './actions';
import { pollCheck } from './checks';
import { loadProgress, markDone, newProgress, saveProgress } from './progress';
import { projectServices } from './services';
import type { Tutorial } from './types';

export interface SolvedStep {
  id: string;
  title: string;
  status: 'passed' | 'failed' | 'not run';
  expected?: string;
  found?: string;
  elapsedMs?: number;
}

export interface SolveReport {
  tutorial: string;
  dir: string;
  ok: boolean;
  steps: SolvedStep[];
  elapsedMs: number;
}

/** Runs each step's solution and check in the project at `dir`; `onLine` hears what is being done. */
export async function solveTutorial(options: {
  tutorial: Tutorial;
  dir: string;
  signal: AbortSignal;
  onLine?: (line: string) => void;
  onStep?: (step: SolvedStep, index: number) => void;
}): Promise<SolveReport> {
  const { tutorial, dir, signal } = options;
  const started = Date.now();
  const runner = solutionRunner({ tutorial: tutorial.name, dir, onLine: options.onLine, signal });
  const context = { dir, services: projectServices(dir), memo: new Map<string, unknown>() };
  const steps: SolvedStep[] = tutorial.steps.map((s) => ({ id: s.id, title: s.title, status: 'not run' }));
  let progress = loadProgress(dir, tutorial.name) ?? newProgress(tutorial.name);
  try {
    for (const [index, step] of tutorial.steps.entries()) {
      if (signal.aborted) break;
      const stepStarted = Date.now();
      let result;
      try {
        for (const action of step.solution) await runner.run(action);
        result = await pollCheck(step, context, { timeoutMs: step.solveTimeoutMs ?? 120_000, signal });
      } catch (error) {
        result = { ok: false, expected: step.expects, found: (error as Error).message };
      }
      steps[index] = {
        ...steps[index]!,
        status: result.ok ? 'passed' : 'failed',
        expected: result.expected,
        found: result.found,
        elapsedMs: Date.now() - stepStarted,
      };
      options.onStep?.(steps[index], index);
      if (!result.ok) break;
      progress = markDone(progress, index, step.id);
      saveProgress(dir, progress);
    }
  } finally {
    await runner.stopAll();
    await context.services.close();
  }
  return {
    tutorial: tutorial.name,
    dir,
    ok: steps.every((s) => s.status === 'passed'),
    steps,
    elapsedMs: Date.now() - started,
  };
}
