// Shell completion scripts, written from the commands themselves (their ids, flags and arguments) so that a new
// command or flag completes without anyone editing a list. Pure: the commands in, a script's text out.
import type { Command } from '@oclif/core';
import { IMAGES } from '../images/catalog';
import { SERVICES } from '../services/catalog';

/**
 * What a word takes: one of some words, a Kafka topic (asked of the stack), a pipeline of the project (asked of
 * pbx: `pbx completion pipelines`), a file, or nothing known.
 */
export type Values = { words: string[] } | 'topics' | 'pipelines' | 'files' | 'none';

export interface CompletionFlag {
  /** `--topic`, and `-t` when it has a short name. */
  names: string[];
  description: string;
  /** Undefined: a switch, followed by no value. */
  value?: Values;
}

/** One command as completion sees it. */
export interface CompletionCommand {
  /** `data gen` is ['data', 'gen']. */
  words: string[];
  summary: string;
  flags: CompletionFlag[];
  /** What its arguments are. */
  args: Values;
}

/** The words an argument of this name takes. */
const ARGUMENT_VALUES: Record<string, () => Values> = {
  shell: () => ({ words: Object.keys(SCRIPTS) }),
  services: () => ({ words: Object.keys(SERVICES) }),
  images: () => ({ words: Object.keys(IMAGES) }),
  pipeline: () => 'pipelines',
  file: () => 'files',
  dir: () => 'files',
};

/** What a flag's value is, by the flag's name: a topic (the stack knows which exist) or a file; else anything. */
const FLAG_VALUES: Record<string, Values> = {
  topic: 'topics',
  'dead-letter-topic': 'topics',
  config: 'files',
  out: 'files',
  checkpoint: 'files',
};

/** The commands as completion sees them, hidden ones left out, in id order. */
export function completionCommands(commands: Record<string, Command.Class>): CompletionCommand[] {
  const shown = Object.entries(commands).filter(([, command]) => !command.hidden);
  const ids = shown.map(([id]) => id);
  return shown
    .map(([id, command]) => ({
      words: id.split(':'),
      summary: command.summary ?? command.description?.split('\n')[0] ?? '',
      flags: Object.entries({ ...command.baseFlags, ...command.flags })
        .filter(([, flag]) => !flag.hidden)
        .map(([name, flag]) => ({
          names: [`--${name}`, ...(flag.char ? [`-${flag.char}`] : [])],
          description: flag.summary ?? flag.description ?? '',
          value: flag.type === 'boolean' ? undefined : flagValues(name, flag.options),
        })),
      args: argumentValues(id, command, ids),
    }))
    .sort((a, b) => a.words.join(' ').localeCompare(b.words.join(' ')));
}

function flagValues(name: string, options: readonly string[] | undefined): Values {
  if (options) return { words: [...options] };
  return FLAG_VALUES[name] ?? 'none';
}

function argumentValues(id: string, command: Command.Class, ids: string[]): Values {
  const [name, arg] = Object.entries(command.args ?? {})[0] ?? [];
  if (name === undefined || arg === undefined) return 'none';
  if (arg.options) return { words: (arg.options as string[]).map(String) };
  // `pbx help X`: the commands, by their first word.
  if (id === 'help') return { words: [...new Set(ids.map((other) => other.split(':')[0]!))] };
  return ARGUMENT_VALUES[name]?.() ?? 'none';
}

/** The first words of the commands (`data` for `data gen`), and the words after each topic's first word. */
function wordsAfter(commands: CompletionCommand[], before: string[]): string[] {
  const next = commands
    .filter((c) => c.words.length > before.length && before.every((word, i) => c.words[i] === word))
    .map((c) => c.words[before.length]!);
  return [...new Set(next)];
}

