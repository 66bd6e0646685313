// How a shell command failed, worded for the user: what happened, why, what to do. The runtime puts the message,
// the stderr tail and the batch's offsets in a dead letter's reason, or ends the run with it (--on-error stop).
import { constants } from 'node:os';
import type { OutputProblem } from './lines';

export type FailureReason =
  'not-found' | 'exit' | 'signal' | 'timeout' | 'no-input' | 'binary-output' | 'line-too-long' | 'spawn';

/** How much of a command's stderr a failure keeps: its last 2 KiB. */
export const STDERR_TAIL_BYTES = 2048;

export interface FailureDetails {
  reason: FailureReason;
  command: string;
  exitCode?: number;
  signal?: string;
  stderrTail: string;
}

/**
 * A shell command that did not complete its batch: the batch fails as a whole. Not a UserError (whose exitCode is
 * pbx's own): the runtime words it into the batch's failure under --on-error.
 */
export class CommandFailed extends Error {
  readonly reason: FailureReason;
  readonly command: string;
  readonly exitCode?: number;
  readonly signal?: string;
  /** The last 2 KiB of the command's stderr. */
  readonly stderrTail: string;

  constructor(message: string, details: FailureDetails) {
    super(message);
    this.name = 'CommandFailed';
    this.reason = details.reason;
    this.command = details.command;
    this.exitCode = details.exitCode;
    this.signal = details.signal;
    this.stderrTail = details.stderrTail;
  }
}

/** The command as messages show it: on one line, cut when long. */
export function shownCommand(command: string): string {
  const line = command.replace(/\s+/g, ' ').trim();
  return `\`${line.length > 80 ? `${line.slice(0, 77)}...` : line}\``;
}

/** The last line of stderr worth quoting in a message, or ''. */
function lastWords(stderrTail: string): string {
  const line = stderrTail.trimEnd().split('\n').pop()?.trim() ?? '';
  return line ? ` ("${line.length > 200 ? `${line.slice(0, 197)}...` : line}")` : '';
}

/** A process that ended: undefined when its exit code is ok, else why it failed. */
export function exitFailure(
  command: string,
  exit: { code: number | null; signal: NodeJS.Signals | null },
  okExitCodes: readonly number[],
  stderrTail: string,
): CommandFailed | undefined {
  const shown = shownCommand(command);
  const said = lastWords(stderrTail);
  if (exit.signal) {
    return new CommandFailed(
      `the command ${shown} was killed by ${exit.signal}${said}: it crashed or something outside pbx stopped it; run it by hand on the batch's input to see why`,
      { reason: 'signal', command, signal: exit.signal, stderrTail },
    );
  }
  const code = exit.code ?? 1;
  if (okExitCodes.includes(code)) return undefined;
  if (code === 127) {
    const name = /([^\s:]+): (?:command )?not found/.exec(stderrTail)?.[1] ?? command.trim().split(/\s+/)[0] ?? '';
    return new CommandFailed(`the command \`${name}\` was not found (sh exit 127)${said}: check its name and PATH`, {
      reason: 'not-found',
      command,
      exitCode: code,
      stderrTail,
    });
  }
  // sh reports a command a signal ended as 128 + the signal's number.
  const signal = code > 128 ? Object.entries(constants.signals).find(([, n]) => n === code - 128)?.[0] : undefined;
  if (signal) {
    return new CommandFailed(
      `the command ${shown} exited with code ${code} (128 + ${signal}: a command in it was killed by ${signal})${said}: it crashed or something outside pbx stopped it; run it by hand on the batch's input to see why`,
      { reason: 'signal', command, exitCode: code, signal, stderrTail },
    );
  }
  const why = code === 126 ? ' (sh exit 126: found but not executable, check its permissions)' : '';
  return new CommandFailed(
    `the command ${shown} exited with code ${code}${why}${said}, and success is ${okExitCodes.join(' or ')}: see its stderr; if ${code} means success for it, add it to okExitCodes`,
    { reason: 'exit', command, exitCode: code, stderrTail },
  );
}

