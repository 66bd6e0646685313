// A tutorial's project: its files written from the binary into a directory of its own, which is never written over
// without the learner's say (another project, or anything else, in the way).
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../cli/errors';
import { shellQuote } from '../cli/output';
import { API_TYPES_FILE, projectFiles, tsconfigUpdate } from '../scaffold/project';
import { tutorialFile } from './files';
import { PROGRESS_FILE, loadProgress, newProgress, saveProgress, type Progress } from './progress';
import type { Tutorial } from './types';

/**
 * Where a tutorial's project is: `dir` when given; else the working directory when it is that tutorial's project
 * (it holds its progress), else ./<name>.
 */
export function tutorialDir(tutorial: string, dir: string | undefined, cwd = process.cwd()): string {
  if (dir !== undefined) return resolve(cwd, dir);
  if (loadProgress(cwd, tutorial)) return cwd;
  return resolve(cwd, tutorial);
}

/** The files of a new tutorial project: the tutorial's own, the steps' starting files, what editors need. */
export function tutorialProjectFiles(tutorial: Tutorial): Record<string, string> {
  const files: Record<string, string> = {};
  for (const path of tutorial.projectFiles) files[path] = tutorialFile(tutorial.name, path);
  for (const step of tutorial.steps) {
    for (const [path, from] of Object.entries(step.starters ?? {})) files[path] = tutorialFile(tutorial.name, from);
  }
  files[API_TYPES_FILE] = projectFiles(tutorial.name)[API_TYPES_FILE]!;
  files['tsconfig.json'] = tsconfigUpdate(resolve('.'), undefined).content!;
  return files;
}

export interface SetUp {
  dir: string;
  /** Files written now (none when the project was there). */
  created: string[];
  progress: Progress;
  /** The project was there already, with this tutorial's progress in it. */
  resumed: boolean;
}

/**
 * Makes the tutorial's project in `dir`, or finds it there. A directory that is not empty and is not this tutorial's
 * project is written into only when `confirm` says so (files of the same name overwritten); without `confirm`
 * (not a terminal) that is refused.
 */
export async function setUpProject(options: {
  tutorial: Tutorial;
  dir: string;
  confirm?: (question: string) => Promise<boolean>;
}): Promise<SetUp> {
  const { tutorial, dir } = options;
  const progress = loadProgress(dir, tutorial.name);
  if (progress) return { dir, created: [], progress, resumed: true };
  const files = tutorialProjectFiles(tutorial);
  const entries = existsSync(dir) ? readdirSync(dir) : [];
  if (entries.length > 0) {
    const clashes = Object.keys(files).filter((path) => existsSync(join(dir, path)));
    const what = clashes.length > 0 ? `its ${clashes.join(', ')} would be overwritten` : 'it is not empty';
    const question = `${dir} is not a ${tutorial.name} tutorial project and ${what}. Write the tutorial's files there?`;
    if (!options.confirm || !(await options.confirm(question))) {
      throw new UserError(`${dir} is not a ${tutorial.name} tutorial project and ${what}; nothing was written.`, {
        code: 'TUTORIAL_DIR_TAKEN',
        nextSteps: [
          `Choose another directory: \`pbx tutorial ${tutorial.name} --dir ${shellQuote(`${tutorial.name}-2`)}\`.`,
          `Or run it where ${PROGRESS_FILE} of this tutorial is (its project), or on a terminal to be asked.`,
        ],
      });
    }
  }
  for (const [path, content] of Object.entries(files)) await writeProjectFile(dir, path, content);
  const fresh = newProgress(tutorial.name);
  saveProgress(dir, fresh);
  return { dir, created: Object.keys(files), progress: fresh, resumed: false };
}

/** Writes one file of the project (its directories made). */
export async function writeProjectFile(dir: string, path: string, content: string): Promise<void> {
  const target = join(dir, path);
  try {
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
  } catch (error) {
    throw new UserError(`Cannot write ${target}: ${(error as Error).message}.`, {
      code: 'TUTORIAL_UNWRITABLE',
      nextSteps: ['Choose a directory you can write to with --dir.'],
    });
  }
}

/** Starts the tutorial over: progress back to the first step, the steps' files back to their starting content. */
export async function resetProject(tutorial: Tutorial, dir: string): Promise<string[]> {
  const restored: string[] = [];
  for (const step of tutorial.steps) {
    for (const [path, from] of Object.entries(step.starters ?? {})) {
      await writeProjectFile(dir, path, tutorialFile(tutorial.name, from));
      restored.push(path);
    }
  }
  saveProgress(dir, newProgress(tutorial.name));
  return restored;
}
