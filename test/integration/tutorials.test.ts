// Every tutorial's --solve against a real stack: the binary sets up nothing here but runs each step's solution (its
// own commands, as a learner types them) and each check, and must exit 0. The project is set up first by the engine,
// then given this run's project name and free ports, so it never meets another stack. Needs `npm run build`.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findTutorial } from '../../src/tutorials/catalog';
import { loadProgress } from '../../src/tutorials/progress';
import { runBinary } from '../support/cli';
import { projectName, purge } from '../support/stack';
import { tutorialProject } from '../support/tutorial';

const projects: string[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const project of projects) await purge(project);
  for (const dir of dirs) rmSync(join(dir, '..'), { recursive: true, force: true });
});

describe.each([
  ['movie-reviews', 600_000],
  ['redis-cache', 300_000],
  ['workers', 400_000],
])('pbx tutorial %s --solve', (name, timeout) => {
  it(
    'runs every step’s solution and check, and exits 0 with each step passed',
    async () => {
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
    },
    timeout,
  );
});
