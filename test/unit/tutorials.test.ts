// The tutorial engine without services: its files in the binary, the project and its progress (resume, reset,
// refusal to write over a directory), and what a check says.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/cli/errors';
import { describeAction } from '../../src/tutorials/actions';
import { TUTORIALS, findTutorial } from '../../src/tutorials/catalog';
import { checkLine, count, pollCheck, runCheck } from '../../src/tutorials/checks';
import { EMBEDDED_TUTORIAL_FILES } from '../../src/tutorials/embedded';
import { GENERATED_FILES, readTutorialFiles, tutorialFile } from '../../src/tutorials/files';
import { listTutorials, progressText } from '../../src/tutorials/list';
import { loadProgress, markDone, moveTo, newProgress, saveProgress } from '../../src/tutorials/progress';
import { resetProject, setUpProject, tutorialDir } from '../../src/tutorials/project';
import { ServiceDown } from '../../src/tutorials/services';
import type { Step, StepContext } from '../../src/tutorials/types';
import { stepMarks } from '../../src/tutorials/view';
import { runInProcess } from '../support/cli';

const root = resolve(import.meta.dirname, '../..');
const movieReviews = findTutorial('movie-reviews')!;
const made: string[] = [];
const temp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'pbx-tutorial-unit-'));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

describe("tutorials' files", () => {
  it('are embedded exactly as they are in tutorials/ (run scripts/embed-tutorials.ts after editing)', () => {
    expect(EMBEDDED_TUTORIAL_FILES).toEqual(readTutorialFiles(join(root, 'tutorials')));
  });

  it('generate the datasets left out of the binary byte for byte', () => {
    for (const path of Object.keys(GENERATED_FILES)) {
      const [tutorial, ...rest] = path.split('/');
      expect(tutorialFile(tutorial!, rest.join('/')) === readFileSync(join(root, 'tutorials', path), 'utf8')).toBe(
        true,
      );
    }
  });

  it('hold every file a tutorial names: its project files, starters and solutions', () => {
    for (const tutorial of TUTORIALS) {
      const named = [
        ...tutorial.projectFiles,
        ...tutorial.steps.flatMap((s) => Object.values(s.starters ?? {})),
        ...tutorial.steps.flatMap((s) => s.solution.flatMap((a) => (a.kind === 'write' ? [a.from] : []))),
      ];
      for (const path of named) expect(() => tutorialFile(tutorial.name, path), path).not.toThrow();
    }
  });
});

