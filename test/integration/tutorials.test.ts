// Every tutorial's --solve against a real stack: the binary sets up nothing here but runs each step's solution (its
// own commands, as a learner types them) and each check, and must exit 0. The project is set up first by the engine,
// then given this run's project name and free ports, so it never meets another stack. Needs `npm run build`.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCassandraClient } from '../../src/clients/cassandra';
import { cassandraEndpoint, kafkaEndpoint } from '../../src/services/endpoints';
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

/** What still runs in `dir` (a process's working directory): a tutorial's replay, its command, its pipeline. */
function processesIn(dir: string): string[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        if (readlinkSync(`/proc/${pid}/cwd`) !== dir) return [];
        return [`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')}`];
      } catch {
        return []; // ended meanwhile, or not ours to look at
      }
    });
}

/** "07:51:30" → seconds of the day. */
const secondOfDay = (clock: string) => clock.split(':').reduce((s, part) => s * 60 + Number(part), 0);

describe('pbx tutorial system-metrics --solve', () => {
  /** The project the first test solved, its stack left up for the second. */
  let solved: string | undefined;

  it('exits 0 with each step passed and nothing it started left running; the last check names seconds deleted from the minute', async () => {
    const started = Date.now();
    const dir = await solve('system-metrics');
    solved = dir;
    console.log(`system-metrics --solve took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(processesIn(dir)).toEqual([]);
    const services = projectServices(dir);
    try {
      const rows = await services.query(
        'SELECT host, sent, received FROM metrics.vmstat WHERE sent > ? ALLOW FILTERING',
        [new Date(Date.now() - 40_000)],
      );
      const latencies = rows
        .map((r) => (r.received as Date).getTime() - (r.sent as Date).getTime())
        .sort((a, b) => a - b);
      console.log(`received − sent over the last 40 s: ${latencies.join(' ')} ms`);
      // Three seconds in the middle of the minute gone, as a pipeline that stopped for a while would leave it.
      const gone = rows
        .map((r) => ({ host: String(r.host), sent: r.sent as Date }))
        .sort((a, b) => a.sent.getTime() - b.sent.getTime())
        .slice(10, 13);
      const cql = await createCassandraClient(cassandraEndpoint(services.config));
      try {
        for (const row of gone) {
          await cql.execute('DELETE FROM metrics.vmstat WHERE host = ? AND sent = ?', [row.host, row.sent], {
            prepare: true,
          });
        }
      } finally {
        await cql.shutdown();
      }
      const result = await runCheck(findTutorial('system-metrics')!.steps.at(-1)!, {
        dir,
        services,
        memo: new Map(),
      });
      expect(result.ok).toBe(false);
      expect(result.expected).toBe(
        'a row in metrics.vmstat for every second of the last minute, and a p99 of received − sent (from the rows) under 1,000 ms',
      );
      // The seconds named are those of the source's own beat: a row sent at 07:51:29.999 may count as 07:51:30's.
      const runs = [
        ...(/no row for \d+ of its 60 seconds: (.*)$/.exec(result.found)?.[1] ?? '').matchAll(
          /(\d\d:\d\d:\d\d)–(\d\d:\d\d:\d\d)/g,
        ),
      ];
      const first = secondOfDay(gone[0]!.sent.toISOString().slice(11, 19));
      expect(
        runs.some(([, a, b]) => Math.abs(secondOfDay(a!) - first) <= 1 && secondOfDay(b!) - secondOfDay(a!) === 2),
        result.found,
      ).toBe(true);
    } finally {
      await services.close();
    }
  }, 300_000);

  it('stops the pipeline it started when a step fails (no vmstat on the PATH), saying what the check found', async () => {
    const project = projectName('tut-system-metrics-fails');
    const dir = await tutorialProject('system-metrics', project);
    dirs.push(dir);
    // The first test's stack when it is there (the steps before the failing one pass on it at once), else its own.
    if (solved) copyFileSync(join(solved, 'pbx.yaml'), join(dir, 'pbx.yaml'));
    else projects.push(project);
    // A PATH with sh alone: the replay's command is not found, the pipeline starts as it should.
    const bin = join(dir, '..', 'bin');
    mkdirSync(bin);
    symlinkSync('/bin/sh', join(bin, 'sh'));
    const result = await runBinary(['tutorial', 'system-metrics', '--solve', '--json'], {
      cwd: dir,
      env: { PATH: bin },
    });
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(1);
    const report = JSON.parse(result.stdout) as { steps: Array<{ id: string; status: string; found?: string }> };
    expect(report.steps.map((s) => s.status)).toEqual(['passed', 'passed', 'failed', 'not run', 'not run']);
    expect(report.steps[2]!.found).toMatch(
      /^vmstat holds (no line|[\d,]+ lines?, none new in the last [\d.]+ s): is the replay running\?/,
    );
    expect(readFileSync(join(dir, '.pbx/tutorial.log'), 'utf8')).toContain(
      '`vmstat -n 1` exited with code 127 (no such command)',
    );
    expect(processesIn(dir)).toEqual([]);
  }, 300_000);
});
