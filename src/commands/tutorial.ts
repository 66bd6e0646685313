import { Args, Flags } from '@oclif/core';
import { PbxCommand, jsonFlag } from '../cli/base-command';
import { InterruptedError, UserError, UsageError } from '../cli/errors';
import { interruptSignal } from '../cli/interrupt';
import { formatDuration, renderTable, type Output } from '../cli/output';
import { TUTORIALS, findTutorial } from '../tutorials/catalog';
import { listTutorials, progressText, type TutorialRow } from '../tutorials/list';
import { resetProject, setUpProject, tutorialDir } from '../tutorials/project';
import { solveTutorial, type SolveReport } from '../tutorials/solve';
import { askYesNo } from '../tutorials/ask';

export default class Tutorial extends PbxCommand {
  static override summary = 'Tutorials that check themselves against your running services.';
  static override description = `Without a name, lists the tutorials with their length and your progress. With one, sets up its project (./<name>, or --dir; its files come from pbx itself, and a directory that is not the tutorial's project is never written into without asking) and steps through it on the terminal: what each step teaches, what to do in another terminal, and a check of your real services, asked every 0.75 s, that says what it expected and what it found, and moves on by itself once it passes. Progress is saved in the project (.pbx/tutorial.json): running it again resumes at the step you left.

--solve runs every step's solution (pbx's own commands, as you would type them, and the solution's files) and its check, with no terminal needed, and exits 0 only when every check passed. --reset starts over: progress back to the first step, the files the steps ask you to write back to their starting content (the services keep their data: \`pbx down --volumes\` for that).`;
  static override examples = [
    '<%= config.bin %> tutorial',
    '<%= config.bin %> tutorial movie-reviews',
    '<%= config.bin %> tutorial movie-reviews --solve',
    '<%= config.bin %> tutorial redis-cache --reset',
  ];
  static override args = {
    name: Args.string({ description: 'The tutorial (`pbx tutorial` lists them).', required: false }),
  };
  static override flags = {
    ...jsonFlag,
    dir: Flags.string({ description: "The tutorial's project directory (default: ./<name>, or here when it is one)." }),
    solve: Flags.boolean({ description: 'Run every step’s solution and check, non-interactively.', default: false }),
    reset: Flags.boolean({ description: 'Start the tutorial over.', default: false }),
  };

  async run(): Promise<TutorialRow[] | SolveReport | { tutorial: string; dir: string; restored: string[] } | void> {
    const { args, flags } = await this.parse(Tutorial);
    const out = this.output(flags);
    if (args.name === undefined) {
      if (flags.solve || flags.reset) throw new UsageError('--solve and --reset need a tutorial’s name.');
      const rows = listTutorials();
      out.result(rows, printList);
      return rows;
    }
    const tutorial = findTutorial(args.name);
    if (!tutorial) {
      throw new UserError(`No tutorial "${args.name}".`, {
        code: 'TUTORIAL_NOT_FOUND',
        nextSteps: [`The tutorials: ${TUTORIALS.map((t) => t.name).join(', ')}.`],
      });
    }
    const dir = tutorialDir(tutorial.name, flags.dir);
    const interactive = out.mode === 'tty' && Boolean(process.stdin.isTTY);
    if (!interactive && !flags.solve && !flags.reset) {
      throw new UsageError(
        `pbx tutorial ${tutorial.name} steps through the tutorial on a terminal, and this is not one.`,
        {
          nextSteps: [
            `Run it in a terminal, or \`pbx tutorial ${tutorial.name} --solve\` to run every step non-interactively.`,
          ],
        },
      );
    }
    const setUp = await setUpProject({ tutorial, dir, confirm: interactive ? askYesNo : undefined });
    if (!setUp.resumed) out.note(`Set up the ${tutorial.name} tutorial in ${dir} (${setUp.created.length} files).`);
    if (flags.reset) {
      const restored = await resetProject(tutorial, dir);
      const result = { tutorial: tutorial.name, dir, restored };
      out.result(result, (o) =>
        o.line(`${tutorial.name} starts over at step 1 (${restored.join(', ')} as they were at the start).`),
      );
      return result;
    }
    if (flags.solve) {
      const report = await solveTutorial({
        tutorial,
        dir,
        signal: interruptSignal,
        onLine: (line) => out.note(`  ${line}`),
        onStep: (step, index) => out.note(stepLine(out, step, index)),
      });
      out.result(report, printSolve);
      if (interruptSignal.aborted) {
        throw new InterruptedError(`Interrupted: ${tutorial.name}'s progress is saved; run it again to go on.`, {
          alreadyReported: out.json,
        });
      }
      if (!report.ok) {
        const failed = report.steps.find((s) => s.status === 'failed');
        throw new UserError(`${tutorial.name}: step ${failed?.title ?? '?'} failed.`, {
          code: 'TUTORIAL_CHECK_FAILED',
          alreadyReported: true,
        });
      }
      return report;
    }
    const { runTutorialView } = await import('../tutorials/view');
    await runTutorialView({ tutorial, dir, progress: setUp.progress });
  }
}

function stepLine(out: Output, step: SolveReport['steps'][number], index: number): string {
  const mark = step.status === 'passed' ? out.style.green('✓') : out.style.red('✗');
  const time = step.elapsedMs === undefined ? '' : ` (${formatDuration(step.elapsedMs)})`;
  const what = step.status === 'passed' ? step.found : `expected ${step.expected}; found ${step.found}`;
  return `${mark} ${index + 1}. ${step.title}${time}: ${what}`;
}

function printSolve(out: Output, report: SolveReport): void {
  const passed = report.steps.filter((s) => s.status === 'passed').length;
  out.line(
    report.ok
      ? out.style.green(`${report.tutorial}: all ${passed} steps passed in ${formatDuration(report.elapsedMs)}.`)
      : out.style.red(
          `${report.tutorial}: ${passed} of ${report.steps.length} steps passed; the rest ${report.steps.some((s) => s.status === 'failed') ? 'failed or did not run' : 'did not run'}.`,
        ),
  );
}

function printList(out: Output, rows: TutorialRow[]): void {
  out.line(
    renderTable(
      rows.map((r) => ({
        name: r.name,
        after: r.after,
        length: `${r.steps} steps, ~${r.minutes} min`,
        progress: progressText(r),
      })),
      [
        ['name', 'TUTORIAL'],
        ['after', 'AFTER'],
        ['length', 'LENGTH'],
        ['progress', 'PROGRESS'],
      ],
    ),
  );
  out.line('Start one with `pbx tutorial <name>`.');
}