describe('a tutorial project', () => {
  it('is set up in a new directory, with progress at the first step, and resumed where it was left', async () => {
    const dir = join(temp(), 'movie-reviews');
    const first = await setUpProject({ tutorial: movieReviews, dir });
    expect(first.resumed).toBe(false);
    expect(first.created).toEqual(
      expect.arrayContaining(['pbx.yaml', 'reviews.json', 'pipelines/realtime.ts', 'types/pbx.d.ts']),
    );
    expect(readFileSync(join(dir, 'reviews.json'), 'utf8').split('\n')).toHaveLength(10_001);
    saveProgress(dir, markDone(markDone(first.progress, 0, 'stack'), 1, 'slow-replay'));
    writeFileSync(join(dir, 'pipelines/realtime.ts'), '// mine');
    const again = await setUpProject({ tutorial: movieReviews, dir });
    expect(again.resumed).toBe(true);
    expect(again.progress.step).toBe(2);
    expect(readFileSync(join(dir, 'pipelines/realtime.ts'), 'utf8')).toBe('// mine');
    expect(tutorialDir('movie-reviews', undefined, dir)).toBe(dir);
    expect(tutorialDir('movie-reviews', undefined, '/somewhere')).toBe('/somewhere/movie-reviews');
  });

  it('is never written over without asking: refused when nobody can be asked, written when the learner says yes', async () => {
    const dir = temp();
    writeFileSync(join(dir, 'pbx.yaml'), 'name: mine\n');
    const refused = await setUpProject({ tutorial: movieReviews, dir }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UserError);
    expect((refused as UserError).code).toBe('TUTORIAL_DIR_TAKEN');
    expect((refused as UserError).message).toContain('its pbx.yaml would be overwritten');
    expect(readFileSync(join(dir, 'pbx.yaml'), 'utf8')).toBe('name: mine\n');
    const no = await setUpProject({ tutorial: movieReviews, dir, confirm: () => Promise.resolve(false) }).catch(
      (e: unknown) => e,
    );
    expect(no).toBeInstanceOf(UserError);
    const questions: string[] = [];
    const yes = await setUpProject({
      tutorial: movieReviews,
      dir,
      confirm: (question) => (questions.push(question), Promise.resolve(true)),
    });
    expect(questions[0]).toContain('pbx.yaml would be overwritten');
    expect(yes.resumed).toBe(false);
    expect(readFileSync(join(dir, 'pbx.yaml'), 'utf8')).toContain('name: movie-reviews');
  });

  it('starts over with --reset: the first step, and the files the steps ask for as they were', async () => {
    const dir = join(temp(), 'movie-reviews');
    const { progress } = await setUpProject({ tutorial: movieReviews, dir });
    saveProgress(dir, markDone(progress, 0, 'stack'));
    writeFileSync(join(dir, 'serving.ts'), '// mine');
    const restored = await resetProject(movieReviews, dir);
    expect(restored).toEqual(['pipelines/realtime.ts', 'pipelines/batch.ts', 'serving.ts']);
    expect(readFileSync(join(dir, 'serving.ts'), 'utf8')).toContain('TODO');
    expect(loadProgress(dir, 'movie-reviews')).toMatchObject({ step: 0, done: [] });
  });
});

describe('progress', () => {
  it('records a passed step and moves on; skipping records the step skipped; going back keeps what was done', () => {
    let p = markDone(newProgress('t'), 0, 'a');
    expect(p).toMatchObject({ step: 1, done: ['a'] });
    p = moveTo(p, 2, { index: 1, id: 'b' });
    expect(p).toMatchObject({ step: 2, done: ['a'], skipped: ['b'] });
    p = moveTo(p, 0, { index: 2, id: 'c' });
    expect(p).toMatchObject({ step: 0, done: ['a'], skipped: ['b'] });
    p = markDone(p, 1, 'b');
    expect(p).toMatchObject({ step: 2, done: ['a', 'b'], skipped: [] });
  });

  it('of another tutorial, or unreadable, is not taken for this one', () => {
    const dir = temp();
    saveProgress(dir, newProgress('redis-cache'));
    expect(loadProgress(dir, 'movie-reviews')).toBeUndefined();
    expect(loadProgress(dir, 'redis-cache')?.step).toBe(0);
    mkdirSync(join(dir, '.pbx'), { recursive: true });
    writeFileSync(join(dir, '.pbx/tutorial.json'), '{ not json');
    expect(loadProgress(dir)).toBeUndefined();
  });

  it('is listed with each tutorial', async () => {
    const cwd = temp();
    const { progress } = await setUpProject({ tutorial: movieReviews, dir: join(cwd, 'movie-reviews') });
    saveProgress(join(cwd, 'movie-reviews'), markDone(progress, 0, 'stack'));
    const rows = listTutorials(cwd);
    expect(rows.map((r) => r.name)).toEqual(TUTORIALS.map((t) => t.name));
    expect(progressText(rows[0]!)).toBe('1 of 6 done, on step 2');
    expect(progressText(rows[1]!)).toBe('not started');
    expect(existsSync(join(cwd, 'redis-cache'))).toBe(false);
  });
});

