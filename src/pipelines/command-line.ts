// A pipeline written on the command line: `pbx run --from sentences --shell "tr ' ' '\n'" --to words`. The flags
// are turned into calls of the very builder a module uses (api.ts), so the spec is the same kind of data and runs on
// the same runtime, with the same consumer group, offsets, transactions and --on-error. Pure.
import { createHash } from 'node:crypto';
import { UsageError } from '../cli/errors';
import {
  SPEC,
  cassandra,
  pipeline,
  stdout,
  toMs,
  topic,
  tumbling,
  type PipelineSpec,
  type ShellOptions,
  type SinkSpec,
} from './api';
import type { KeyedStream, Stream } from './api';

/** The flags that are operators: their order on the command line is the pipeline's order. */
export const OPERATOR_FLAGS = ['shell', 'ok-exit', 'long-running', 'shell-timeout', 'key-by', 'window'] as const;
export type OperatorFlag = (typeof OPERATOR_FLAGS)[number];

/** One operator flag as given, in command-line order (a boolean flag's value is ''). */
export interface OperatorToken {
  flag: OperatorFlag;
  value: string;
}

export interface CommandLinePipeline {
  /** --from: the topics read. */
  from: string[];
  /** --to: topics, or `cassandra:keyspace.table`; none prints each value on a line (the stdout sink). */
  to: string[];
  /** --format: how source values are read (text: each value the line it is; json: parsed). */
  format: 'json' | 'text';
  /** --group: the pipeline's name (its consumer group is pbx-<name>); derived from the flags when absent. */
  group?: string;
  operators: OperatorToken[];
}

/** One stage of a command-line pipeline, once its flags are read. */
interface ShellFlags {
  kind: 'shell';
  command: string;
  okExitCodes?: number[];
  longRunning: boolean;
  timeout?: string;
}
type Operator =
  ShellFlags | { kind: 'key-by'; path: string } | { kind: 'window'; size: number; text: string; shell: ShellFlags };

/** The spec of a command-line pipeline, built with pipeline(...).from(...)… as a module would; without --to, .to(stdout()). */
export function commandLineSpec(cl: CommandLinePipeline): PipelineSpec {
  if (cl.from.length === 0) throw new UsageError('A command-line pipeline needs --from TOPIC: the topic it reads.');
  const name = cl.group ?? defaultPipelineName(cl);
  const source = pipeline(checkedName(name)).from(cl.from, { format: cl.format });
  let stream: Stream<unknown> = source;
  let keyed: KeyedStream<unknown> | undefined;
  for (const op of operatorsOf(cl.operators)) {
    if (op.kind === 'key-by') {
      keyed = stream.keyBy(keyOf(op.path), `key-by ${op.path}`);
      stream = keyed;
    } else if (op.kind === 'window') {
      if (!keyed || stream !== keyed)
        throw new UsageError(`--window ${op.text} comes right after --key-by: a window is of one key's records.`);
      // operatorsOf saw a --shell right after it: the window's records are that command's batch.
      const shell = op.shell;
      stream = keyed.window(tumbling(op.size)).shell(shell.command, shellOptions(shell));
      keyed = undefined;
    } else {
      // On a keyed stream this is the keyed shell: one process per key partition.
      stream = stream.shell(op.command, shellOptions(op));
      keyed = undefined;
    }
  }
  const sinks = cl.to.length > 0 ? cl.to.map(sinkOf) : [stdout()];
  return stream.to(...sinks)[SPEC];
}

/**
 * The name of a command-line pipeline without --group: its topics and a digest of its flags. The same command line
 * resumes where it stopped (same group); another one, even from the same topic, is a pipeline of its own.
 */
export function defaultPipelineName(cl: CommandLinePipeline): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([cl.from, cl.format, cl.operators, cl.to]))
    .digest('hex')
    .slice(0, 8);
  const part = (names: string[]) =>
    names
      .join('-')
      .replace(/[^A-Za-z0-9-]+/g, '-')
      .slice(0, 40);
  return `${part(cl.from)}-to-${cl.to.length > 0 ? part(cl.to) : 'stdout'}-${digest}`.replace(/^-+/, '');
}

function checkedName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(name))
    throw new UsageError(`--group ${name}: use letters, digits and '-' (it names a consumer group and topics).`);
  return name;
}

/**
 * The flags read into stages: --ok-exit, --long-running and --shell-timeout belong to the --shell before them, and
 * the --shell after a --window is that window's command.
 */
