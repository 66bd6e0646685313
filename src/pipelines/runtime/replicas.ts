// --replicas N: N processes of this same binary and command line, each one worker of the pipeline's consumer
// group (Kafka splits the partitions between them, as it would between machines). A replica killed by a signal
// is started again; one that fails ends the run with its error, after the others stopped cleanly.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { sleep } from '../../async';
import { ExitCode, UserError } from '../../cli/errors';

/** Set in a replica's environment: its index among the replicas (its transactional id) and the run's end offsets. */
export const REPLICA_ENV = 'PBX_REPLICA';
export const ENDS_ENV = 'PBX_RUN_ENDS';

export interface ReplicaOptions {
  replicas: number;
  /** The command line to run again, as typed (after the program). */
  argv: string[];
  /** --until-end's targets, shared so that every replica stops at the same offsets. */
  ends?: Map<string, bigint>;
  signal: AbortSignal;
  onNote: (text: string) => void;
}

export interface ReplicaOutcome {
  /** Each replica's --json summary, when it ended by itself or by the interrupt. */
  summaries: unknown[];
  restarts: number;
}

/** Whether this process can start copies of itself: the single binary can; a script under Node is not one command. */
export function canSpawnReplicas(): boolean {
  return process.argv[1]?.startsWith('/$bunfs/') ?? false;
}

/** Runs the replicas until each ends (--until-end), one fails, or the signal stops them all. */
export async function runReplicas(options: ReplicaOptions): Promise<ReplicaOutcome> {
  const running = new Map<number, ChildProcess>();
  const summaries: unknown[] = [];
  let restarts = 0;
  let failure: UserError | undefined;
  const stopAll = () => {
    for (const child of running.values()) child.kill('SIGTERM');
  };
  options.signal.addEventListener('abort', stopAll, { once: true });

  const start = async (index: number): Promise<void> => {
    while (!failure && !options.signal.aborted) {
      const child = spawnReplica(index, options);
      running.set(index, child);
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
      const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
      running.delete(index);
      // Interrupted, a replica commits what it did, prints its summary and exits 130 or 143: that counts as much.
      if (code === 0 || options.signal.aborted) {
        const summary = summaryIn(stdout);
        if (summary !== undefined) summaries.push(summary);
        return;
      }
      if (signal) {
        restarts++;
        options.onNote(
          `Replica ${index + 1} was killed (${signal}): starting it again; it goes on from the last committed batch.`,
        );
        await sleep(1000, options.signal);
        continue;
      }
      failure ??= replicaFailed(index, code ?? 1, stdout, stderr);
      stopAll();
      return;
    }
  };
  await Promise.all(Array.from({ length: options.replicas }, (_, index) => start(index)));
  options.signal.removeEventListener('abort', stopAll);
  if (failure) throw failure;
  return { summaries, restarts };
}

function spawnReplica(index: number, options: ReplicaOptions): ChildProcess {
  const ends = options.ends
    ? JSON.stringify(Object.fromEntries([...options.ends].map(([k, v]) => [k, String(v)])))
    : '';
  const argv = options.argv.includes('--json') ? options.argv : [...options.argv, '--json'];
  return spawn(process.execPath, argv, {
    env: { ...process.env, [REPLICA_ENV]: String(index), [ENDS_ENV]: ends },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A replica's --json summary, from what it printed; undefined when it printed none (killed before it could). */
function summaryIn(stdout: string): unknown {
  try {
    const doc = JSON.parse(stdout) as { error?: unknown } | null;
    return doc !== null && typeof doc === 'object' && doc.error === undefined ? doc : undefined;
  } catch {
    return undefined;
  }
}

/** A replica's own error, as it printed it (--json: the error document on stdout), under its number. */
function replicaFailed(index: number, code: number, stdout: string, stderr: string): UserError {
  let message = stderr.trim().split('\n').slice(-5).join('\n');
  let details: unknown;
  try {
    const doc = JSON.parse(stdout) as { error?: { message?: string; code?: string } };
    if (doc.error?.message) [message, details] = [doc.error.message, doc.error];
  } catch {
    // Not the JSON error document: the tail as it is.
  }
  const exitCode = (Object.values(ExitCode) as number[]).includes(code) ? (code as ExitCode) : ExitCode.userError;
  return new UserError(`Replica ${index + 1} stopped: ${message}`, { code: 'REPLICA_FAILED', exitCode, details });
}

/** In a replica: its index and the run's shared end offsets, from its environment. */
export function replicaSettings(env: NodeJS.ProcessEnv = process.env): {
  replica?: number;
  ends?: Map<string, bigint>;
} {
  const replica = env[REPLICA_ENV] === undefined ? undefined : Number(env[REPLICA_ENV]);
  const ends = env[ENDS_ENV]
    ? new Map(Object.entries(JSON.parse(env[ENDS_ENV]) as Record<string, string>).map(([k, v]) => [k, BigInt(v)]))
    : undefined;
  return { replica, ends };
}
