// A step's solution done as the learner would do it: pbx's own commands run by this same program in the project's
// directory (a command run to its end, or one left running, such as a replay at 2/s or a live pipeline), and files
// written from the tutorial's solution.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, UserError } from '../cli/errors';
import { shellQuote } from '../cli/output';
import { tutorialFile } from './files';
import { writeProjectFile } from './project';
import type { Action } from './types';

/** How many times a command left running is started again after it ended with exit 3. */
const RESTARTS = 3;

/** Where the commands a solution runs write their output, in the project. */
export const SOLUTION_LOG = '.pbx/tutorial.log';

/** This program as a command: the single binary itself, or Node with the script (and loader) that runs pbx. */
export function pbxProgram(): { file: string; args: string[] } {
  const script = process.argv[1];
  if (script === undefined || script.startsWith('/$bunfs/')) return { file: process.execPath, args: [] };
  return { file: process.execPath, args: [...process.execArgv, script] };
}

/** A pbx command as the learner would type it: `pbx` and its arguments, each quoted for the shell where needed. */
export function pbxCommandLine(argv: string[]): string {
  return `pbx ${argv.map(shellQuote).join(' ')}`;
}

/** How an action reads as a line the learner could type. */
export function describeAction(action: Action): string {
  switch (action.kind) {
    case 'run':
      return `$ ${pbxCommandLine(action.argv)}`;
    case 'start':
      return `$ ${pbxCommandLine(action.argv)}   (left running)`;
    case 'stop':
      return `Ctrl-C the ${action.name}`;
    case 'kill':
      return `kill -9 one of the ${action.name}, ${action.afterMs / 1000} s later`;
    case 'write':
      return `write ${action.path}`;
  }
}

export interface SolutionRunner {
  /** Does one action; a command that fails rejects with its exit code and the end of its output. */
  run(action: Action): Promise<void>;
  /** Commands left running, by name. */
  running(): string[];
  /** Stops every command left running (as Ctrl-C does) and waits for them. */
  stopAll(): Promise<void>;
}

/** Runs solutions' actions in the project at `dir`; `onLine` gets a line for each action and each command's end. */
export function solutionRunner(options: {
  tutorial: string;
  dir: string;
  onLine?: (line: string) => void;
  /** Aborted (Ctrl-C): the command being run to its end is stopped as Ctrl-C would stop it. */
  signal?: AbortSignal;
}): SolutionRunner {
  const { tutorial, dir } = options;
  const say = options.onLine ?? (() => undefined);
  const background = new Map<string, ChildProcess>();
  let log: WriteStream | undefined;
  const logStream = () => {
    if (!log) {
      mkdirSync(join(dir, '.pbx'), { recursive: true });
      log = createWriteStream(join(dir, SOLUTION_LOG), { flags: 'a' });
    }
    return log;
  };
  const start = (argv: string[]) => {
    const program = pbxProgram();
    const child = spawn(program.file, [...program.args, ...argv], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1', PBX_JSON: undefined },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail: string[] = [];
    const keep = (chunk: Buffer) => {
      logStream().write(chunk);
      tail.push(...chunk.toString().split('\n').filter(Boolean));
      tail.splice(0, Math.max(0, tail.length - 8));
    };
    logStream().write(`\n$ ${pbxCommandLine(argv)}\n`);
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    return { child, tail };
  };
  const stop = async (name: string) => {
    const child = background.get(name);
    background.delete(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  };
  // A command left running that ends with exit 3 (Kafka, Cassandra or Redis away) says to run it again, and goes on
  // from where it stopped: the runner does as the learner would, a few times.
  const keepRunning = (name: string, argv: string[], restarts: number) => {
    const { child, tail } = start(argv);
    background.set(name, child);
    child.on('exit', (code) => {
      if (background.get(name) !== child || code === 0) return;
      const again = code === ExitCode.unhealthy && restarts > 0;
      say(`the ${name} ended (exit ${code}): ${tail.at(-1) ?? ''}${again ? '; running it again' : ''}`);
      if (again) keepRunning(name, argv, restarts - 1);
    });
  };
  return {
    async run(action) {
      say(describeAction(action));
      switch (action.kind) {
        case 'write':
          return writeProjectFile(dir, action.path, tutorialFile(tutorial, action.from));
        case 'stop':
          return stop(action.name);
        case 'kill': {
          await new Promise((resolve) => setTimeout(resolve, action.afterMs));
          const worker = childrenOf(background.get(action.name)?.pid).at(-1);
          if (worker === undefined) throw new UserError(`The ${action.name} run no worker to kill.`);
          process.kill(worker, 'SIGKILL');
          say(`killed worker ${worker} of the ${action.name}`);
          return;
        }
        case 'start':
          await stop(action.name);
          keepRunning(action.name, action.argv, RESTARTS);
          return;
        case 'run': {
          const { child, tail } = start(action.argv);
          const interrupt = () => child.kill('SIGINT');
          options.signal?.addEventListener('abort', interrupt, { once: true });
          const [code] = (await once(child, 'exit')) as [number | null];
          options.signal?.removeEventListener('abort', interrupt);
          if (code === 0) return;
          throw new UserError(
            `\`${pbxCommandLine(action.argv)}\` failed (exit ${code ?? 'by a signal'}): ${tail.join(' / ')}`,
            {
              code: 'TUTORIAL_SOLUTION_FAILED',
              nextSteps: [`Its whole output is in ${join(dir, SOLUTION_LOG)}.`],
            },
          );
        }
      }
    },
    running: () => [...background.keys()],
    async stopAll() {
      await Promise.all([...background.keys()].map(stop));
      log?.end();
      log = undefined;
    },
  };
}

/** The process ids of a process's children, oldest first (Linux: /proc, every thread's); none when it is gone. */
function childrenOf(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  try {
    const threads = readdirSync(`/proc/${pid}/task`);
    const children = threads.flatMap((thread) =>
      readFileSync(`/proc/${pid}/task/${thread}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
    return [...new Set(children)].sort((a, b) => a - b);
  } catch {
    return [];
  }
}
