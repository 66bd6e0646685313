// Time from "start the stack" to "every service ready", for the four-service stack from present images and fresh
// volumes: `pbx up` against docker-compose running the same stack like for like (compose.ts), with its health checks
// every 2 s and every 1 s (shorter intervals cost the stack more CPU than they save: docs/benchmarks.md). Beside each
// run, the stack's physical limit in that run (limit.ts): the slowest service's own start, from its container's start
// to its "started" log line plus one answered request; a tool's overhead is its time over that limit. One warm-up
// round first, not counted; then the tools take turns in the other order each round.
// Usage: npm run build && flock /tmp/pbx-docker.lock npx tsx bench/up/run.ts [--rounds 7] [--intervals 2000,1000]
//   --intervals: the compose contenders' check intervals in ms, each ALL or ALL/KAFKA (Kafka's own);
//   --baseline FILE [--baseline-label TEXT]: another pbx binary (an earlier commit's) run beside dist/pbx, as one
//   more contender: a change measured against what it changed in the same rounds, whatever else loads the machine;
//   --report FILE prints the tables again from a results file of an earlier run.
//   (prints Markdown tables and writes every run to bench/results/up/; installs Debian's docker-compose if missing)
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { withTimeout } from '../../src/async';
import { parseConfigText, resolveConfig } from '../../src/config/load';
import type { ServiceName } from '../../src/config/schema';
import { specFor } from '../../src/services/catalog';
import type { UpResult } from '../../src/stack/up';
import { containerCpuMs } from '../container-cpu';
import { composeDocument, type CheckIntervals } from './compose';
import { ownStarts, physicalLimit, type OwnStart } from './limit';

const { values: options } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    intervals: { type: 'string', default: '2000,1000' },
    report: { type: 'string' },
    baseline: { type: 'string' },
    'baseline-label': { type: 'string', default: 'baseline' },
  },
});
const ROUNDS = Number(options.rounds);
const INTERVALS: CheckIntervals[] = options.intervals.split(',').map((text) => {
  const [everyMs, kafkaMs = everyMs] = text.split('/').map(Number) as [number, number?];
  return { everyMs, kafkaMs };
});
const root = resolve(import.meta.dirname, '../..');
const pbx = resolve(root, 'dist/pbx');
const resultsDir = resolve(root, 'bench/results/up');
const log = (text: string) => process.stderr.write(`[bench] ${text}\n`);

// Both tools publish the same ports on the same address: they never run at the same time.
const SERVICES: ServiceName[] = ['zookeeper', 'kafka', 'cassandra', 'redis'];
const ports = { zookeeper: 32181, kafka: 39092, cassandra: 39042, redis: 36379 };
const yaml = `name: benchup\nimages: local\nservices:\n${SERVICES.map((s) => `  ${s}: {port: ${ports[s]}}`).join('\n')}\n`;
const pbxDir = mkdtempSync(join(tmpdir(), 'pbx-bench-up-'));
const pbxConfig = join(pbxDir, 'pbx.yaml');
writeFileSync(pbxConfig, yaml);
const config = resolveConfig(parseConfigText(yaml, 'pbx.yaml'), null, pbxDir);
const specs = SERVICES.map((s) => specFor(config, s));

interface Run {
  tool: string;
  round: number;
  /** When the tool's command began (epoch ms). */
  commandAt: number;
  seconds: number;
  starts: OwnStart[];
  limit: OwnStart;
  /** Each service's CPU from its container's start to the stack's readiness (its cgroup). */
  cpuMs: Partial<Record<ServiceName, number>>;
  /** pbx only: container start → first good probe, from `pbx up --json`. */
  readyMs?: Partial<Record<ServiceName, number>>;
}

interface Contender {
  tool: string;
  /** The tool's name in a table's header. */
  short: string;
  run: (round: number) => Promise<Run>;
  /** Removes what a run left behind (an interrupted bench), before the first round. */
  down: () => Promise<unknown>;
}

/** A bench's every run, as bench/results/up/ keeps them. */
interface Results {
  commit: string;
  composeVersion: string;
  rounds: number;
  tools: Array<Pick<Contender, 'tool' | 'short'>>;
  runs: Run[];
  extra: typeof extra;
}

