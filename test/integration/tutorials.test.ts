// Every tutorial's --solve against a real stack: the binary sets up nothing here but runs each step's solution (its
// own commands, as a learner types them) and each check, and must exit 0. The project is set up first by the engine,
// then given this run's project name and free ports, so it never meets another stack. Needs `npm run build`.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kafkaEndpoint } from '../../src/services/endpoints';
import { findTutorial } from '../../src/tutorials/catalog';
import { runCheck } from '../../src/tutorials/checks';
import { loadProgress } from '../../src/tutorials/progress';
import { projectServices } from '../../src/tutorials/services';
import { runBinary } from '../support/cli';
import { projectName, purge } from '../support/stack';
import { produce } from '../support/topics';
import { tutorialProject } from '../support/tutorial';

const projects: string[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const project of projects) await purge(project);
  for (const dir of dirs) rmSync(join(dir, '..'), { recursive: true, force: true });
});

/** Sets up the tutorial's project, runs `pbx tutorial <name> --solve` there and expects every step passed. */
async function solve(name: string): Promise<string> {
  const project = projectName(`tut-${name}`);
  projects.push(project);
  const dir = await tutorialProject(name, project);
  dirs.push(dir);
  const result = await runBinary(['tutorial', name, '--solve', '--json'], { cwd: dir });
  expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  const report = JSON.parse(result.stdout) as { ok: boolean; steps: Array<{ id: string; status: string }> };
  expect(report.ok).toBe(true);
  expect(report.steps.map((s) => s.status)).toEqual(findTutorial(name)!.steps.map(() => 'passed'));
  expect(loadProgress(dir, name)?.step).toBe(findTutorial(name)!.steps.length);
  return dir;
}

describe.each([
  ['movie-reviews', 600_000],
  ['redis-cache', 300_000],
  ['workers', 400_000],
])('pbx tutorial %s --solve', (name, timeout) => {
  it('runs every step’s solution and check, and exits 0 with each step passed', () => solve(name), timeout);
});

describe('pbx tutorial word-count --solve', () => {
  it('exits 0 with each step passed, and the last check fails, saying what it expected and found, once a count is wrong', async () => {
    const dir = await solve('word-count');
    const services = projectServices(dir);
    try {
      // One more "ka" than the sentences have, as a pipeline counting a record twice would write it.
      await produce(kafkaEndpoint(services.config).brokers[0]!, 'word-counts', ['      1 ka']);
      const last = findTutorial('word-count')!.steps.at(-1)!;
      const result = await runCheck(last, { dir, services, memo: new Map() });
      expect(result.ok).toBe(false);
      expect(result.expected).toMatch(
        /^word-counts to count every word as the check counts the sentences \([\d,]+ words\)$/,
      );
      const [, right, total, counted, inSentences] =
        /^word-counts holds counts for ([\d,]+) of ([\d,]+) words; "ka": (\d+) counted, (\d+) in the sentences$/.exec(
          result.found,
        ) ?? [];
      expect(result.found, result.found).toMatch(/^word-counts holds counts for/);
      expect(Number(right!.replaceAll(',', ''))).toBe(Number(total!.replaceAll(',', '')) - 1);
      expect(Number(counted)).toBe(Number(inSentences) + 1);
    } finally {
      await services.close();
    }
  }, 180_000);
});
