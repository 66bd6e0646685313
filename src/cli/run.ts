import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import pjson from '../../package.json' with { type: 'json' };
import { classifyError, ExitCode, interruptExitCode, UsageError, type ErrorJson, type UserError } from './errors';
import { exitOnBrokenPipe } from './broken-pipe';
import { installInterruptHandlers } from './interrupt';
import { Output } from './output';

/** Runs the CLI with `argv` and returns the exit code; every error is printed here and only here. */
export async function runCli(argv: string[]): Promise<number> {
  const json = argv.includes('--json') || isTruthy(process.env.PBX_JSON);
  const debug = argv.includes('--debug') || isTruthy(process.env.PBX_DEBUG);
  installInterruptHandlers(() => process.exit(interruptExitCode()));
  // The reader of stdout went away (`pbx data gen reviews | head`): there is nothing more to say, as for any
  // Unix tool, whether a write in flight or a later one finds it gone. (Once per process: tests run many commands.)
  if (!process.stdout.listeners('error').includes(exitOnBrokenPipe)) process.stdout.on('error', exitOnBrokenPipe);
  try {
    await runOclif(argv);
    return Number(process.exitCode ?? ExitCode.ok);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPIPE' && process.stdout.destroyed) return ExitCode.ok;
    return reportError(error, Output.forProcess(json), debug);
  }
}

async function runOclif(argv: string[]): Promise<void> {
  // oclif's engine check reads a package.json through a path bun bakes in at build time.
  process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1';
  // `--version` needs no command: skipping their modules keeps it fast.
  const versionOnly = argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v');
  const [{ Plugin, run }, { COMMANDS, stray }] = await Promise.all([
    import('@oclif/core'),
    versionOnly
      ? { COMMANDS: {}, stray: undefined }
      : import('../commands').then(async (m) => {
          const misuse = m.commandLineError(argv);
          if (misuse !== undefined) throw misuse;
          const commands = await m.commandsFor(argv);
          return { COMMANDS: commands, stray: m.strayWord(argv, commands) };
        }),
  ]);
  if (stray !== undefined) {
    throw new UsageError(`pbx ${stray.command} takes no argument, and "${stray.word}" was given.`, {
      nextSteps: [`Run \`pbx help ${stray.command}\` for what it takes.`],
    });
  }
  const root = dirname(fileURLToPath(import.meta.url));
  // Inside the single binary there is no package.json on disk: hand oclif the embedded one and the
  // command map, instead of letting it discover them from the file system.
  const plugin = new Plugin({ root, pjson: pjson as never, isRoot: true, ignoreManifest: true });
  (plugin as unknown as { commandCache: unknown }).commandCache = COMMANDS;
  await plugin.load();
  const ids = Object.keys(COMMANDS);
  const command = ids.length === 1 ? ids[0]!.replaceAll(':', ' ') : undefined;
  try {
    await run(argv, {
      root,
      pjson: pjson as never,
      plugins: new Map([[plugin.name, plugin]]),
      userPlugins: false,
      devPlugins: false,
    });
  } catch (error) {
    throw classifyError(error, command).userError ?? error; // a flag's error points to its command's help
  }
  await flushStdout();
}

/**
 * Waits, at most 10 s, until stdout has taken what was written: the process exits right after. (oclif's own flush
 * does the same but leaves a 'drain' listener behind at each call, which the tests, running many commands in one
 * process, were warned about.)
 */
async function flushStdout(): Promise<void> {
  if (process.stdout.write('')) return;
  await once(process.stdout, 'drain', { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
}

/** Prints an error the way the user asked (text or JSON) and returns its exit code. */
export function reportError(error: unknown, out: Output, debug: boolean): number {
  const { userError, bug } = classifyError(error);
  if (userError) {
    if (userError.alreadyReported) return userError.exitCode;
    if (out.json) out.document(toErrorJson(userError, debug));
    else out.errorText(formatUserError(userError, out, debug));
    return userError.exitCode;
  }
  if (!bug) return ExitCode.ok;
  if (out.json) {
    out.document({
      error: { code: 'BUG', message: bug.message, exitCode: ExitCode.bug, stack: debug ? bug.stack : undefined },
    } satisfies ErrorJson);
  } else {
    const s = out.style;
    out.errorText(`${s.red(s.bold('Error (bug in pbx):'))} ${bug.message}`);
    out.errorText(debug ? (bug.stack ?? '') : s.dim('Run again with --debug for the stack trace, and report it.'));
  }
  return ExitCode.bug;
}

function formatUserError(error: UserError, out: Output, debug: boolean): string {
  const s = out.style;
  const lines = [`${s.red(s.bold('Error:'))} ${error.message}`];
  if (error.hint) lines.push(s.dim(error.hint));
  if (error.nextSteps.length > 0) {
    lines.push('', 'What to do:', ...error.nextSteps.map((step) => `  • ${step}`));
  }
  if (debug && error.stack) lines.push('', s.dim(error.stack));
  return lines.join('\n');
}

function toErrorJson(error: UserError, debug: boolean): ErrorJson {
  return {
    error: {
      code: error.code,
      message: error.message,
      hint: error.hint,
      nextSteps: error.nextSteps.length > 0 ? error.nextSteps : undefined,
      exitCode: error.exitCode,
      details: error.details,
      stack: debug ? error.stack : undefined,
    },
  };
}

function isTruthy(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}
