// The interactive tutorial on a terminal (Ink): the step, what to do, and its check asked every 0.75 s while the
// learner works in another terminal; a passing check moves on by itself half a second later. Keys: h hint, s solution,
// a apply it, r reset the step, n skip, b back, q quit. Progress is saved at every move.
import { Box, Text, render, useApp, useInput } from 'ink';
import { useEffect, useRef, useState } from 'react';
import { describeAction, solutionRunner, type SolutionRunner } from './actions';
import { checkLine, runCheck } from './checks';
import { tutorialFile } from './files';
import { markDone, moveTo, saveProgress, type Progress } from './progress';
import { writeProjectFile } from './project';
import { projectServices } from './services';
import type { CheckResult, Step, StepContext, Tutorial } from './types';

/** How often a step's check is asked (from the start of one to the start of the next): with ADVANCE_AFTER_MS and a
 * check's own time, a step moves on within two seconds of its condition coming true. */
export const CHECK_EVERY_MS = 750;
/** How long a passed check stays on screen before the next step: within two seconds of it being true in all. */
export const ADVANCE_AFTER_MS = 500;

/** One mark per step: ✓ done, » skipped, ▸ the current one, · to do. */
export function stepMarks(tutorial: Tutorial, progress: Progress, current: number): string {
  return tutorial.steps
    .map((s, i) =>
      i === current ? '▸' : progress.done.includes(s.id) ? '✓' : progress.skipped.includes(s.id) ? '»' : '·',
    )
    .join('');
}

export const KEYS = 'h hint · s solution · a apply solution · r reset step · n skip · b back · q quit';

interface ViewProps {
  tutorial: Tutorial;
  dir: string;
  initial: Progress;
  context: StepContext;
  runner: SolutionRunner;
}

/**
 * Asks a step's check every CHECK_EVERY_MS while it is shown (again when `round` changes: a reset) and calls `onPass`
 * once when it passes; a step already done when shown (gone back to) is only shown, not passed again.
 */
