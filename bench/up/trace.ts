// A timestamped trace of one `pbx up` of bench/up's stack from fresh volumes: where its time over the physical limit
// goes. Every Docker API call pbx makes (through a logging proxy of the engine's socket), pbx's own progress lines as
// they come, the engine's events (network, volumes, containers), each container's start and "started" line, and the end.
// Usage: npm run build && flock /tmp/pbx-docker.lock npx tsx bench/up/trace.ts [--runs 1]
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { ServiceName } from '../../src/config/schema';
import { STARTED_LINE } from './limit';

const { values: options } = parseArgs({ options: { runs: { type: 'string', default: '1' } } });
const root = resolve(import.meta.dirname, '../..');
const pbx = resolve(root, 'dist/pbx');
const SERVICES: ServiceName[] = ['zookeeper', 'kafka', 'cassandra', 'redis'];
const ports = { zookeeper: 32181, kafka: 39092, cassandra: 39042, redis: 36379 };
const yaml = `name: benchup\nimages: local\nservices:\n${SERVICES.map((s) => `  ${s}: {port: ${ports[s]}}`).join('\n')}\n`;
const dir = mkdtempSync(join(tmpdir(), 'pbx-trace-up-'));
const config = join(dir, 'pbx.yaml');
writeFileSync(config, yaml);

interface Entry {
  at: number;
  what: string;
}

/** A proxy of the engine's socket that notes each request's arrival and its answer's end. */
function engineProxy(socketPath: string, entries: Entry[]) {
  const server = createServer((incoming, outgoing) => {
    const asked = Date.now();
    // The path without the API version and the query, but a container's name.
    const url = new URL(incoming.url ?? '/', 'http://engine');
    const name = url.searchParams.get('name') ?? url.searchParams.get('Name');
    const call = `${incoming.method} ${url.pathname.replace(/^\/v[\d.]+/, '').replace(/[0-9a-f]{64}/, (id) => id.slice(0, 12))}${name ? ` ${name}` : ''}`;
    const forwarded = request(
      { socketPath: '/var/run/docker.sock', method: incoming.method, path: incoming.url, headers: incoming.headers },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 500, answer.headers);
        answer.pipe(outgoing);
        answer.on('end', () => {
          entries.push({ at: asked, what: `api → ${call}` });
          entries.push({ at: Date.now(), what: `api ← ${call} ${answer.statusCode} (${Date.now() - asked} ms)` });
        });
      },
    );
    incoming.pipe(forwarded);
  });
  return new Promise<typeof server>((done) => server.listen(socketPath, () => done(server)));
}

const parseTime = (text: string) => Date.parse(text.replace(/(\.\d{3})\d*/, '$1'));

async function traceOnce(): Promise<void> {
  const entries: Entry[] = [];
  const socketPath = join(dir, 'engine.sock');
  rmSync(socketPath, { force: true });
  const proxy = await engineProxy(socketPath, entries);
  const commandAt = Date.now();
  const child = execa(pbx, ['up', '--config', config], {
    env: { CI: 'true', DOCKER_HOST: `unix://${socketPath}` },
    all: true,
    buffer: false,
  });
  createInterface({ input: child.all }).on('line', (line) => entries.push({ at: Date.now(), what: `pbx: ${line}` }));
  await child;
  const endAt = Date.now();
  proxy.close();

  const events = await execa('docker', [
    'events',
    ...['--since', (commandAt / 1000).toFixed(3), '--until', (endAt / 1000).toFixed(3)],
    ...['--format', '{{json .}}'],
  ]);
  for (const line of events.stdout.split('\n').filter(Boolean)) {
    const e = JSON.parse(line) as {
      Type: string;
      Action: string;
      timeNano: number;
      Actor: { ID: string; Attributes: Record<string, string> };
    };
    const name = e.Actor.Attributes.name ?? e.Actor.Attributes.container ?? e.Actor.ID.slice(0, 12);
    if (!`${name} ${JSON.stringify(e.Actor.Attributes)}`.includes('benchup')) continue;
    entries.push({ at: e.timeNano / 1e6, what: `engine: ${e.Type} ${e.Action} ${name}` });
  }
  const ids = (
    await execa('docker', [
      'ps',
      '--no-trunc',
      '--filter',
      'label=pbx.project=benchup',
      '--format',
      '{{.ID}} {{.Label "pbx.service"}}',
    ])
  ).stdout
    .split('\n')
    .map((l) => l.split(' ') as [string, ServiceName]);
  for (const [id, service] of ids) {
    const startedAt = parseTime((await execa('docker', ['inspect', '-f', '{{.State.StartedAt}}', id])).stdout);
    entries.push({ at: startedAt, what: `${service}: container State.StartedAt` });
    const { all } = await execa('docker', ['logs', '--timestamps', id], { all: true, maxBuffer: 1e8 });
    const line = all.split('\n').find((l) => STARTED_LINE[service].test(l));
    if (line) entries.push({ at: parseTime(line.slice(0, line.indexOf(' '))), what: `${service}: its "started" line` });
    const first = all.split('\n')[0];
    if (first)
      entries.push({ at: parseTime(first.slice(0, first.indexOf(' '))), what: `${service}: its first log line` });
  }
  entries.push({ at: commandAt, what: 'command started' }, { at: endAt, what: 'command ended' });
  for (const { at, what } of entries.sort((a, b) => a.at - b.at)) {
    console.log(`${String(Math.round(at - commandAt)).padStart(6)} ms  ${what}`);
  }
  await execa(pbx, ['down', '--volumes', '--config', config]);
}

await execa(pbx, ['down', '--volumes', '--config', config]);
for (let i = 0; i < Number(options.runs); i++) {
  console.log(`\n# run ${i + 1}`);
  await traceOnce();
}
rmSync(dir, { recursive: true, force: true });
