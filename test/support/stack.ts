import { execa, type ResultPromise } from 'execa';
import { expect } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInProcess, startBinary, type CliResult } from './cli';

/** Of this run of a test file: its projects are its own, never those of another run or one left over. */
const RUN = randomBytes(3).toString('hex');

/** The project a test names `name`, made this run's own: the same name within a file is the same project. */
export function projectName(name: string): string {
  return `${name}-${RUN}`;
}

/** A throwaway pbx project: its own name, ports and directory, so tests never meet a real stack. */
export interface TestProject {
  name: string;
  dir: string;
  file: string;
  /** Runs pbx in-process against this project. */
  pbx(argv: string[], env?: Record<string, string>): Promise<CliResult>;
  /** Starts the compiled binary against this project, in its directory (where its pipelines/ are). */
  binary(
    argv: string[],
    options?: { env?: Record<string, string>; timeout?: number },
  ): ResultPromise<{ reject: false }>;
  /** Same, expecting --json output: returns the parsed document and the exit code. */
  json<T = Record<string, unknown>>(argv: string[]): Promise<{ exitCode: number; doc: T; stderr: string }>;
  write(yaml: string): void;
}

/** A project named `name` plus this run's suffix (see projectName), with `yaml` as its pbx.yaml. */
export function testProject(shortName: string, yaml: string): TestProject {
  const name = projectName(shortName);
  const dir = mkdtempSync(join(tmpdir(), `pbx-it-${name}-`));
  const file = join(dir, 'pbx.yaml');
  const project: TestProject = {
    name,
    dir,
    file,
    pbx: (argv, env) => runInProcess([...argv, '--config', file], env),
    binary: (argv, options) => startBinary([...argv, '--config', file], { cwd: dir, ...options }),
    json: async <T>(argv: string[]) => {
      const result = await runInProcess([...argv, '--json', '--config', file]);
      let doc: T;
      try {
        doc = JSON.parse(result.stdout) as T;
      } catch {
        throw new Error(`not JSON (exit ${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
      }
      return { exitCode: result.exitCode, doc, stderr: result.stderr };
    },
    write: (text) => writeFileSync(file, `name: ${name}\nimages: local\n${text}`),
  };
  project.write(yaml);
  return project;
}

/** Starts a project's services (`pbx up`, in process) afresh, whatever a run before left: all of them if none is named. */
export async function startStack(project: TestProject, ...services: string[]): Promise<void> {
  await purge(project.name);
  const up = await project.pbx(['up', ...services]);
  expect(up.exitCode, up.stdout + up.stderr).toBe(0);
}

/** The id of a project's container of a service, found by pbx's labels. */
export async function containerOf(project: string, service: string): Promise<string> {
  const filters = ['--filter', `label=pbx.project=${project}`, '--filter', `label=pbx.service=${service}`];
  const id = (await sh('docker', ['ps', '-aq', ...filters])).trim();
  if (!id) throw new Error(`no ${service} container for ${project}`);
  return id;
}

/** Runs a command and returns its stdout (throws with stderr on failure). */
export async function sh(command: string, args: string[], input?: string): Promise<string> {
  const result = await execa(command, args, { input, timeout: 60_000 });
  return result.stdout;
}

/**
 * Runs one of Kafka's own tools (`toolClass`, as kafka-run-class.sh names it: org.apache.kafka.tools.TopicCommand…) in a
 * container of pbx's Kafka image on the project's network, as a client among the services reaches Kafka; its stdout.
 */
export function kafkaToolInNetwork(project: string, toolClass: string, args: string[]): Promise<string> {
  return sh('docker', [
    'run',
    '--rm',
    '--network',
    `pbx-${project}`,
    '-e',
    'KAFKA_HEAP_OPTS=-Xmx128m',
    'pbx/kafka:3.9.1',
    'kafka-run-class.sh',
    toolClass,
    ...args,
  ]);
}

/** Names of the containers carrying a project's label (independent of pbx's own code). */
export async function containersOf(project: string): Promise<string[]> {
  const out = await sh('docker', ['ps', '-a', '--filter', `label=pbx.project=${project}`, '--format', '{{.Names}}']);
  return out.split('\n').filter(Boolean).sort();
}

export async function networksOf(project: string): Promise<string[]> {
  const out = await sh('docker', [
    'network',
    'ls',
    '--filter',
    `label=pbx.project=${project}`,
    '--format',
    '{{.Name}}',
  ]);
  return out.split('\n').filter(Boolean).sort();
}

export async function volumesOf(project: string): Promise<string[]> {
  const out = await sh('docker', ['volume', 'ls', '--filter', `label=pbx.project=${project}`, '--format', '{{.Name}}']);
  return out.split('\n').filter(Boolean).sort();
}

/** Removes everything of a project, whatever state a failed test left it in. */
export async function purge(project: string): Promise<void> {
  const ids = (await sh('docker', ['ps', '-aq', '--filter', `label=pbx.project=${project}`]))
    .split('\n')
    .filter(Boolean);
  if (ids.length > 0) await execa('docker', ['rm', '-f', ...ids], { reject: false });
  const volumes = await volumesOf(project);
  if (volumes.length > 0) await execa('docker', ['volume', 'rm', '-f', ...volumes], { reject: false });
  const networks = (await sh('docker', ['network', 'ls', '-q', '--filter', `label=pbx.project=${project}`]))
    .split('\n')
    .filter(Boolean);
  if (networks.length > 0) await execa('docker', ['network', 'rm', ...networks], { reject: false });
}

/**
 * A TCP port nothing listens on now, for a service of a test's own. Drawn below the range the system gives
 * outgoing connections (32768 and up), where one of those could take it before the service listens.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const server = createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (free) {
      await new Promise((resolve) => server.close(resolve));
      return port;
    }
  }
}
