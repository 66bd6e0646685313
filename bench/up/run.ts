// Time from "start the stack" to "every service ready": `pbx up` against docker-compose (Debian's
// package) running the same images with the same configuration, health checks and
// `depends_on: condition: service_healthy`. Same machine, same run, alternating, from present images.
// Usage: npm run build && npx tsx bench/up/run.ts [rounds]     (prints a Markdown table; needs docker-compose)
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { resolveConfig, parseConfigText } from '../../src/config/load';
import { specFor } from '../../src/services/catalog';
import type { ServiceSpec } from '../../src/services/types';
import type { UpResult } from '../../src/stack/up';
import { containerCpuMs } from '../container-cpu';

const root = resolve(import.meta.dirname, '../..');
const pbx = resolve(root, 'dist/pbx');
const rounds = Number(process.argv[2] ?? 3);
const ports = { zookeeper: 32181, kafka: 39092, cassandra: 39042, redis: 36379 };
const yaml = `name: benchup\nimages: local\nservices:\n${Object.entries(ports)
  .map(([s, p]) => `  ${s}: {port: ${p}}`)
  .join('\n')}\n`;

const pbxDir = mkdtempSync(join(tmpdir(), 'pbx-bench-up-'));
writeFileSync(join(pbxDir, 'pbx.yaml'), yaml);

// The compose project gets exactly pbx's commands, environment and config files (bind-mounted).
const composeDir = mkdtempSync(join(tmpdir(), 'compose-bench-up-'));
const config = resolveConfig(parseConfigText(yaml, 'pbx.yaml'), null, composeDir);
// Health checks as compose users write them, polled every 2 s (compose's default is 30 s).
const healthchecks: Record<string, string> = {
  zookeeper: `exec 3<>/dev/tcp/127.0.0.1/2181 && printf ruok >&3 && grep -q imok <&3`,
  kafka: `/opt/kafka/bin/kafka-run-class.sh org.apache.kafka.tools.TopicCommand --bootstrap-server kafka:29092 --list`,
  cassandra: `exec 3<>/dev/tcp/127.0.0.1/${ports.cassandra}`,
  redis: 'redis-cli ping | grep -q PONG',
};
const service = (spec: ServiceSpec) => {
  const volumes = Object.entries(spec.files).map(([path, content]) => {
    const local = join(composeDir, 'files', spec.name, path);
    mkdirSync(dirname(local), { recursive: true });
    writeFileSync(local, content);
    return `      - ${local}:${path}:ro`;
  });
  return [
    `  ${spec.name}:`,
    `    image: ${spec.image}`,
    `    entrypoint: []`,
    `    command: ${JSON.stringify(spec.command)}`,
    `    user: "0:0"`,
    `    init: true`,
    `    hostname: ${spec.name}`,
    `    mem_limit: ${spec.memoryBytes}`,
    `    environment: ${JSON.stringify(spec.env)}`,
    `    ports: ["127.0.0.1:${spec.port.host}:${spec.port.container}"]`,
    ...(volumes.length > 0 ? ['    volumes:', ...volumes] : []),
    `    healthcheck:`,
    `      test: ["CMD", "bash", "-c", ${JSON.stringify(healthchecks[spec.name])}]`,
    `      interval: 2s`,
    `      timeout: 10s`,
    `      retries: 90`,
    ...(spec.dependsOn.length > 0
      ? ['    depends_on:', ...spec.dependsOn.map((d) => `      ${d.service}:\n        condition: service_healthy`)]
      : []),
  ].join('\n');
};
const specs = (['zookeeper', 'kafka', 'cassandra', 'redis'] as const).map((s) => specFor(config, s));
// Kafka must advertise the compose network's name for it, which is the same service name.
writeFileSync(join(composeDir, 'docker-compose.yml'), `version: "2.4"\nservices:\n${specs.map(service).join('\n')}\n`);

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

