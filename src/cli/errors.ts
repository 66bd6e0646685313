import { receivedSignal } from './interrupt';

/** Documented exit codes: README.md lists the same table. */
export const ExitCode = {
  ok: 0,
  userError: 1,
  usage: 2,
  unhealthy: 3,
  bug: 70,
  interrupted: 130,
  /** SIGTERM (docker stop, systemd, kill): 128 + 15, as a shell reports it. */
  terminated: 143,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit code of a run a signal ended: 128 + its number, as shells and supervisors expect. */
export function interruptExitCode(): ExitCode {
  return receivedSignal() === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted;
}

export interface UserErrorOptions {
  /** Why it happened, when the message alone does not say. */
  hint?: string;
  /** What the user can do now, one step per entry. */
  nextSteps?: string[];
  exitCode?: ExitCode;
  /**
   * A stable machine-readable code for --json consumers, e.g. "CONFIG_INVALID": one per situation, with one exit
   * code, whichever command meets it (a topic Kafka refuses is TOPIC_REFUSED, exit 1, in up and replay alike).
   */
  code?: string;
  cause?: unknown;
  /** Structured context for --json consumers (e.g. the failing services). */
  details?: unknown;
  /** The command already printed the failure (e.g. a report with ok=false): only exit with the code. */
  alreadyReported?: boolean;
}

/** An error the user can act on: printed without a stack, with a hint and next steps. */
export class UserError extends Error {
  readonly hint?: string;
  readonly nextSteps: string[];
  readonly exitCode: ExitCode;
  readonly code: string;
  readonly details?: unknown;
  readonly alreadyReported: boolean;

  constructor(message: string, options: UserErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'UserError';
    this.hint = options.hint;
    this.nextSteps = options.nextSteps ?? [];
    this.exitCode = options.exitCode ?? ExitCode.userError;
    this.code = options.code ?? 'USER_ERROR';
    this.details = options.details;
    this.alreadyReported = options.alreadyReported ?? false;
  }
}

/** The command line itself is wrong (unknown flag, missing argument). */
export class UsageError extends UserError {
  constructor(message: string, options: Omit<UserErrorOptions, 'exitCode'> = {}) {
    super(message, { code: 'USAGE', ...options, exitCode: ExitCode.usage });
    this.name = 'UsageError';
  }
}

/** The user pressed Ctrl-C (or the process got SIGTERM); `summary` says what was done before. */
export class InterruptedError extends UserError {
  constructor(message = 'Interrupted.', options: Omit<UserErrorOptions, 'exitCode'> = {}) {
    super(message, { code: 'INTERRUPTED', ...options, exitCode: interruptExitCode() });
    this.name = 'InterruptedError';
  }
}

/** The shape every error takes in --json output. */
export interface ErrorJson {
  error: {
    code: string;
    message: string;
    hint?: string;
    nextSteps?: string[];
    exitCode: number;
    stack?: string;
    details?: unknown;
  };
}

/** Anything with these fields (oclif's own errors included) is reported as a usage error. */
interface OclifLikeError {
  oclif?: { exit?: number };
  code?: string;
}

/**
 * Turns any thrown value into a UserError or marks it as a bug (exit 70). `command`, when known, is the one whose
 * help a usage error points to.
 */
export function classifyError(error: unknown, command?: string): { userError?: UserError; bug?: Error } {
  if (error instanceof UserError) return { userError: error };
  const e = error as OclifLikeError & Error;
  // oclif's parser errors and "command not found" carry oclif.exit; both are usage errors.
  if (e && typeof e === 'object' && e.oclif && e.message) {
    const exit = e.oclif.exit;
    if (exit === 0) return {};
    return {
      userError: new UsageError(tidyOclifMessage(stripAnsi(e.message)), {
        nextSteps: [
          command
            ? `Run \`pbx help ${command}\` for its flags and examples.`
            : 'Run `pbx help` for the list of commands and `pbx help <command>` for its flags.',
        ],
      }),
    };
  }
  return { bug: error instanceof Error ? error : new Error(String(error)) };
}

/**
 * oclif's "Parsing --count \n\tExpected an integer greater than or equal to 1 but received: 0\nSee more help with
 * --help" as one line in pbx's voice: "--count: expected an integer greater than or equal to 1, got 0". The help
 * pointer goes: the error's next steps give it.
 */
export function tidyOclifMessage(message: string): string {
  const text = message
    .replace(/\s*See more help with --help\s*$/, '')
    .replace(/^The following errors? occurred:\s*/, '')
    .replace(/^Missing required flag ([\w-]+)$/m, '--$1 is required');
  const option = /^Expected (--[\w-]+=)?(.*) to be one of: (.*)$/s.exec(text);
  if (option) {
    const [, flag, value, choices] = option;
    return `${flag ? `${flag.slice(0, -1)}: e` : 'E'}xpected one of ${choices}, got ${value}`;
  }
  const parsing = /^Parsing (--[\w-]+)\s*\n\s*Expected (.*?)(?: but received: (.*))?$/s.exec(text);
  if (!parsing) return text;
  const [, flag, expected, received] = parsing;
  return `${flag}: expected ${expected}${received === undefined ? '' : `, got ${received}`}`;
}

// eslint-disable-next-line no-control-regex -- matching the ESC of colour codes is the point
const ANSI = /\u001B\[[0-9;]*m/g;
export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}
