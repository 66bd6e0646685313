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
import type { CheckResult, StepContext, Tutorial } from './types';

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

function TutorialScreen({ tutorial, dir, initial, context, runner }: ViewProps) {
  const app = useApp();
  const [progress, setProgress] = useState(initial);
  const [index, setIndex] = useState(Math.min(initial.step, tutorial.steps.length));
  const [result, setResult] = useState<CheckResult | undefined>();
  const [panel, setPanel] = useState<'none' | 'hint' | 'solution'>('none');
  const [note, setNote] = useState('');
  const progressRef = useRef(progress);
  const update = (next: Progress) => {
    progressRef.current = next;
    setProgress(next);
    saveProgress(dir, next);
  };
  const go = (to: number) => {
    const bounded = Math.max(0, Math.min(tutorial.steps.length, to));
    const step = tutorial.steps[index];
    update(
      step ? moveTo(progressRef.current, bounded, { index, id: step.id }) : { ...progressRef.current, step: bounded },
    );
    setIndex(bounded);
    setResult(undefined);
    setPanel('none');
  };
  const step = tutorial.steps[index];

  // The check, asked every CHECK_EVERY_MS while this step is shown; passing, it moves on by itself.
  useEffect(() => {
    if (!step) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ask = async () => {
      const started = Date.now();
      const found = await runCheck(step, context);
      if (stopped) return;
      setResult(found);
      if (found.ok) {
        update(markDone(progressRef.current, index, step.id));
        timer = setTimeout(() => {
          setIndex(index + 1);
          setResult(undefined);
          setPanel('none');
          setNote('');
        }, ADVANCE_AFTER_MS);
        return;
      }
      timer = setTimeout(() => void ask(), Math.max(0, CHECK_EVERY_MS - (Date.now() - started)));
    };
    void ask();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [index]);

  const apply = async () => {
    if (!step) return;
    try {
      for (const action of step.solution) {
        setNote(`applying: ${describeAction(action)}`);
        await runner.run(action);
      }
      setNote(`applied the solution${runner.running().length > 0 ? `; running: ${runner.running().join(', ')}` : ''}`);
    } catch (error) {
      setNote(`the solution failed: ${(error as Error).message}`);
    }
  };
  const reset = async () => {
    if (!step) return;
    for (const [path, from] of Object.entries(step.starters ?? {}))
      await writeProjectFile(dir, path, tutorialFile(tutorial.name, from));
    const current = progressRef.current;
    update({
      ...current,
      done: current.done.filter((id) => id !== step.id),
      skipped: current.skipped.filter((id) => id !== step.id),
    });
    const files = Object.keys(step.starters ?? {});
    setNote(`step reset${files.length > 0 ? `: ${files.join(', ')} as at the start` : ''}`);
    setResult(undefined);
  };

  useInput((input, key) => {
    if (input === 'q' || (key.ctrl && input === 'c')) return app.exit();
    if (input === 'h') setPanel((p) => (p === 'hint' ? 'none' : 'hint'));
    else if (input === 's') setPanel((p) => (p === 'solution' ? 'none' : 'solution'));
    else if (input === 'a') void apply();
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
