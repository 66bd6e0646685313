import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bashScript,
  completionCommands,
  fishScript,
  zshScript,
  type CompletionCommand,
} from '../../src/cli/completion';
import { commandsFor } from '../../src/commands';
import { SERVICES } from '../../src/services/catalog';

let commands: CompletionCommand[];
let ids: string[];

beforeAll(async () => {
  const all = await commandsFor([]);
  ids = Object.keys(all).filter((id) => !all[id]!.hidden);
  commands = completionCommands(all);
});

const find = (words: string) => commands.find((c) => c.words.join(' ') === words)!;

describe('completionCommands, from the registered commands', () => {
  it('has every command but the hidden ones, with its flags and what its arguments are', () => {
    expect(commands.map((c) => c.words.join(':')).sort()).toEqual([...ids].sort());
    expect(commands.map((c) => c.words.join(' '))).not.toContain('completion topics');
    const replay = find('replay');
    expect(replay.args).toBe('files');
    expect(replay.flags).toContainEqual(expect.objectContaining({ names: ['--topic', '-t'], value: 'topics' }));
    expect(replay.flags).toContainEqual(
      expect.objectContaining({ names: ['--on-error'], value: { words: ['stop', 'skip', 'dead-letter'] } }),
    );
    expect(replay.flags).toContainEqual(expect.objectContaining({ names: ['--loop'], value: undefined }));
    expect(replay.flags.map((f) => f.names[0])).toContain('--debug'); // every command's
    expect(find('up').args).toEqual({ words: Object.keys(SERVICES) });
    expect(find('data gen').args).toEqual({ words: ['reviews', 'sentences', 'apache-log'] });
    expect(find('completion').args).toEqual({ words: ['bash', 'zsh', 'fish'] });
    expect(find('run').args).toBe('pipelines');
  });
});

describe('the scripts', () => {
  it('bash: every command, topic and flag, and topics asked of pbx', () => {
    const script = bashScript(commands);
    for (const c of commands) expect(script).toContain(`'${c.words.join(' ')}')`);
    expect(script).toContain("'data') COMPREPLY=($(compgen -W 'gen' -- \"$cur\")); return ;;");
    expect(script).toContain(
      "'replay --topic'|'replay -t') COMPREPLY=($(compgen -W \"$(\"${COMP_WORDS[0]}\" completion topics",
    );
    expect(script).toContain('complete -F _pbx_complete pbx');
  });

  it('zsh: the same through bashcompinit', () => {
    const script = zshScript(commands);
    expect(script).toContain('autoload -U +X bashcompinit && bashcompinit');
    expect(script).toContain('complete -F _pbx_complete pbx');
  });

  it('fish: commands with their summaries, flags with their values', () => {
    const script = fishScript(commands);
    expect(script).toContain("complete -c pbx -n '__fish_use_subcommand' -a 'replay' -d ");
    expect(script).toContain(
      "complete -c pbx -n '__fish_seen_subcommand_from data; and not __fish_seen_subcommand_from gen' -a 'gen'",
    );
    expect(script).toMatch(/-n '__fish_seen_subcommand_from replay' -l topic -s t -x -a '\(pbx completion topics/);
    expect(script).toContain("-n '__fish_seen_subcommand_from up' -x -a 'zookeeper kafka cassandra redis'");
  });
});

describe('bash, sourcing the script', () => {
  /** COMPREPLY for a command line whose last word is being completed. */
  async function complete(...words: string[]): Promise<string[]> {
    const dir = mkdtempSync(join(tmpdir(), 'pbx-completion-'));
    const file = join(dir, 'pbx.bash');
    writeFileSync(file, bashScript(commands));
    const { stdout } = await execa('bash', [
      '-c',
      `source ${file}; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _pbx_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
      'bash',
      ...words,
    ]);
    return stdout.split('\n').filter(Boolean);
  }

  it('completes commands, subcommands, service names, flags and their values', async () => {
    expect(await complete('pbx', 'rep')).toEqual(['replay']);
    expect(await complete('pbx', 'up', '')).toEqual(Object.keys(SERVICES));
    expect(await complete('pbx', 'up', 'kafka', 'c')).toEqual(['cassandra']);
    expect(await complete('pbx', 'images', '')).toEqual(['build', 'list']);
    expect(await complete('pbx', 'replay', '--on-error', 'd')).toEqual(['dead-letter']);
    expect(await complete('pbx', 'replay', '--lo')).toEqual(['--loop']);
    // Topics come from `pbx completion topics`, which prints nothing when Kafka does not answer.
    expect(await complete('/nonexistent/pbx', 'replay', '--topic', '')).toEqual([]);
  });

  it('completes topic names with what the same pbx lists', async () => {
    const pbx = join(mkdtempSync(join(tmpdir(), 'pbx-completion-')), 'pbx');
    writeFileSync(pbx, '#!/bin/sh\n[ "$*" = "completion topics" ] && printf "movie_reviews\\nmetrics\\n"\n', {
      mode: 0o755,
    });
    expect(await complete(pbx, 'replay', 'x.json', '-t', 'mo')).toEqual(['movie_reviews']);
    expect(await complete(pbx, 'replay', '--dead-letter-topic', '')).toEqual(['movie_reviews', 'metrics']);
  });

  it('completes pbx run with the project’s pipelines, as the same pbx lists them', async () => {
    const pbx = join(mkdtempSync(join(tmpdir(), 'pbx-completion-')), 'pbx');
    writeFileSync(pbx, '#!/bin/sh\n[ "$*" = "completion pipelines" ] && printf "clean\\nreviews-per-hour\\n"\n', {
      mode: 0o755,
    });
    expect(await complete(pbx, 'run', 're')).toEqual(['reviews-per-hour']);
    expect(fishScript(commands)).toContain("-n '__fish_seen_subcommand_from run' -x -a '(pbx completion pipelines");
  });
});
