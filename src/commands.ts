import type { Command } from '@oclif/core';

type Loader = () => Promise<{ default: Command.Class }>;

/**
 * Every command, by id, loaded when asked for. The single binary cannot discover command files on disk, so oclif
 * is given the commands it needs (see commandsFor).
 */
const COMMANDS: Record<string, Loader> = {
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
  status: () => import('./commands/status'),
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