/** What every run measures once its stack is ready: each service's own start, the limit, the CPU. */
async function measured(containers: Map<ServiceName, string>) {
  const cpuMs = Object.fromEntries([...containers].map(([s, id]) => [s, containerCpuMs(id)]));
  const starts = await ownStarts(config, containers);
  return { cpuMs, starts, limit: physicalLimit(starts) };
}

const fullIds = async (filter: string, format: string) =>
  (await execa('docker', ['ps', '--no-trunc', '--filter', filter, '--format', format])).stdout.split('\n');

// pbx's extra figures, from its runs: a start again on the volumes kept, and `pbx status` on the running stack.
const extra = { restart: [] as number[], statusMs: [] as number[] };
const pbxCommand = (...args: string[]) => execa(pbx, [...args, '--config', pbxConfig]);

async function pbxRun(round: number, binary = pbx, tool = 'pbx up'): Promise<Run> {
  const commandAt = Date.now();
  const started = performance.now();
  const { stdout } = await execa(binary, ['up', '--json', '--config', pbxConfig]);
  const seconds = (performance.now() - started) / 1000;
  const up = JSON.parse(stdout) as UpResult;
  const readyMs = Object.fromEntries(up.services.map((s) => [s.service, s.readyMs]));
  const lines = await fullIds('label=pbx.project=benchup', '{{.ID}} {{.Label "pbx.service"}}');
  const run = { tool, round, commandAt, seconds, readyMs, ...(await measured(containersOf(lines))) };
  if (binary !== pbx) {
    await execa(binary, ['down', '--volumes', '--config', pbxConfig]);
    return run;
  }
  const counted = round > 0; // the warm-up round's are not
  for (let i = 0; i < 10; i++) {
    const asked = performance.now();
    await pbxCommand('status');
    if (counted) extra.statusMs.push(performance.now() - asked);
  }
  await pbxCommand('down');
  const again = performance.now();
  await pbxCommand('up');
  if (counted) extra.restart.push((performance.now() - again) / 1000);
  await pbxCommand('down', '--volumes');
  return run;
}

/** An earlier pbx binary, timed as dist/pbx is (without the extra figures). */
function baselineContender(binary: string, label: string): Contender {
  const tool = `pbx up at ${label}`;
  return {
    tool,
    short: `pbx at ${label}`,
    run: (round) => pbxRun(round, binary, tool),
    down: () => execa(binary, ['down', '--volumes', '--config', pbxConfig]),
  };
}

function containersOf(lines: string[]): Map<ServiceName, string> {
  const pairs = lines.filter(Boolean).map((l) => l.split(' ') as [string, ServiceName]);
  return new Map(SERVICES.map((s) => [s, pairs.find(([, service]) => service === s)![0]]));
}

function composeContender(intervals: CheckIntervals): Contender {
  const { everyMs, kafkaMs } = intervals;
  const project = `benchupc${everyMs}k${kafkaMs}`; // compose 1 keeps only [a-z0-9] of a project's name
  const dir = mkdtempSync(join(tmpdir(), `compose-bench-up-${project}-`));
  const file = join(dir, 'docker-compose.yml'); // JSON, which compose reads as YAML
  writeFileSync(file, JSON.stringify(composeDocument(specs, intervals), null, 2));
  const compose = (...args: string[]) => execa('docker-compose', ['-p', project, '-f', file, ...args]);
  const every = `every ${everyMs / 1000} s${kafkaMs === everyMs ? '' : `, Kafka's every ${kafkaMs / 1000} s`}`;
  const tool = `docker-compose up until healthy, checks ${every}`;
  return {
    tool,
    short: `compose (${every})`,
    down: () => compose('down', '--volumes', '--timeout', '10'),
    run: async (round) => {
      const started = Date.now();
      const healthy = allHealthy(project, started);
      await compose('up', '-d');
      const seconds = ((await withTimeout(healthy, 180_000, 'compose: not all healthy in 180 s')) - started) / 1000;
      const lines = await fullIds(
        `label=com.docker.compose.project=${project}`,
        '{{.ID}} {{.Label "com.docker.compose.service"}}',
      );
      const run = { tool, round, commandAt: started, seconds, ...(await measured(containersOf(lines))) };
      await compose('down', '--volumes', '--timeout', '10');
      return run;
    },
  };
}

/**
 * When the last of the project's four services turned healthy, from the engine's events (replayed from `since`, so
 * none is missed however late the listener starts): no polling competes with the stack for the CPU.
 */