/** Bash (and zsh through bashcompinit): `source <(pbx completion bash)`. */
export function bashScript(commands: CompletionCommand[]): string {
  const topics = [...new Set(commands.filter((c) => c.words.length > 1).map((c) => c.words[0]!))];
  const known = [...new Set([...commands.map((c) => c.words.join(' ')), ...topics])];
  const bashValues = (values: Values) =>
    values === 'topics' || values === 'pipelines'
      ? `COMPREPLY=($(compgen -W "$("\${COMP_WORDS[0]}" completion ${values} 2>/dev/null)" -- "$cur"))`
      : values === 'files'
        ? 'COMPREPLY=($(compgen -f -- "$cur"))'
        : values === 'none'
          ? 'COMPREPLY=()'
          : `COMPREPLY=($(compgen -W ${quote(values.words.join(' '))} -- "$cur"))`;
  const valueCases = commands.flatMap((c) =>
    c.flags.flatMap((flag) =>
      flag.value === undefined
        ? []
        : [
            `    ${flag.names.map((n) => quote(`${c.words.join(' ')} ${n}`)).join('|')}) ${bashValues(flag.value)}; return ;;`,
          ],
    ),
  );
  return `# pbx completion for bash. Load it with: source <(pbx completion bash)   (e.g. in ~/.bashrc)
_pbx_complete() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} command="" word i
  # The command: the words after pbx, as far as they name one (or a topic, such as "data").
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=\${COMP_WORDS[i]}
    case "\${command:+$command }$word" in
      ${known.map(quote).join('|')}) command="\${command:+$command }$word" ;;
      *) break ;;
    esac
  done
  case "$command" in
    "") COMPREPLY=($(compgen -W ${quote(wordsAfter(commands, []).join(' '))} -- "$cur")); return ;;
${topics.map((topic) => `    ${quote(topic)}) COMPREPLY=($(compgen -W ${quote(wordsAfter(commands, [topic]).join(' '))} -- "$cur")); return ;;`).join('\n')}
  esac
  # The value of a flag.
  case "$command $prev" in
${valueCases.join('\n')}
  esac
  if [[ $cur == -* ]]; then
    case "$command" in
${commands.map((c) => `      ${quote(c.words.join(' '))}) COMPREPLY=($(compgen -W ${quote(c.flags.flatMap((f) => f.names).join(' '))} -- "$cur")) ;;`).join('\n')}
    esac
    return
  fi
  case "$command" in
${commands.map((c) => `    ${quote(c.words.join(' '))}) ${bashValues(c.args)} ;;`).join('\n')}
  esac
}
complete -F _pbx_complete pbx
`;
}

/** Zsh runs the bash script through its bash compatibility (bashcompinit). */
export function zshScript(commands: CompletionCommand[]): string {
  return `# pbx completion for zsh. Load it with: source <(pbx completion zsh)   (e.g. in ~/.zshrc, after compinit)
autoload -U +X bashcompinit && bashcompinit
${bashScript(commands).split('\n').slice(1).join('\n')}`;
}

/** Fish: `pbx completion fish > ~/.config/fish/completions/pbx.fish`. */
export function fishScript(commands: CompletionCommand[]): string {
  const lines = [
    '# pbx completion for fish. Install it with: pbx completion fish > ~/.config/fish/completions/pbx.fish',
  ];
  lines.push('complete -c pbx -f');
  const seen = (words: string[]) => words.map((w) => `__fish_seen_subcommand_from ${w}`).join('; and ');
  const fishValues = (values: Values) =>
    values === 'topics' || values === 'pipelines'
      ? ` -x -a ${quote(`(pbx completion ${values} 2>/dev/null)`)}`
      : values === 'files'
        ? ' -r -F'
        : values === 'none'
          ? ''
          : ` -x -a ${quote(values.words.join(' '))}`;
  for (const c of commands) {
    const before = c.words.slice(0, -1);
    const at =
      before.length === 0 ? '__fish_use_subcommand' : `${seen(before)}; and not ${seen(wordsAfter(commands, before))}`;
    lines.push(`complete -c pbx -n ${quote(at)} -a ${quote(c.words.at(-1)!)} -d ${quote(c.summary)}`);
  }
  const topics = [...new Set(commands.filter((c) => c.words.length > 1).map((c) => c.words[0]!))];
  for (const topic of topics) lines.push(`complete -c pbx -n __fish_use_subcommand -a ${quote(topic)}`);
  for (const c of commands) {
    const at = quote(seen(c.words));
    if (c.args !== 'none') lines.push(`complete -c pbx -n ${at}${fishValues(c.args)}`);
    for (const flag of c.flags) {
      const names = flag.names.map((n) => (n.startsWith('--') ? `-l ${n.slice(2)}` : `-s ${n.slice(1)}`)).join(' ');
      lines.push(
        `complete -c pbx -n ${at} ${names}${flag.value ? fishValues(flag.value) : ''} -d ${quote(flag.description)}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The script for each shell `pbx completion` knows. */
export const SCRIPTS: Record<string, (commands: CompletionCommand[]) => string> = {
  bash: bashScript,
  zsh: zshScript,
  fish: fishScript,
};

/** A word in single quotes, for bash and fish alike. */
function quote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}
