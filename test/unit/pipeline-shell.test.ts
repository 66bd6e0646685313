import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/errors';
import { pipeline, resolveShellOptions, SPEC, tumbling, type StreamRecord } from '../../src/pipelines/api';
import { shapeLines, shapeOf } from '../../src/pipelines/shape';
import { RecordProblem } from '../../src/pipelines/runtime/messages';
import { BatchFailed, StageOperators } from '../../src/pipelines/runtime/shell-operators';
import { chunkValues, RepartitionChunks } from '../../src/pipelines/runtime/repartition';
import { describeTopology, topologyOf } from '../../src/pipelines/runtime/topology';
import { KeyedAggregates } from '../../src/pipelines/runtime/aggregates';

const record = (offset: number, time = 0): StreamRecord => ({
  topic: 't',
  partition: 0,
  offset: String(offset),
  key: null,
  headers: {},
  timestamp: 1000 + offset,
  time,
});
const counts = () => {
  const seen: Array<{ in: number; out: number }> = [];
  const at = (step: number) => (seen[step] ??= { in: 0, out: 0 });
  return {
    seen,
    in: (step: number, n = 1) => void (at(step).in += n),
    out: (step: number, n = 1) => void (at(step).out += n),
  };
};
const lookup = () => Promise.resolve(undefined);
const origin = { topic: 't', partition: 0, offset: '9' };

describe('.shell() options', () => {
  it('has defaults: per batch, exit 0 only, 30 s, the marker pbx:batch-end', () => {
    expect(resolveShellOptions('cat')).toEqual({
      mode: 'batch',
      okExitCodes: [0],
      timeoutMs: 30_000,
      marker: 'pbx:batch-end',
    });
    expect(resolveShellOptions('grep x', { okExitCodes: [0, 1], timeout: '2m', env: { A: '1' }, cwd: '/tmp' })).toEqual(
      {
        mode: 'batch',
        okExitCodes: [0, 1],
        timeoutMs: 120_000,
        marker: 'pbx:batch-end',
        env: { A: '1' },
        cwd: '/tmp',
      },
    );
  });

  it('refuses what cannot run, when the module loads', () => {
    expect(() => resolveShellOptions('  ')).toThrow(/name a command/);
    expect(() => resolveShellOptions('cat', { mode: 'forever' as never })).toThrow(/mode/);
    expect(() => resolveShellOptions('cat', { okExitCodes: [300] })).toThrow(/exit codes/);
    expect(() => resolveShellOptions('cat', { timeout: 0 })).toThrow(/more than 0/);
    expect(() => resolveShellOptions('cat', { marker: 'a\nb' })).toThrow(/one non-empty line/);
  });
});

describe('topology of shell steps', () => {
  it('runs a stream shell in the stage it is in: one stage without a keyed step', () => {
    const spec = pipeline('p')
      .from('s')
      .map((s: { text: string }) => s.text)
      .shell("tr ' ' '\\n'")
      .to('w')[SPEC];
    const topology = topologyOf(spec);
    expect(topology.head.map((s) => s.kind)).toEqual(['map', 'shell']);
    expect(topology.keyed).toBeUndefined();
    expect(topology.topics).toEqual({ deadLetter: 'pbx-p-dead-letters' });
    expect(describeTopology(topology)).toBe("s → map → tr ' ' '\\n' → topic w");
  });

  it('starts stage B with a keyed shell: a repartition topic, no changelog, the operators after it in the tail', () => {
    const spec = pipeline('p')
      .from('s')
      .keyBy((w: string) => w)
      .shell('sort | uniq -c', {}, 'count')
      .map((line) => line)
      .to('w')[SPEC];
    const topology = topologyOf(spec);
    expect(topology.head.map((s) => s.kind)).toEqual(['keyBy']);
    expect(topology.keyed).toMatchObject({ kind: 'shell', scope: 'keyed' });
    expect(topology.aggregate).toBeUndefined();
    expect(topology.tail.map((s) => s.kind)).toEqual(['map']);
    expect(topology.topics).toEqual({ repartition: 'pbx-p-repartition', deadLetter: 'pbx-p-dead-letters' });
    expect(describeTopology(topology)).toBe('s → keyBy ⇒ count → map → topic w');
  });

  it("keeps a window shell's records as a collecting aggregate's state, logged to a changelog", () => {
    const spec = pipeline('p')
      .from('s')
      .keyBy((w: string) => w)
      .window(tumbling('1d'), { lateness: '1h' })
      .shell('sort | uniq -c')
      .to('w')[SPEC];
    const topology = topologyOf(spec);
    expect(topology.keyed).toMatchObject({
      kind: 'shell',
      scope: 'window',
      window: { kind: 'tumbling', size: 86_400_000 },
    });
    expect(topology.aggregate).toMatchObject({ kind: 'aggregate', lateness: 3_600_000, window: { size: 86_400_000 } });
    expect(topology.topics.changelog).toBe('pbx-p-changelog');
    const state = new KeyedAggregates(topology.aggregate!);
    state.add('a', 10, 'a', record(0, 10));
    state.add('b', 20, 'b', record(1, 20));
    state.add('a', 30, 'a', record(2, 30));
    state.add('b', 40, { n: 1 }, record(3, 40));
    state.add('b', 50, { n: 1 }, record(4, 50));
    state.add('b', 60, 'b', record(5, 60));
    // In arrival order, a run of the same string held once with its length (objects each on their own).
    expect(state.advance(90_000_000).map((e) => [e.key, e.value.value])).toEqual([
      ['a', { values: ['a'], counts: [2] }],
      ['b', { values: ['b', { n: 1 }, { n: 1 }, 'b'], counts: [1, 1, 1, 1] }],
    ]);
  });

  it('runs a stream shell after an aggregate in stage B, and refuses a second keyed step', () => {
    const after = topologyOf(
      pipeline('p')
        .from('s')
        .keyBy((w: string) => w)
        .count()
        .shell('cat')
        .to('w')[SPEC],
    );
    expect(after.keyed?.kind).toBe('aggregate');
    expect(after.tail.map((s) => s.kind)).toEqual(['shell']);
    const twice = pipeline('p')
      .from('s')
      .keyBy((w: string) => w)
      .shell('cat')
      .keyBy((w) => w)
      .count()
      .to('w')[SPEC];
    expect(() => topologyOf(twice)).toThrow(UsageError);
  });

  it('shows shell steps in --check lines: the command, how and where it runs', () => {
    const spec = pipeline('p')
      .from('s')
      .shell("tr ' ' '\\n'", { mode: 'long-running' })
      .keyBy((w) => w)
      .window(tumbling('1d'))
      .shell('sort | uniq -c', {}, 'per day')
      .to('w')[SPEC];
    const shape = shapeOf(spec, 'p.ts');
    expect(shape.stateful).toBe(true);
    expect(shapeLines(shape)).toEqual([
      'from      s (json; event time from the Kafka timestamp)',
      "shell     `tr ' ' '\\n'`, long-running",
      'keyBy',
      'shell     `sort | uniq -c` (per day), per batch, per key partition, over tumbling 1 d, lateness 0 ms',
      'to        topic w',
    ]);
  });
});