/** Output that is not lines of text: the command was stopped at the first sign of it. */
export function outputFailure(command: string, problem: OutputProblem, stderrTail: string): CommandFailed {
  const shown = shownCommand(command);
  if (problem.reason === 'binary-output') {
    return new CommandFailed(
      `the command ${shown} printed binary output (${problem.what} in output line ${problem.line}): a shell operator's output is text, one record a line; encode binary data (base64, hex) before printing it`,
      { reason: 'binary-output', command, stderrTail },
    );
  }
  return new CommandFailed(
    `the command ${shown} printed a line longer than ${problem.maxLineBytes} bytes (output line ${problem.line}), so it was stopped there: print one record a line, or raise maxLineBytes`,
    { reason: 'line-too-long', command, stderrTail },
  );
}

/** The process could not be started at all (no /bin/sh, a working directory that is not there, no more processes). */
export function spawnFailure(command: string, error: Error, cwd: string | undefined): CommandFailed {
  const where = cwd ? ` in ${cwd}` : '';
  return new CommandFailed(
    `the command ${shownCommand(command)} could not be started${where}: ${error.message}; check that the working directory exists and /bin/sh runs`,
    { reason: 'spawn', command, stderrTail: '' },
  );
}

/** Where a batch stood when its time ran out: whether the command was reading its input at all. */
export interface TimeoutState {
  command: string;
  timeoutMs: number;
  linesWritten: number;
  /** A write waits for the command to read (its stdin is full). */
  waitingToWrite: boolean;
  /** How often the command read after stdin was full. */
  drains: number;
  /** long-running: the marker line awaited. */
  marker?: string;
  stderrTail: string;
}

/** The batch took longer than its timeout: the command stopped reading (no-input), hung, or never gave the marker. */
export function timeoutFailure(state: TimeoutState): CommandFailed {
  const { command, stderrTail } = state;
  const shown = shownCommand(command);
  const after = `after ${formatMs(state.timeoutMs)}`;
  if (state.waitingToWrite && state.drains === 0) {
    return new CommandFailed(
      `the command ${shown} did not read its input: ${after} its stdin was still full (${lineCount(state.linesWritten)} written so far), so it was stopped; a shell operator's command must read every line of its stdin, or exit`,
      { reason: 'no-input', command, stderrTail },
    );
  }
  if (state.waitingToWrite) {
    return new CommandFailed(
      `the command ${shown} was still reading its input ${after} (${lineCount(state.linesWritten)} written so far), so it was stopped: it is slower than the timeout allows; raise the timeout or give it smaller batches`,
      { reason: 'timeout', command, stderrTail },
    );
  }
  if (state.marker !== undefined) {
    return new CommandFailed(
      `the command ${shown} did not print the marker line "${state.marker}" within ${formatMs(state.timeoutMs)} of its batch, so it was stopped: a long-running command must print the marker when it reads it, and flush its output (grep --line-buffered, sed -u, awk's fflush(), stdbuf -oL)`,
      { reason: 'timeout', command, stderrTail },
    );
  }
  return new CommandFailed(
    `the command ${shown} did not finish ${after} (${lineCount(state.linesWritten)} written, stdin closed), so it was stopped: it hangs or waits for something; raise the timeout if it is only slow`,
    { reason: 'timeout', command, stderrTail },
  );
}

function lineCount(n: number): string {
  return n === 1 ? '1 line' : `${n} lines`;
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** A long-running command ended while a batch was fed, before that batch's marker came back. */
export function endedInBatchFailure(
  command: string,
  exit: { code: number | null; signal: NodeJS.Signals | null },
  okExitCodes: readonly number[],
  stderrTail: string,
): CommandFailed {
  const failed = exitFailure(command, exit, okExitCodes, stderrTail);
  if (failed) return failed;
  return new CommandFailed(
    `the command ${shownCommand(command)} exited (code ${exit.code}) before it printed its batch's marker: a long-running command must read its stdin to the end, printing the marker line after each batch; the batch fails and the next one starts it again`,
    { reason: 'exit', command, exitCode: exit.code ?? undefined, stderrTail },
  );
}
