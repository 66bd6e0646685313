import { describe, expect, it } from 'vitest';
import type { UserError } from '../../src/cli/errors';
import { SPEC, pipeline, stdout, tumbling, type PipelineSpec } from '../../src/pipelines/api';
import {
  commandLineSpec,
  defaultPipelineName,
  keyOf,
  type CommandLinePipeline,
  type OperatorToken,
} from '../../src/pipelines/command-line';
import { commandLineFlagsGiven, commandLinePipeline } from '../../src/pipelines/command-line-flags';

const base: CommandLinePipeline = { from: ['sentences'], to: ['words'], format: 'text', operators: [] };
const op = (flag: OperatorToken['flag'], value = ''): OperatorToken => ({ flag, value });

function thrown(fn: () => unknown): UserError {
  try {
    fn();
  } catch (error) {
    return error as UserError;
  }
  throw new Error('it did not throw');
}

// The spec's shape without its functions: what a module's builder would give for the same pipeline.
const shape = (spec: PipelineSpec) => JSON.parse(JSON.stringify(spec)) as unknown;

describe('commandLineSpec', () => {
  it('--from T --to U builds what pipeline(name).from(T, text).to(U) builds', () => {
    const spec = commandLineSpec({ ...base, group: 'copy' });
    expect(shape(spec)).toEqual(shape(pipeline('copy').from('sentences', { format: 'text' }).to('words')[SPEC]));
  });

  it('--key-by, several topics and a Cassandra table, in the order given', () => {
    const spec = commandLineSpec({
      from: ['a', 'b'],
      to: ['out', 'cassandra:shop.by_user'],
      format: 'json',
      group: 'g',
      operators: [op('key-by', 'user.id')],
    });
    expect(spec.source).toEqual({ topics: ['a', 'b'], format: 'json' });
    expect(spec.steps.map((s) => [s.kind, s.label])).toEqual([['keyBy', 'key-by user.id']]);
    expect(spec.sinks).toEqual([
      { kind: 'kafka', topic: 'out' },
      { kind: 'cassandra', keyspace: 'shop', table: 'by_user' },
    ]);
  });

  it('--shell, --key-by, --window: the steps a module gets from .shell, .keyBy, .window(tumbling).shell', () => {
    const spec = commandLineSpec({
      ...base,
      group: 'wc',
      operators: [
        op('shell', "tr ' ' '\\n'"),
        op('shell', "grep -v '^$'"),
        op('ok-exit', '0,1'),
        op('shell-timeout', '5s'),
        op('key-by', '.'),
        op('shell', 'sort | uniq -c'),
        op('long-running'),
      ],
    });
    const module = pipeline('wc')
      .from('sentences', { format: 'text' })
      .shell("tr ' ' '\\n'")
      .shell("grep -v '^$'", { okExitCodes: [0, 1], timeout: '5s' })
      .keyBy((w) => w, 'key-by .')
      .shell('sort | uniq -c', { mode: 'long-running' })
      .to('words')[SPEC];
    expect(shape(spec)).toEqual(shape(module));
    expect(spec.steps.map((s) => (s.kind === 'shell' ? s.scope : s.kind))).toEqual([
      'stream',
      'stream',
      'keyBy',
      'keyed',
    ]);

    const windowed = commandLineSpec({
      ...base,
      group: 'wc',
      operators: [op('key-by', 'word'), op('window', '1d'), op('shell', 'wc -l'), op('ok-exit', '0')],
    });
    const windowModule = pipeline('wc')
      .from('sentences', { format: 'text' })
      .keyBy((w) => w, 'key-by word')
      .window(tumbling('1d'))
      .shell('wc -l', { okExitCodes: [0] })
      .to('words')[SPEC];
    expect(shape(windowed)).toEqual(shape(windowModule));
  });

  it('refuses a --window that is not right after --key-by', () => {
    const after = (...operators: OperatorToken[]) => thrown(() => commandLineSpec({ ...base, operators })).message;
    expect(after(op('window', '1m'), op('shell', 'wc -l'))).toContain('comes right after --key-by');
    expect(after(op('key-by', '.'), op('shell', 'x'), op('window', '1m'), op('shell', 'y'))).toContain(
      'comes right after --key-by',
    );
    expect(after(op('key-by', '.'), op('window', '1m'), op('key-by', 'x'))).toContain('needs a --shell after it');
  });

  it('without --to writes to the stdout sink, as .to(stdout()) in a module, and adds no step', () => {
    const spec = commandLineSpec({ ...base, to: [], group: 'show', operators: [op('shell', 'grep x')] });
    const module = pipeline('show').from('sentences', { format: 'text' }).shell('grep x').to(stdout())[SPEC];
    expect(shape(spec)).toEqual(shape(module));
    expect(spec.steps.map((s) => s.kind)).toEqual(['shell']);
    expect(spec.sinks).toEqual([{ kind: 'stdout' }]);
  });

  it('names a pipeline after its topics and a digest of its flags: the same flags the same name', () => {
    const name = defaultPipelineName(base);
    expect(name).toMatch(/^sentences-to-words-[0-9a-f]{8}$/);
    expect(defaultPipelineName({ ...base })).toBe(name);
    expect(defaultPipelineName({ ...base, operators: [op('key-by', '.')] })).not.toBe(name);
    expect(defaultPipelineName({ ...base, to: [] })).toMatch(/^sentences-to-stdout-/);
    expect(defaultPipelineName({ ...base, to: ['cassandra:ks.t_1'] })).toMatch(/^sentences-to-cassandra-ks-t-1-/);
    expect(commandLineSpec(base).name).toBe(name);
    expect(commandLineSpec({ ...base, group: 'mine' }).name).toBe('mine');
  });

  it('refuses what cannot be a pipeline, saying which flag', () => {
    const refused = (cl: Partial<CommandLinePipeline>) => thrown(() => commandLineSpec({ ...base, ...cl }));
    expect(refused({ from: [] }).message).toContain('--from TOPIC');
    expect(refused({ group: 'a b' }).message).toContain('--group a b');
    expect(refused({ to: ['redis:x'] }).message).toContain('cassandra:keyspace.table');
    expect(refused({ to: ['cassandra:nodot'] }).message).toContain('cassandra:keyspace.table');
    expect(refused({ operators: [op('ok-exit', '0,1')] }).message).toContain('belongs to a --shell');
    expect(refused({ operators: [op('key-by', '.'), op('window', '1m')] }).message).toContain('needs a --shell');
    expect(refused({ operators: [op('key-by', '.'), op('window', 'soon')] }).message).toContain('expected a duration');
    expect(refused({ operators: [op('key-by', ' ')] }).message).toContain('--key-by needs a field');
    for (const error of [refused({ from: [] }), refused({ operators: [op('ok-exit', '0')] })])
      expect(error.exitCode).toBe(2);
  });
});

