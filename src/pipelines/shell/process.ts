// One `/bin/sh -c` process in a process group of its own, so that stopping it stops every command of a pipeline
// (`a | b`) and whatever they started. Its stdin is written with back-pressure while its stdout is read into lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { settlesWithin } from '../../async';
import { CommandFailed, exitFailure, outputFailure, spawnFailure, STDERR_TAIL_BYTES } from './failure';
import { ByteTail, MAX_LINE_BYTES, OutputLines } from './lines';

/** How a shell operator's command runs. */
export interface CommandOptions {
  /** Run by /bin/sh -c, in its own process group. */
  command: string;
  /** Exit codes that mean success (grep exits 1 when nothing matched: [0, 1]). */
  okExitCodes: number[];
  /** Added to pbx's own environment. */
  env?: Record<string, string>;
  cwd?: string;
  /** Longest a batch may take, from its process started (or its first line written) to its output complete. */
  timeoutMs: number;
  /** long-running: the line written after each batch and awaited in the output (default 'pbx:batch-end'). */
  marker?: string;
  /** A longer output line fails the batch ('line-too-long'); default 1 MiB. */
  maxLineBytes?: number;
}

/** How a process ended: its exit code, or the signal that ended it. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Between SIGTERM to the group and SIGKILL: long enough to flush, short enough not to hold up a failing batch. */
const TERM_GRACE_MS = 300;
/** Input is handed to stdin in pieces of about this many characters: what pbx holds of a batch beyond the pipe. */
const WRITE_CHUNK_CHARS = 64 * 1024;

/** Process groups still running, killed if pbx exits without stopping them (they are out of its own group). */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

function watchGroup(pid: number): void {
  liveGroups.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const group of liveGroups) signalGroup(group, 'SIGKILL');
  });
}

/**
 * A running command: lines written in, lines read out, its failure (if any) kept. The owner decides what a batch
 * is (runBatch: the whole run; LongRunningCommand: up to a marker) and calls stop() on any failure.
 */
export class ShellProcess {
  readonly child: ChildProcess;
  readonly stderr = new ByteTail(STDERR_TAIL_BYTES);
  /** The first thing that went wrong with the process itself (not started, output not text). */
  failure?: CommandFailed;
  /** Resolves with how the process ended once its output is read to the end. */
  readonly closed: Promise<ProcessExit>;
  /** Resolves when failure is set. */
  readonly failed: Promise<CommandFailed>;
  /** Lines handed to stdin (they may still sit in the pipe). */
  linesWritten = 0;
  /** Whether a write waits for the command to read (stdin full), and how often it did read after such a wait. */
  waitingToWrite = false;
  drains = 0;
  private readonly output: OutputLines;
  private setFailed!: (failure: CommandFailed) => void;

  constructor(
    readonly options: CommandOptions,
    onLine: (line: string) => void,
  ) {
    this.failed = new Promise((resolve) => (this.setFailed = resolve));
    this.output = new OutputLines(options.maxLineBytes ?? MAX_LINE_BYTES, onLine);
    this.child = spawn('/bin/sh', ['-c', options.command], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      // A process group of its own (setsid): killing -pid reaches every process of the command.
      detached: true,
    });
    const pid = this.child.pid;
    if (pid !== undefined) watchGroup(pid);
    this.closed = new Promise((resolve) => {
      this.child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        if (pid !== undefined) liveGroups.delete(pid);
        const problem = this.output.end();
        if (problem) this.fail(outputFailure(options.command, problem, this.stderr.text()));
        resolve({ code, signal });
      });
    });
    this.child.once('error', (error) => this.fail(spawnFailure(options.command, error, options.cwd)));
    // EPIPE when the command exits before reading all of its input: the exit code says whether that was fine.
    this.child.stdin!.on('error', () => {});
    this.child.stderr!.on('data', (chunk: Buffer) => this.stderr.push(chunk));
    this.child.stdout!.on('data', (chunk: Buffer) => {
      if (this.failure) return;
      const problem = this.output.push(chunk);
      if (problem) {
        this.fail(outputFailure(options.command, problem, this.stderr.text()));
        void this.stop();
      }
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Whether stdin can take more (the command has not exited or closed it). */
  get writable(): boolean {
    const stdin = this.child.stdin!;
    return !stdin.destroyed && !stdin.writableEnded;
  }

  /**
   * Writes the lines to stdin, a piece at a time, each after the command has read the one before (back-pressure):
   * pbx holds about one piece of the input, the pipe the rest. Lines are taken from the iterable only as they are
   * written. Stops early, without error, when stdin closes (the command exited or closed its input).
   */
  async write(lines: Iterable<string>): Promise<void> {
    let piece = '';
    for (const line of lines) {
      if (!this.writable) return;
      piece += `${line}\n`;
      this.linesWritten++;
      if (piece.length >= WRITE_CHUNK_CHARS) {
        await this.writePiece(piece);
        piece = '';
      }
    }
    if (piece && this.writable) await this.writePiece(piece);
  }

  private async writePiece(piece: string): Promise<void> {
    const stdin = this.child.stdin!;
    if (stdin.write(piece)) return;
    this.waitingToWrite = true;
    const drained = await new Promise<boolean>((resolve) => {
      const done = (value: boolean) => () => {
        stdin.off('drain', onDrain).off('close', onClose);
        resolve(value);
      };
      const onDrain = done(true);
      const onClose = done(false);
      stdin.once('drain', onDrain).once('close', onClose);
    });
    this.waitingToWrite = false;
    if (drained) this.drains++;
  }

  /** No more input: the command sees the end of its stdin. */
  endInput(): void {
    if (this.writable) this.child.stdin!.end();
  }

  /** How the command failed when it ended: its own failure first, else its exit code against the ok ones. */
  exitFailure(exit: ProcessExit): CommandFailed | undefined {
    return this.failure ?? exitFailure(this.options.command, exit, this.options.okExitCodes, this.stderr.text());
  }

  /**
   * Stops the whole process group: SIGTERM, a short grace, then SIGKILL in any case (a child that ignored SIGTERM
   * or outlived the shell). Resolves when the output is closed, i.e. every process that held it is gone.
   */
  async stop(): Promise<void> {
    const pid = this.child.pid;
    this.child.stdin!.destroy();
    if (pid === undefined) return;
    signalGroup(pid, 'SIGTERM');
    await settlesWithin(this.closed, TERM_GRACE_MS);
    signalGroup(pid, 'SIGKILL');
    await settlesWithin(this.closed, 5000);
  }

  /** Kills what is left of the group after the shell exited by itself (a command it started in the background). */
  reapGroup(): void {
    if (this.child.pid !== undefined) signalGroup(this.child.pid, 'SIGKILL');
  }

  private fail(failure: CommandFailed): void {
    if (this.failure) return;
    this.failure = failure;
    this.setFailed(failure);
  }
}