describe('StageOperators', () => {
  const stage = (build: (s: ReturnType<ReturnType<typeof pipeline>['from']>) => { [SPEC]: { steps: unknown[] } }) =>
    build(pipeline('p').from('s'))[SPEC].steps as never;

  it('runs the operators before a shell per record, the command over the batch, the operators after per line', async () => {
    const c = counts();
    const ops = new StageOperators(
      stage((s) =>
        s
          .map((v) => (v as { text: string }).text)
          .shell("tr ' ' '\\n'")
          .filter((w) => w !== 'b')
          .to('o'),
      ),
      c,
      lookup,
    );
    expect(ops.batched).toBe(true);
    const first = [
      ...(ops.first.run({ text: 'a b' }, 'k1', record(3)) as never[]),
      ...(ops.first.run({ text: 'c {"n":1}' }, 'k2', record(4)) as never[]),
    ];
    const out = await ops.finish(first, origin, () => false);
    expect(out.map((o) => o.value)).toEqual(['a', 'c', { n: 1 }]);
    expect(out[0]!.key).toBeNull();
    expect(out[0]!.record).toMatchObject({ topic: 't', partition: 0, offset: '9', timestamp: 1004 });
    expect(c.seen).toEqual([
      { in: 2, out: 2 },
      { in: 2, out: 4 },
      { in: 4, out: 3 },
    ]);
  });

  it('keys outputs by options.key; starts no process for an empty batch', async () => {
    const ops = new StageOperators(
      stage((s) => s.shell('cat', { key: 'word' }).to('o')),
      counts(),
      lookup,
    );
    const out = await ops.finish([{ value: { word: 'x' }, key: null, record: record(1) }], origin, () => false);
    expect(out.map((o) => o.key)).toEqual(['x']);
    expect(await ops.finish([], origin, () => false)).toEqual([]);
  });

  it("rejects with BatchFailed naming the command, its exit code and its stderr's tail", async () => {
    const ops = new StageOperators(
      stage((s) => s.shell('echo nope >&2; exit 4').to('o')),
      counts(),
      lookup,
    );
    const error = await ops
      .finish([{ value: 'a', key: null, record: record(1) }], origin, () => false)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BatchFailed);
    expect(error).toBeInstanceOf(RecordProblem);
    expect((error as Error).message).toContain('exited with code 4');
    expect((error as Error).message).toContain('nope');
    expect((error as BatchFailed).step).toBe(0);
  });

  it('hands an operator failing after a shell to the caller, and rejects when it says stop', async () => {
    const ops = new StageOperators(
      stage((s) =>
        s
          .shell('cat')
          .map((v) => {
            if (v === 'bad') throw new Error('bad line');
            return v;
          })
          .to('o'),
      ),
      counts(),
      lookup,
    );
    const inputs = ['ok', 'bad', 'fine'].map((value, i) => ({ value, key: null, record: record(i) }));
    const failed: string[] = [];
    const out = await ops.finish(inputs, origin, (output, problem) => {
      failed.push(`${String(output.value)}: ${problem.message}`);
      return false;
    });
    expect(out.map((o) => o.value)).toEqual(['ok', 'fine']);
    expect(failed).toEqual(['bad: map (operator 2) threw bad line']);
    await expect(ops.finish(inputs, origin, () => true)).rejects.toThrow(/bad line/);
  });

  describe('into repartition chunks (a shell, then a keyBy alone)', () => {
    // Lines a word count meets, and those that are JSON (a number, a quoted string, an object) or empty.
    const printed = ['the', 'Cat', '', 'the', '3', '"the"', '{"a": 1}', 'größe', 'x y', 'last'];
    const command = `printf '%s\\n' ${printed.map((line) => `'${line}'`).join(' ')}`;
    const input = [{ value: 'in', key: null, record: record(4) }];
    const read = (chunks: RepartitionChunks) =>
      chunks
        .drain()
        .flatMap((m) => chunkValues(String(m.value)).map((v) => ({ partition: m.partition, ...v })))
        .map(({ partition, key, value, record }) => ({ partition, key, value, offset: record.offset }))
        // Kafka keeps the order within a partition only.
        .sort((a, b) => a.partition! - b.partition!);
    /** The values the outputs of finish() without `into` give when added one by one, as stage A did. */
    const expected = async (keyBy: (value: unknown) => unknown) => {
      const ops = new StageOperators(
        stage((s) => s.shell(command).keyBy(keyBy)),
        counts(),
        lookup,
      );
      const chunks = new RepartitionChunks(3);
      for (const o of await ops.finish(input, origin, () => false)) chunks.add(o.key!, o.value, o.record);
      return read(chunks);
    };

    for (const [name, keyBy] of [
      ['keyed by itself', (value: unknown) => value],
      ['keyed by something else', (value: unknown) => (typeof value === 'string' ? value.toLowerCase() : value)],
      ['keyed asynchronously', (value: unknown) => Promise.resolve(value)],
    ] as const) {
      it(`gives the values, keys, records and order of the outputs one by one: ${name}`, async () => {
        const c = counts();
        const ops = new StageOperators(
          stage((s) => s.shell(command).keyBy(keyBy)),
          c,
          lookup,
        );
        const chunks = new RepartitionChunks(3);
        expect(await ops.finish(input, origin, () => false, chunks)).toEqual([]);
        const got = read(chunks);
        expect(got).toEqual(await expected(keyBy));
        expect(got).toHaveLength(printed.length);
        expect(c.seen).toEqual([
          { in: 1, out: printed.length },
          { in: printed.length, out: printed.length },
        ]);
      });
    }

    it('leaves nothing in the chunks when the command fails after printing lines', async () => {
      const ops = new StageOperators(
        stage((s) => s.shell("printf 'a\\nb\\n'; exit 3").keyBy((v) => v)),
        counts(),
        lookup,
      );
      const chunks = new RepartitionChunks(3);
      chunks.add('before', 'before', record(1));
      await expect(ops.finish(input, origin, () => false, chunks)).rejects.toBeInstanceOf(BatchFailed);
      expect(read(chunks).map((v) => v.key)).toEqual(['before']);
    });

    it('sends a line whose key fails to --on-error, and rejects when it says stop', async () => {
      const keyBy = (value: unknown) => (value === 'Cat' ? null : value);
      const ops = new StageOperators(
        stage((s) => s.shell(command).keyBy(keyBy)),
        counts(),
        lookup,
      );
      const failed: string[] = [];
      const chunks = new RepartitionChunks(3);
      await ops.finish(
        input,
        origin,
        (output, problem) => {
          failed.push(`${String(output.value)} at ${output.record.offset}: ${problem.message}`);
          return false;
        },
        chunks,
      );
      expect(failed).toEqual(['Cat at 9: keyBy (operator 2) gave the key null']);
      expect(read(chunks).map((v) => v.key)).not.toContain('Cat');
      await expect(ops.finish(input, origin, () => true, new RepartitionChunks(3))).rejects.toThrow(
        /gave the key null/,
      );
    });
  });

  it('feeds a long-running command batch by batch, one per partition, and closes them', async () => {
    const ops = new StageOperators(
      stage((s) => s.shell("sed -u '/^pbx:batch-end$/!s/^/> /'", { mode: 'long-running' }).to('o')),
      counts(),
      lookup,
    );
    const batch = (values: string[]) => values.map((value, i) => ({ value, key: null, record: record(i) }));
    expect((await ops.finish(batch(['a', 'b']), origin, () => false)).map((o) => o.value)).toEqual(['> a', '> b']);
    expect((await ops.finish(batch(['c']), origin, () => false)).map((o) => o.value)).toEqual(['> c']);
    expect((await ops.finish(batch(['d']), { ...origin, partition: 1 }, () => false)).map((o) => o.value)).toEqual([
      '> d',
    ]);
    await ops.close();
  });
});