function useStepCheck(options: {
  step: Step | undefined;
  context: StepContext;
  alreadyDone: boolean;
  round: number;
  onPass: () => void;
}): CheckResult | undefined {
  const [result, setResult] = useState<CheckResult | undefined>();
  const { step, context } = options;
  useEffect(() => {
    setResult(undefined);
    if (!step) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ask = async () => {
      const started = Date.now();
      const found = await runCheck(step, context);
      if (stopped) return;
      setResult(found);
      if (found.ok && !options.alreadyDone) return options.onPass();
      timer = setTimeout(() => void ask(), Math.max(0, CHECK_EVERY_MS - (Date.now() - started)));
    };
    void ask();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [step, options.round]);
  return result;
}

/** Runs a step's solution for the learner, saying what it does. */
async function applySolution(step: Step, runner: SolutionRunner, say: (note: string) => void): Promise<void> {
  try {
    for (const action of step.solution) {
      say(`applying: ${describeAction(action)}`);
      await runner.run(action);
    }
    say(`applied the solution${runner.running().length > 0 ? `; running: ${runner.running().join(', ')}` : ''}`);
  } catch (error) {
    say(`the solution failed: ${(error as Error).message}`);
  }
}

/** A step as at the start: its files written again from the tutorial, and not done. */
async function resetStep(tutorial: Tutorial, dir: string, step: Step, progress: Progress): Promise<Progress> {
  for (const [path, from] of Object.entries(step.starters ?? {}))
    await writeProjectFile(dir, path, tutorialFile(tutorial.name, from));
  return {
    ...progress,
    done: progress.done.filter((id) => id !== step.id),
    skipped: progress.skipped.filter((id) => id !== step.id),
  };
}

function TutorialScreen({ tutorial, dir, initial, context, runner }: ViewProps) {
  const app = useApp();
  const [progress, setProgress] = useState(initial);
  const [index, setIndex] = useState(Math.min(initial.step, tutorial.steps.length));
  const [panel, setPanel] = useState<'none' | 'hint' | 'solution'>('none');
  const [note, setNote] = useState('');
  const [round, setRound] = useState(0);
  const progressRef = useRef(progress);
  const update = (next: Progress) => {
    progressRef.current = next;
    setProgress(next);
    saveProgress(dir, next);
  };
  const step = tutorial.steps[index];
  const show = (to: number) => {
    setIndex(to);
    setPanel('none');
    setNote('');
  };
  const go = (to: number) => {
    const bounded = Math.max(0, Math.min(tutorial.steps.length, to));
    update(
      step ? moveTo(progressRef.current, bounded, { index, id: step.id }) : { ...progressRef.current, step: bounded },
    );
    show(bounded);
  };
  const result = useStepCheck({
    step,
    context,
    round,
    alreadyDone: step !== undefined && progressRef.current.done.includes(step.id),
    onPass: () => {
      update(markDone(progressRef.current, index, step!.id));
      setTimeout(() => show(index + 1), ADVANCE_AFTER_MS);
    },
  });
  const reset = async () => {
    if (!step) return;
    update(await resetStep(tutorial, dir, step, progressRef.current));
    const files = Object.keys(step.starters ?? {});
    setNote(`step reset${files.length > 0 ? `: ${files.join(', ')} as at the start` : ''}`);
    setRound((r) => r + 1);
  };

  useInput((input, key) => {
    if (input === 'q' || (key.ctrl && input === 'c')) return app.exit();
    if (input === 'h') setPanel((p) => (p === 'hint' ? 'none' : 'hint'));
    else if (input === 's') setPanel((p) => (p === 'solution' ? 'none' : 'solution'));
    else if (input === 'a' && step) void applySolution(step, runner, setNote);
    else if (input === 'r') void reset();
    else if (input === 'n') go(index + 1);
    else if (input === 'b') go(index - 1);
  });

  if (!step) {
    return (
      <Box flexDirection="column">
        <Text
          bold
        >{`${tutorial.name}: finished (${progress.done.length} of ${tutorial.steps.length} steps checked) ${stepMarks(tutorial, progress, -1)}`}</Text>
        <Text>{`b goes back to a step; \`pbx down\` stops the services. ${KEYS}`}</Text>
      </Box>
    );
  }
  return (
    <Box flexDirection="column">
      <Text
        bold
      >{`${tutorial.name} · step ${index + 1} of ${tutorial.steps.length} · ${step.title}  ${stepMarks(tutorial, progress, index)}`}</Text>
      <Text>{step.teaches}</Text>
      <Text> </Text>
      <Text bold>{`What to do (in another terminal, in ${dir}):`}</Text>
      {step.todo.map((line, i) => (
        <Text key={i}>{`  ${line}`}</Text>
      ))}
      <Text> </Text>
      <Text color={result?.ok ? 'green' : result ? 'yellow' : undefined}>
        {result ? `${result.ok ? '✓' : '✗'} ${checkLine(result)}` : '… checking'}
      </Text>
      {panel === 'hint' && <Text color="cyan">{`Hint: ${step.hint}`}</Text>}
      {panel === 'solution' && (
        <Text color="cyan">{`Solution (a applies it): ${step.solution.map(describeAction).join('; ')}`}</Text>
      )}
      {note !== '' && <Text dimColor>{note}</Text>}
      <Text dimColor>{KEYS}</Text>
    </Box>
  );
}

/** Runs the tutorial on the terminal until the learner quits; what solutions left running is stopped then. */
export async function runTutorialView(options: { tutorial: Tutorial; dir: string; progress: Progress }): Promise<void> {
  const { tutorial, dir } = options;
  const context: StepContext = { dir, services: projectServices(dir), memo: new Map() };
  const runner = solutionRunner({ tutorial: tutorial.name, dir });
  const app = render(
    <TutorialScreen tutorial={tutorial} dir={dir} initial={options.progress} context={context} runner={runner} />,
    {
      exitOnCtrlC: false,
      patchConsole: false,
    },
  );
  try {
    await app.waitUntilExit();
  } finally {
    await runner.stopAll();
    await context.services.close();
  }
}
