import { execa } from 'execa';
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

/** Runs the compiled binary as a user would. */
export async function runBinary(
  argv: string[],
  options: { cwd?: string; env?: Record<string, string>; input?: string; binary?: string } = {},
): Promise<CliResult> {
  const result = await execa(options.binary ?? BINARY, argv, {
    cwd: options.cwd,
    env: { NO_COLOR: '1', ...options.env },
    input: options.input,
    reject: false,
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Writes `count` generated reviews to `file` (pbx data gen, in process) and returns their lines. */
export async function generateReviews(file: string, count: number, seed: number): Promise<string[]> {
  const result = await runInProcess([
    'data',
    'gen',
    'reviews',
    '--count',
    String(count),
    '--seed',
    String(seed),
    '--out',
    file,
  ]);
  if (result.exitCode !== 0) throw new Error(`pbx data gen failed: ${result.stderr}`);
  return readFileSync(file, 'utf8').trimEnd().split('\n');
}

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