function allHealthy(project: string, since: number): Promise<number> {
  const events = execa(
    'docker',
    ['events', '--since', (since / 1000).toFixed(3), '--format', '{{json .}}'].concat(
      ['type=container', `label=com.docker.compose.project=${project}`].flatMap((f) => ['--filter', f]),
    ),
    { buffer: false },
  );
  events.catch(() => undefined); // killed below
  const healthyAt = new Map<string, number>();
  return new Promise<number>((resolve) => {
    let pending = '';
    events.stdout.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const event = JSON.parse(line) as {
          Action: string;
          timeNano: number;
          Actor: { Attributes: Record<string, string> };
        };
        if (event.Action !== 'health_status: healthy') continue;
        const service = event.Actor.Attributes['com.docker.compose.service']!;
        if (!healthyAt.has(service)) healthyAt.set(service, event.timeNano / 1e6);
      }
      if (healthyAt.size === SERVICES.length) {
        events.kill();
        resolve(Math.max(...healthyAt.values()));
      }
    });
  });
}

/** Debian's docker-compose, installed as provisioning installs packages when it is missing. */
async function ensureCompose(): Promise<string> {
  const version = () => execa('docker-compose', ['version', '--short']).then((r) => r.stdout);
  const present = await version().catch(() => undefined);
  if (present) return present;
  log("installing Debian's docker-compose");
  const install = [
    'install',
    '-y',
    '-qq',
    '--no-install-recommends',
    '-o',
    'DPkg::Lock::Timeout=300',
    'docker-compose',
  ];
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  await execa('apt-get', install, { env }).catch(async () => {
    await execa('apt-get', ['update', '-qq']);
    await execa('apt-get', install, { env });
  });
  return version();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const range = (xs: number[], digits = 1) => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;
const percent = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(0)}%`;

const isCompose = (c: { tool: string }) => c.tool.startsWith('docker-compose');

/** The headline table: each tool's time, the limit in its runs, its overhead over it, its ratio to each compose. */
function headline(runs: Run[], contenders: Results['tools']) {
  const of = (tool: string) => runs.filter((r) => r.tool === tool);
  const overhead = (r: Run) => r.seconds / (r.limit.totalMs / 1000) - 1;
  const composes = contenders.filter(isCompose);
  const columns = ['median s', 'runs (s)', 'physical limit in its runs, median s', 'over the limit, median (range)'];
  console.log(
    `| stack start, four services, fresh volumes | ${columns.join(' | ')} | ${composes.map((c) => `÷ ${c.short}`).join(' | ')} |`,
  );
  console.log(`| --- | ${[...columns, ...composes].map(() => '---').join(' | ')} |`);
  for (const c of contenders) {
    const own = of(c.tool);
    const slowest = [...new Set(own.map((r) => r.limit.service))].join(', ');
    const ratios = composes.map((other) => {
      // Each run against the other tool's run of the same round; the median of those ratios.
      const paired = own.map((r) => r.seconds / of(other.tool).find((o) => o.round === r.round)!.seconds);
      return c === other ? '1' : `${median(paired).toFixed(2)}× (${range(paired, 2)})`;
    });
    const cells = [
      median(own.map((r) => r.seconds)).toFixed(2),
      own.map((r) => r.seconds.toFixed(1)).join(', '),
      `${median(own.map((r) => r.limit.totalMs / 1000)).toFixed(2)} (${slowest})`,
      `${percent(median(own.map(overhead)))} (${range(
        own.map((r) => overhead(r) * 100),
        0,
      )}%)`,
    ];
    console.log(`| ${c.tool} | ${[...cells, ...ratios].join(' | ')} |`);
  }
}

/**
 * Where each tool's time over the limit goes: before the slowest service's container started (the command, the
 * engine's work, the order of starts), and after the slowest service's own start ended (how soon readiness is seen).
 */
function breakdown(runs: Run[], contenders: Results['tools']) {
  const timed = runs.filter((r) => r.commandAt !== undefined);
  if (timed.length === 0) return; // a results file from before these were kept
  console.log(
    '\nThe slowest service in each run: when its container started, its own start, and the wait after it (median s).\n',
  );
  console.log("| tool | command → its container started | its own start | its own start's end → all ready |");
  console.log('| --- | --- | --- | --- |');
  for (const c of contenders) {
    const own = timed.filter((r) => r.tool === c.tool);
    const before = own.map((r) => (r.limit.containerStartedAt - r.commandAt) / 1000);
    const after = own.map((r, i) => r.seconds - before[i]! - r.limit.totalMs / 1000);
    const limits = own.map((r) => r.limit.totalMs / 1000);
    console.log(
      `| ${c.short} | ${[before, limits, after].map((xs) => `${median(xs).toFixed(2)} (${range(xs, 2)})`).join(' | ')} |`,
    );
  }
}

function report({ runs, tools: contenders, composeVersion, rounds, extra, commit }: Results) {
  const of = (tool: string) => runs.filter((r) => r.tool === tool);
  const cell = (xs: number[]) => (xs.every(Number.isFinite) ? median(xs).toFixed(0) : 'n/a');
  console.log(`\nAt ${commit}: ${rounds} rounds after one warm-up round; docker-compose ${composeVersion}.\n`);
  headline(runs, contenders);
  breakdown(runs, contenders);
  console.log(
    '\nEach service\'s own start: container start → its "started" line, + one request of pbx\'s proof (median ms).\n',
  );
  console.log(`| service | ${contenders.map((c) => c.short).join(' | ')} | pbx: container start → first good probe |`);
  console.log(`| --- | ${contenders.map(() => '---').join(' | ')} | --- |`);
  for (const service of SERVICES) {
    const cells = contenders.map((c) => {
      const own = of(c.tool).map((r) => r.starts.find((s) => s.service === service)!);
      return `${cell(own.map((s) => s.toStartedLineMs))} + ${cell(own.map((s) => s.requestMs))}`;
    });
    console.log(`| ${service} | ${cells.join(' | ')} | ${cell(of('pbx up').map((r) => r.readyMs![service]!))} |`);
  }
  console.log("\nEach service's CPU from its container's start until the stack was ready (median ms).\n");
  console.log(`| service | ${contenders.map((c) => c.short).join(' | ')} |`);
  console.log(`| --- | ${contenders.map(() => '---').join(' | ')} |`);
  for (const service of SERVICES) {
    console.log(
      `| ${service} | ${contenders.map((c) => cell(of(c.tool).map((r) => r.cpuMs[service] ?? NaN))).join(' | ')} |`,
    );
  }
  const { restart, statusMs } = extra;
  console.log(`\npbx up again after pbx down (data kept): median ${median(restart).toFixed(2)} s (${range(restart)})`);
  console.log(`pbx status on the running stack: median ${median(statusMs).toFixed(0)} ms over ${statusMs.length}`);
}

/** Runs the rounds and keeps every run in bench/results/up/. */
async function bench(): Promise<Results> {
  const composeVersion = await ensureCompose();
  const contenders: Contender[] = [
    { tool: 'pbx up', short: 'pbx', run: pbxRun, down: () => pbxCommand('down', '--volumes') },
    ...(options.baseline ? [baselineContender(resolve(options.baseline), options['baseline-label'])] : []),
    ...INTERVALS.map(composeContender),
  ];
  for (const c of contenders) await c.down();
  const commit = (await execa('git', ['rev-parse', '--short', 'HEAD'], { cwd: root })).stdout;
  const tools = contenders.map(({ tool, short }) => ({ tool, short }));
  const results: Results = { commit, composeVersion, rounds: 0, tools, runs: [], extra };
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${new Date().toISOString()}-${commit}.json`);
  log(`every run: ${file}`);
  for (let round = 0; round <= ROUNDS; round++) {
    // Round 0 warms the engine, the page cache and every image up for all tools; its runs are not counted.
    for (const c of round % 2 === 1 ? contenders : [...contenders].reverse()) {
      const run = await c.run(round);
      const limit = `${(run.limit.totalMs / 1000).toFixed(2)} s (${run.limit.service})`;
      log(`round ${round}: ${c.tool} ${run.seconds.toFixed(2)} s, limit ${limit}`);
      if (round > 0) results.runs.push(run);
    }
    // Kept round by round: a bench stopped early (the Docker lock is held 15 minutes at most) still reports.
    results.rounds = round;
    writeFileSync(file, JSON.stringify(results, null, 2));
  }
  return results;
}

report(options.report ? (JSON.parse(readFileSync(options.report, 'utf8')) as Results) : await bench());