describe('keyOf', () => {
  it('reads a dotted field of a JSON object, or takes the whole value for .', () => {
    expect(keyOf('user.id')({ user: { id: 7 } })).toBe(7);
    expect(keyOf('.')('a word')).toBe('a word');
  });

  it('says what is wrong with a value it cannot key', () => {
    expect(() => keyOf('user.id')('a line of text')).toThrow(/not a JSON object with user.id.*--format json/);
    expect(() => keyOf('user.id')({ user: {} })).toThrow('the value has no user.id');
  });
});

describe('commandLinePipeline', () => {
  const raw = (...tokens: Array<[string, string]>) =>
    tokens.map(([flag, input]) => ({ type: 'flag' as const, flag, input }));

  it('keeps the operator flags in the order given, whatever flag they are', () => {
    const tokens = raw(
      ['from', 'logs'],
      ['shell', 'grep x'],
      ['ok-exit', '0,1'],
      ['until-end', '--until-end'],
      ['key-by', '.'],
      ['window', '1d'],
      ['shell', 'sort | uniq -c'],
      ['to', 'counts'],
    );
    const cl = commandLinePipeline({ from: ['logs'], to: ['counts'] }, tokens);
    expect(cl).toEqual({
      from: ['logs'],
      to: ['counts'],
      format: 'text',
      operators: [
        { flag: 'shell', value: 'grep x' },
        { flag: 'ok-exit', value: '0,1' },
        { flag: 'key-by', value: '.' },
        { flag: 'window', value: '1d' },
        { flag: 'shell', value: 'sort | uniq -c' },
      ],
    });
    expect(commandLineFlagsGiven(tokens)).toEqual(['from', 'shell', 'ok-exit', 'key-by', 'window', 'to']);
    expect(commandLineFlagsGiven(raw(['until-end', '--until-end'], ['json', '--json']))).toEqual([]);
  });
});