const compose = (...args: string[]) => execa('docker-compose', ['-p', 'benchup-compose', ...args], { cwd: composeDir });
const readyMs: Record<string, { first: number[]; restart: number[] }> = {};
// Each service's CPU from its container's start to the stack's readiness (its cgroup): the stack is CPU-bound.
const cpuMs: Record<string, { pbx: number[]; compose: number[] }> = {};
const recordCpu = async (tool: 'pbx' | 'compose', ids: string[]) => {
  const { stdout } = await execa('docker', [
    ...['inspect', '-f', '{{.Id}}|{{index .Config.Labels "com.docker.compose.service"}}|{{.Name}}', ...ids],
  ]);
  for (const line of stdout.split('\n')) {
    const [id, composeService, name] = line.split('|') as [string, string, string];
    const service = tool === 'compose' ? composeService : name.replace(/^\/pbx-benchup-/, '');
    const ms = containerCpuMs(id);
    if (ms !== undefined) (cpuMs[service] ??= { pbx: [], compose: [] })[tool].push(ms);
  }
};
// `pbx up --json` reports each service's time from container start to its first good protocol answer.
const pbxUp = async (phase: 'first' | 'restart' = 'first') => {
  const { stdout } = await execa(pbx, ['up', '--json', '--config', join(pbxDir, 'pbx.yaml')]);
  for (const s of (JSON.parse(stdout) as UpResult).services) {
    readyMs[s.service] ??= { first: [], restart: [] };
    if (s.readyMs !== undefined) readyMs[s.service]![phase].push(s.readyMs);
  }
};
const pbxDown = (keepVolumes = false) =>
  execa(pbx, ['down', ...(keepVolumes ? [] : ['--volumes']), '--config', join(pbxDir, 'pbx.yaml')]);
// `up -d` returns before health; `--wait` is not in compose v1, so poll until all four are healthy.
async function composeUp(): Promise<void> {
  await compose('up', '-d');
  for (;;) {
    const ids = (await compose('ps', '-q')).stdout.split('\n').filter(Boolean);
    const health = await execa('docker', ['inspect', '-f', '{{.State.Health.Status}}', ...ids]);
    if (ids.length === 4 && health.stdout.split('\n').every((h) => h === 'healthy')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}
const composeDown = () => compose('down', '--volumes');

// The peer is not installed by `npm run provision`, which the tests use: say so before anything starts.
await execa('docker-compose', ['version']).catch(() => {
  console.error(
    "bench/up runs Debian's docker-compose beside pbx: install it first (apt-get install -y docker-compose).",
  );
  process.exit(1);
});
const results = { pbx: [] as number[], restart: [] as number[], compose: [] as number[], status: [] as number[] };
await pbxDown();
await composeDown();
for (let round = 0; round < rounds; round++) {
  results.pbx.push(await timed(() => pbxUp()));
  await recordCpu(
    'pbx',
    specs.map((spec) => `pbx-benchup-${spec.name}`),
  );
  for (let i = 0; i < 10; i++)
    results.status.push(await timed(() => execa(pbx, ['status', '--config', join(pbxDir, 'pbx.yaml')])));
  // A restart with the data kept in volumes: the second start a user sees every day.
  await pbxDown(true);
  results.restart.push(await timed(() => pbxUp('restart')));
  await pbxDown();
  results.compose.push(await timed(composeUp));
  await recordCpu('compose', (await compose('ps', '-q')).stdout.split('\n').filter(Boolean));
  await composeDown();
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p = median(results.pbx);
const c = median(results.compose);
console.log('| stack start, four services, images present | median s | runs (s) |');
console.log('| --- | --- | --- |');
console.log(`| pbx up (protocol readiness) | ${p.toFixed(1)} | ${results.pbx.map((x) => x.toFixed(1)).join(', ')} |`);
console.log(
  `| docker-compose up + healthy (2 s checks) | ${c.toFixed(1)} | ${results.compose.map((x) => x.toFixed(1)).join(', ')} |`,
);
console.log(
  `| pbx up again after pbx down (data kept) | ${median(results.restart).toFixed(1)} | ${results.restart.map((x) => x.toFixed(1)).join(', ')} |`,
);
console.log(`\nratio pbx / compose: ${(p / c).toFixed(2)}×`);
console.log(
  '\n| service | container start → first protocol answer, first start (median ms) | after a restart with data |',
);
console.log('| --- | --- | --- |');
for (const [service, times] of Object.entries(readyMs)) {
  console.log(`| ${service} | ${median(times.first).toFixed(0)} | ${median(times.restart).toFixed(0)} |`);
}
console.log('\n| service | CPU until all ready, pbx up (median ms) | until all healthy, docker-compose |');
console.log('| --- | --- | --- |');
for (const [service, times] of Object.entries(cpuMs)) {
  const cell = (xs: number[]) => (xs.length > 0 ? median(xs).toFixed(0) : 'n/a');
  console.log(`| ${service} | ${cell(times.pbx)} | ${cell(times.compose)} |`);
}
console.log(
  `pbx status (4 services, quick protocol checks): median ${(median(results.status) * 1000).toFixed(0)} ms over ${results.status.length} runs`,
);
