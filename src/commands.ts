import type { Command } from '@oclif/core';
import { UsageError } from './cli/errors';
import { closest } from './cli/similar';

type Loader = () => Promise<{ default: Command.Class }>;

/**
 * Every command, by id, loaded when asked for. The single binary cannot discover command files on disk, so oclif
 * is given the commands it needs (see commandsFor).
 */
const COMMANDS: Record<string, Loader> = {
  completion: () => import('./commands/completion'),
  config: () => import('./commands/config'),
  'data:gen': () => import('./commands/data/gen'),
  doctor: () => import('./commands/doctor'),
  down: () => import('./commands/down'),
  env: () => import('./commands/env'),
  help: () => import('./commands/help'),
  'images:build': () => import('./commands/images/build'),
  'images:list': () => import('./commands/images/list'),
  init: () => import('./commands/init'),
  logs: () => import('./commands/logs'),
  replay: () => import('./commands/replay'),
  run: () => import('./commands/run'),
  status: () => import('./commands/status'),
  top: () => import('./commands/top'),
  up: () => import('./commands/up'),
};

/**
 * The commands oclif needs to run `argv`: only the one it names, so that only that command's modules load (a
 * replay starts without the stack's or the dashboard's), else all of them (help, no command, an unknown one).
 */
export async function commandsFor(argv: string[]): Promise<Record<string, Command.Class>> {
  const named = [argv.slice(0, 2).join(':'), argv[0] ?? ''].find((id) => id in COMMANDS);
  const help = named === 'help' || argv.includes('--help') || argv.includes('-h');
  const ids = named && !help ? [named] : Object.keys(COMMANDS);
  const modules = await Promise.all(ids.map((id) => COMMANDS[id]!()));
  return Object.fromEntries(ids.map((id, i) => [id, modules[i]!.default]));
}

/**
 * A word after a command that takes no arguments (`pbx down kafka`), which oclif would read as part of the
 * command's name and report as an unknown command.
 */
export function strayWord(
  argv: string[],
  commands: Record<string, Command.Class>,
): { command: string; word: string } | undefined {
  const ids = Object.keys(commands);
  if (ids.length !== 1) return undefined;
  const [id] = ids as [string];
  const word = argv[id.split(':').length];
  const takesWords = commands[id]!.strict === false || Object.keys(commands[id]!.args ?? {}).length > 0;
  if (word === undefined || word.startsWith('-') || takesWords) return undefined;
  return { command: id.replaceAll(':', ' '), word };
}

/**
 * What is wrong with a command line oclif would answer only with "command X not found": a mistyped command
 * (`pbx replya`, `pbx images bild`), with the one it most likely meant, or flags before the command
 * (`pbx --debug up`), which oclif reads only after it.
 */
export function commandLineError(argv: string[]): UsageError | undefined {
  const ids = Object.keys(COMMANDS);
  const topics = new Set(ids.flatMap((id) => (id.includes(':') ? [id.split(':')[0]!] : [])));
  const [first, second] = argv;
  if (first === undefined || ['--help', '-h', '--version', '-v'].some((flag) => argv.includes(flag))) return undefined;
  if (first.startsWith('-')) {
    const at = argv.findIndex((word) => word in COMMANDS || topics.has(word));
    if (at === -1) {
      // oclif would answer "command --json not found".
      return new UsageError(`pbx ${argv.join(' ')}: ${first} is a flag of a command, and no command was given.`, {
        nextSteps: [`Put it after a command, e.g. \`pbx status ${first}\`; \`pbx help\` lists the commands.`],
      });
    }
    const reordered = [...argv.slice(at, topics.has(argv[at]!) ? at + 2 : at + 1), ...argv.slice(0, at)];
    const rest = argv.slice(reordered.length);
    return new UsageError(`pbx ${argv.join(' ')}: the command goes first, its flags after it.`, {
      nextSteps: [`Run \`pbx ${[...reordered, ...rest].join(' ')}\`.`],
    });
  }
  if (first in COMMANDS) return undefined;
  if (topics.has(first) && (second === undefined || `${first}:${second}` in COMMANDS)) return undefined;
  const typed = topics.has(first) ? `${first} ${second}` : first;
  const meant = closest(typed, [...ids.map((id) => id.replaceAll(':', ' ')), ...topics], 2);
  return new UsageError(`pbx ${typed}: no such command.`, {
    nextSteps: [...(meant ? [`Did you mean \`pbx ${meant}\`?`] : []), 'Run `pbx help` for the list of commands.'],
  });
}
