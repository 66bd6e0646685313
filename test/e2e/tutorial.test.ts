// `pbx tutorial` on a real terminal (tmux: Ink needs one with a size): a step moves on by itself within two seconds
// of its check coming true, a hint shows, a reset puts the step's file back, and a tutorial left half-way resumes at
// its step. Against a real stack (redis-cache: Kafka and Redis), so under the Docker lock; word-count's first steps
// with no stack at all. Needs `npm run build`.
import { execa } from 'execa';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadProgress } from '../../src/tutorials/progress';
import { BINARY, runBinary } from '../support/cli';
import { projectName, purge } from '../support/stack';
import { tutorialProject } from '../support/tutorial';
import { waitFor } from '../support/wait';

// A tmux server of this test's own: another one's environment (CI set, say) would not reach pbx.
const SOCKET = `pbx-tutorial-${process.pid}`;
const SESSION = 'tutorial';
const project = projectName('tut-pty');
let dir: string;
const words = { project: projectName('tut-pty-words'), dir: '' };

const tmux = (...args: string[]) => execa('tmux', ['-L', SOCKET, ...args]);
// Ink wraps long lines at a space: the screen as one line, so that a sentence is found wherever it wrapped.
const screen = async () => (await tmux('capture-pane', '-p', '-t', SESSION)).stdout.replaceAll('\n', ' ');
const keys = (key: string) => tmux('send-keys', '-t', SESSION, key);
const running = async () =>
  (await execa('tmux', ['-L', SOCKET, 'has-session', '-t', SESSION], { reject: false })).exitCode === 0;

async function startView(tutorial = 'redis-cache', cwd = dir): Promise<void> {
  const command = `env -u CI -u CONTINUOUS_INTEGRATION TERM=xterm-256color NO_COLOR=1 ${BINARY} tutorial ${tutorial}`;
  await tmux('new-session', '-d', '-s', SESSION, '-x', '100', '-y', '30', '-c', cwd, command);
}

const shows = (text: string, timeout = 20_000) =>
  waitFor(screen, { what: `the screen to show "${text}"`, until: (s) => s.includes(text), timeout, interval: 100 });

beforeAll(async () => {
  if (!existsSync(BINARY)) throw new Error('dist/pbx is missing: run `npm run build` first.');
  dir = await tutorialProject('redis-cache', project);
  words.dir = await tutorialProject('word-count', words.project);
});
afterAll(async () => {
  await execa('tmux', ['-L', SOCKET, 'kill-server'], { reject: false });
  await purge(project);
  for (const made of [dir, words.dir]) rmSync(join(made, '..'), { recursive: true, force: true });
});

it('moves on by itself when a check comes true, shows a hint, resets a step and resumes where it was left', async () => {
  await startView();
  await shows('step 1 of 3');
  await shows('✗ expected Redis answering PING');
  await keys('h');
  await shows('Hint: Run it where pbx.yaml is');

  // The learner starts the stack in another terminal: the step passes and the view moves on, within 2 s.
  const up = await runBinary(['up', '--profile', 'cache'], { cwd: dir });
  expect(up.exitCode, up.stderr).toBe(0);
  const ready = Date.now();
  await shows('step 2 of 3', 5000);
  expect(Date.now() - ready).toBeLessThan(2000 + 500); // + the 100 ms look and tmux's own delay
  // The new step's first check is asked as it appears: its finding follows within a look.
  await shows(
    'expected all 780 sticks of sticks.json in daily_sticks, each once; found daily_sticks holds 0 of 780 records',
    5000,
  );

  // Skip to step 3, spoil its file, reset the step: the file is as at the start again.
  await keys('n');
  await shows('step 3 of 3');
  writeFileSync(join(dir, 'pipelines/latest.ts'), '// spoilt\n');
  await keys('r');
  await shows('step reset: pipelines/latest.ts as at the start');
  expect(readFileSync(join(dir, 'pipelines/latest.ts'), 'utf8')).toContain('TODO');

  // Quit half-way, start again: it resumes at step 3, with step 1 done and step 2 skipped.
  await keys('q');
  await waitFor(running, { what: 'the view to end', until: (alive) => !alive, timeout: 10_000 });
  expect(loadProgress(dir, 'redis-cache')).toMatchObject({ step: 2, done: ['profile'], skipped: ['replay'] });
  await startView();
  await shows('step 3 of 3 · The latest sticks, cached in Redis  ✓»▸');
  await keys('q');
});

it('word-count: says Kafka does not answer, then what sentences.json holds, and moves on once it is right', async () => {
  await waitFor(running, { what: 'the last view to end', until: (alive) => !alive, timeout: 10_000 });
  await startView('word-count', words.dir);
  await shows('step 1 of 5');
  await shows('✗ expected Kafka with the topics sentences, words, word-counts; found Kafka does not answer at');
  await keys('n');
  await shows('step 2 of 5');
  await shows(`found no sentences.json in ${words.dir}`);
  const generate = (seed: string) =>
    runBinary(['data', 'gen', 'sentences', '--count', '1000', '--seed', seed, '--out', 'sentences.json'], {
      cwd: words.dir,
    });
  expect((await generate('8')).exitCode).toBe(0);
  await shows("found sentences.json's line 1 is", 5000);
  await keys('h');
  await shows('Hint: Give it --count 1000 --seed 7');
  expect((await generate('7')).exitCode).toBe(0);
  const ready = Date.now();
  await shows('step 3 of 5', 5000);
  expect(Date.now() - ready).toBeLessThan(2000 + 500);
  await keys('q');
  await waitFor(running, { what: 'the view to end', until: (alive) => !alive, timeout: 10_000 });
  expect(loadProgress(words.dir, 'word-count')).toMatchObject({ step: 2, done: ['generate'], skipped: ['stack'] });
});