describe('a check', () => {
  const context = { dir: '/nowhere', memo: new Map() } as unknown as StepContext;
  const step = (check: Step['check']): Step => ({
    id: 's',
    title: 'S',
    teaches: '',
    todo: [],
    expects: '10,000 records in movie_reviews',
    check,
    hint: '',
    solution: [],
  });

  it('says what it expected and what it found, never only "not yet"', () => {
    expect(
      checkLine({
        ok: false,
        expected: '10,000 reviews',
        found: `movie_reviews holds ${count(4211)} of 10,000 records`,
      }),
    ).toBe('expected 10,000 reviews; found movie_reviews holds 4,211 of 10,000 records');
    expect(checkLine({ ok: true, expected: 'x', found: 'all 2,713 movies right' })).toBe('all 2,713 movies right');
  });

  it('reports a service that does not answer as what it found', async () => {
    const result = await runCheck(
      step(() => Promise.reject(new ServiceDown('Kafka', '127.0.0.1:9092', new Error('Connection timeout')))),
      context,
    );
    expect(result).toEqual({
      ok: false,
      expected: '10,000 records in movie_reviews',
      found: 'Kafka does not answer at 127.0.0.1:9092 (Connection timeout)',
    });
  });

  it('is asked again until it passes, at most once a second', async () => {
    let asked = 0;
    const times: number[] = [];
    const result = await pollCheck(
      step(() => {
        times.push(Date.now());
        asked++;
        return Promise.resolve({ ok: asked === 3, expected: 'e', found: `${asked}` });
      }),
      context,
      { timeoutMs: 10_000, everyMs: 100 },
    );
    expect(result).toEqual({ ok: true, expected: 'e', found: '3' });
    expect(times[2]! - times[0]!).toBeGreaterThanOrEqual(190);
  });
});

describe('the view', () => {
  it('marks steps done, skipped, current and to do', () => {
    const progress = { ...markDone(newProgress('movie-reviews'), 0, 'stack'), skipped: ['slow-replay'] };
    expect(stepMarks(movieReviews, progress, 2)).toBe('✓»▸···');
  });

  it('shows a solution as the commands the learner would type', () => {
    expect(movieReviews.steps[1]!.solution.map(describeAction)).toEqual([
      '$ pbx replay reviews.json --topic movie_reviews --key product_id --checkpoint reviews.checkpoint --rate 2   (left running)',
    ]);
  });
});

describe('pbx tutorial (the command, in process)', () => {
  it('lists the tutorials, as JSON too', async () => {
    const table = await runInProcess(['tutorial']);
    expect(table.exitCode, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/movie-reviews\s+peachbox\s+6 steps, ~25 min\s+/);
    expect(table.stdout).toMatch(/word-count\s+shellstreaming\s+5 steps, ~15 min\s+not started/);
    expect(table.stdout).toMatch(/system-metrics\s+the streaming demo\s+5 steps, ~10 min\s+not started/);
    const json = await runInProcess(['tutorial', '--json']);
    const rows = JSON.parse(json.stdout) as Array<{ name: string }>;
    expect(rows.map((r) => r.name)).toEqual([
      'movie-reviews',
      'redis-cache',
      'workers',
      'word-count',
      'system-metrics',
    ]);
  });

  it('says an unknown tutorial is not one, naming those there are', async () => {
    const unknown = await runInProcess(['tutorial', 'nope']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain(`The tutorials: ${TUTORIALS.map((t) => t.name).join(', ')}.`);
  });

  it('steps through a tutorial only on a terminal, setting up nothing elsewhere; --reset starts it over', async () => {
    const dir = join(temp(), 'rc');
    const plain = await runInProcess(['tutorial', 'redis-cache', '--dir', dir]);
    expect(plain.exitCode).toBe(2);
    expect(plain.stderr).toContain('--solve` to run every step non-interactively');
    expect(existsSync(dir)).toBe(false);
    saveProgress(dir, markDone(newProgress('redis-cache'), 0, 'profile'));
    const reset = await runInProcess(['tutorial', 'redis-cache', '--dir', dir, '--reset', '--json']);
    expect(JSON.parse(reset.stdout)).toMatchObject({ tutorial: 'redis-cache', restored: ['pipelines/latest.ts'] });
    expect(loadProgress(dir, 'redis-cache')?.step).toBe(0);
  });
});
