// The flags of `pbx run` that write a pipeline on the command line, and how oclif's parse of them becomes a
// CommandLinePipeline: the operator flags are taken from the raw tokens, which keep the order they were given in.
import { Flags, type Interfaces } from '@oclif/core';
import { OPERATOR_FLAGS, type CommandLinePipeline, type OperatorFlag } from './command-line';

/** oclif's parse of the arguments, token by token in the order given. */
export type RawTokens = Interfaces.ParserOutput['raw'];

/** What a command-line pipeline's spec gives as its file, in --check, summaries and errors. */
export const COMMAND_LINE_FILE = 'the command line';

export const commandLineFlags = {
  from: Flags.string({
    description: 'Read this topic: a pipeline written on the command line (repeatable; not with a module).',
    multiple: true,
  }),
  shell: Flags.string({
    description: 'Run each batch through this command (/bin/sh -c): one value a line in, one a line out (repeatable).',
    multiple: true,
  }),
  'ok-exit': Flags.string({
    description: 'Exit codes that count as success for the --shell before it, e.g. 0,1 for grep (default 0).',
    multiple: true,
  }),
  'long-running': Flags.boolean({
    description: 'The --shell before it runs as one process for the whole run, fed batch by batch.',
  }),
  'shell-timeout': Flags.string({
    description: 'Longest a batch may take in the --shell before it (default 30s).',
    multiple: true,
  }),
  'key-by': Flags.string({
    description: 'Key by this field of JSON values (a dotted path), or . for the whole value: records of a key meet.',
    multiple: true,
  }),
  window: Flags.string({
    description: 'After --key-by: tumbling windows of this size (event time), each a batch for the --shell after it.',
    multiple: true,
  }),
  to: Flags.string({
    description: 'Write to this topic, or cassandra:keyspace.table (repeatable); none prints the values.',
    multiple: true,
  }),
  format: Flags.string({
    description: 'How --from values are read: text (each value the line it is) or json (parsed).',
    options: ['text', 'json'],
  }),
  group: Flags.string({
    description: 'The pipeline’s name, so its consumer group is pbx-<group> (default: derived from the flags).',
  }),
};

export interface CommandLineFlags {
  from?: string[];
  to?: string[];
  format?: string;
  group?: string;
}

/** The command-line pipeline flags given (by name, once each, in order): none means a module is run. */
export function commandLineFlagsGiven(raw: RawTokens): string[] {
  const names = Object.keys(commandLineFlags);
  return [...new Set(raw.flatMap((t) => (t.type === 'flag' && names.includes(t.flag) ? [t.flag] : [])))];
}

/** The pipeline the flags write; its operators in the order they were given. */
export function commandLinePipeline(flags: CommandLineFlags, raw: RawTokens): CommandLinePipeline {
  const operators = raw.flatMap((t) =>
    t.type === 'flag' && (OPERATOR_FLAGS as readonly string[]).includes(t.flag)
      ? [{ flag: t.flag as OperatorFlag, value: t.input }]
      : [],
  );
  return {
    from: flags.from ?? [],
    to: flags.to ?? [],
    format: flags.format === 'json' ? 'json' : 'text',
    ...(flags.group !== undefined ? { group: flags.group } : {}),
    operators,
  };
}