function operatorsOf(tokens: OperatorToken[]): Operator[] {
  const operators: Operator[] = [];
  let window: { size: number; text: string } | undefined;
  for (const token of tokens) {
    const last = operators.at(-1);
    const lastShell = last?.kind === 'window' ? last.shell : last;
    if (window && token.flag !== 'shell')
      throw new UsageError(
        `--window ${window.text} needs a --shell after it: the command each window's records go through.`,
      );
    switch (token.flag) {
      case 'shell': {
        if (token.value.trim() === '') throw new UsageError('--shell needs a command, got "".');
        const shell: ShellFlags = { kind: 'shell', command: token.value, longRunning: false };
        operators.push(window ? { kind: 'window', ...window, shell } : shell);
        window = undefined;
        break;
      }
      case 'key-by':
        if (token.value.trim() === '')
          throw new UsageError('--key-by needs a field (a dotted path), or . for the value.');
        operators.push({ kind: 'key-by', path: token.value.trim() });
        break;
      case 'window':
        window = { size: windowSize(token.value), text: token.value };
        break;
      default:
        if (lastShell?.kind !== 'shell')
          throw new UsageError(`--${token.flag} belongs to a --shell: give it right after the command it is for.`);
        if (token.flag === 'ok-exit') lastShell.okExitCodes = exitCodes(token.value);
        else if (token.flag === 'long-running') lastShell.longRunning = true;
        else lastShell.timeout = durationText('--shell-timeout', token.value);
    }
  }
  if (window)
    throw new UsageError(
      `--window ${window.text} needs a --shell after it: the command each window's records go through.`,
    );
  return operators;
}

function shellOptions(shell: ShellFlags): ShellOptions {
  return {
    ...(shell.okExitCodes ? { okExitCodes: shell.okExitCodes } : {}),
    ...(shell.longRunning ? { mode: 'long-running' as const } : {}),
    ...(shell.timeout ? { timeout: shell.timeout } : {}),
  };
}

/** `--key-by user.id`: that field of a JSON object; `--key-by .`: the whole value (a text line, a shell's word). */
export function keyOf(path: string): (value: unknown) => unknown {
  if (path === '.') return (value) => value;
  const fields = path.split('.');
  return (value) => {
    let at: unknown = value;
    for (const field of fields) {
      if (at === null || typeof at !== 'object')
        throw new Error(
          `--key-by ${path}: the value ${JSON.stringify(value)?.slice(0, 60)} is not a JSON object with ${path} (--format json reads a topic's values as JSON; --key-by . keys by the whole value)`,
        );
      at = (at as Record<string, unknown>)[field];
    }
    if (at === undefined || at === null) throw new Error(`--key-by ${path}: the value has no ${path}`);
    return at;
  };
}

/** --to: a topic, or `cassandra:keyspace.table`. */
function sinkOf(to: string): SinkSpec {
  const [kind, rest] = to.includes(':') ? [to.slice(0, to.indexOf(':')), to.slice(to.indexOf(':') + 1)] : ['', to];
  if (kind === 'cassandra') {
    try {
      return cassandra(rest);
    } catch {
      throw new UsageError(`--to ${to}: expected cassandra:keyspace.table.`);
    }
  }
  if (kind !== '') throw new UsageError(`--to ${to}: expected a topic or cassandra:keyspace.table.`);
  if (!/^[A-Za-z0-9._-]+$/.test(to))
    throw new UsageError(`--to ${to}: a topic name is letters, digits, '.', '_', '-'.`);
  return topic(to);
}

function windowSize(text: string): number {
  const ms = toMs(durationText('--window', text), '--window');
  if (ms <= 0) throw new UsageError(`--window ${text}: a window lasts more than 0.`);
  return ms;
}

function durationText(flag: string, text: string): string {
  if (!/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/.test(text.trim()))
    throw new UsageError(`${flag}: expected a duration such as 30s, 1m, 1h or 1d, got ${text}.`);
  return text.trim();
}

function exitCodes(text: string): number[] {
  const codes = text.split(',').map((code) => code.trim());
  if (codes.some((code) => !/^\d{1,3}$/.test(code) || Number(code) > 255))
    throw new UsageError(`--ok-exit: expected exit codes such as 0,1, got ${text}.`);
  return [...new Set(codes.map(Number))];
}
