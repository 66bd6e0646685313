import { execa, type ResultPromise } from 'execa';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { runCli } from '../../src/cli/run';

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs pbx in this process (oclif's run, not a child), capturing what it writes. */
export async function runInProcess(argv: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const out: string[] = [];
  const err: string[] = [];
  const write = (sink: string[]) =>
    ((chunk: string | Uint8Array) => {
      sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
      return true;
    }) as typeof process.stdout.write;
  const originalOut = process.stdout.write.bind(process.stdout);
  const originalErr = process.stderr.write.bind(process.stderr);
  const originalLog = console.log;
  process.stdout.write = write(out);
  process.stderr.write = write(err);
  // oclif prints help and version through console.log.
  console.log = (...args: unknown[]) => void out.push(`${args.join(' ')}\n`);
  try {
    const exitCode = await runCli(argv);
    return { exitCode, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = originalOut;
    process.stderr.write = originalErr;
    console.log = originalLog;
    process.env = saved;
    process.exitCode = undefined;
  }
}

export const BINARY = resolve(import.meta.dirname, '../../dist/pbx');

export interface BinaryOptions {
  cwd?: string;
  env?: Record<string, string>;
  input?: string;
  timeout?: number;
  binary?: string;
}

/** Starts the compiled binary as a user would, and returns the running child (it never rejects on an exit code). */
export function startBinary(argv: string[], options: BinaryOptions = {}): ResultPromise<{ reject: false }> {
  const { binary = BINARY, ...rest } = options;
  return execa(binary, argv, { ...rest, reject: false });
}

/** Runs the compiled binary as a user would, with no colour. */
export async function runBinary(argv: string[], options: BinaryOptions = {}): Promise<CliResult> {
  const result = await startBinary(argv, { ...options, env: { NO_COLOR: '1', ...options.env } });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Writes `count` generated records of `kind` (pbx data gen, in process) to `file` and returns their lines. */
export async function generateData(kind: string, file: string, count: number, seed: number): Promise<string[]> {
  const result = await runInProcess([
    'data',
    'gen',
    kind,
    '--count',
    String(count),
    '--seed',
    String(seed),
    '--out',
    file,
  ]);
  if (result.exitCode !== 0) throw new Error(`pbx data gen ${kind} failed: ${result.stderr}`);
  return readFileSync(file, 'utf8').trimEnd().split('\n');
}

/** Writes `count` generated reviews to `file` and returns their lines. */
export const generateReviews = (file: string, count: number, seed: number): Promise<string[]> =>
  generateData('reviews', file, count, seed);

/** The names a help text lists under COMMANDS and TOPICS: "up", "data", or in a topic's help "images build". */
export function helpListing(help: string): string[] {
  const names: string[] = [];
  let inList = false;
  for (const line of help.split('\n')) {
    if (/^[A-Z ]+$/.test(line)) inList = line === 'COMMANDS' || line === 'TOPICS';
    else if (inList) names.push(...(/^ {2}([a-z][\w-]*(?: [a-z][\w-]*)*) {2}/.exec(line)?.slice(1) ?? []));
  }
  return names.sort();
}

/** What help should list for command ids such as `up` and `images:build`: at the top, or in `topic`'s help. */
export function expectedListing(ids: string[], topic?: string): string[] {
  const names = topic
    ? ids.filter((id) => id.startsWith(`${topic}:`)).map((id) => id.replace(':', ' '))
    : ids.map((id) => id.split(':')[0]!);
  return [...new Set(names)].sort();
}
