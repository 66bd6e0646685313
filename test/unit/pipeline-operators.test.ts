import { describe, expect, it } from 'vitest';
import { pipeline, SPEC, type StreamRecord } from '../../src/pipelines/api';
import { RecordProblem } from '../../src/pipelines/runtime/messages';
import { Operators } from '../../src/pipelines/runtime/operators';

const record: StreamRecord = { topic: 't', partition: 0, offset: '7', key: null, headers: {}, timestamp: 0, time: 0 };
const counts = () => {
  const seen: Array<{ in: number; out: number }> = [];
  const at = (step: number) => (seen[step] ??= { in: 0, out: 0 });
  return { seen, in: (step: number) => void at(step).in++, out: (step: number, n = 1) => void (at(step).out += n) };
};
const lookup = () => Promise.resolve(undefined);
const stepsOf = (built: { [SPEC]: { steps: unknown[] } }) => built[SPEC].steps as never;

describe('Operators', () => {
  it('runs synchronous operators without a promise, and counts what went in and out of each', () => {
    const c = counts();
    const ops = new Operators(
      stepsOf(
        pipeline('p')
          .from('t')
          .flatMap((s: string) => s.split(' '))
          .filter((w: string) => w !== 'b')
          .keyBy((w: string) => w)
          .to('o'),
      ),
      c,
      lookup,
    );
    const out = ops.run('a b c', null, record);
    expect(Array.isArray(out)).toBe(true);
    expect((out as Array<{ value: unknown; key: string | null }>).map((o) => [o.value, o.key])).toEqual([
      ['a', 'a'],
      ['c', 'c'],
    ]);
    expect(c.seen).toEqual([
      { in: 1, out: 3 },
      { in: 3, out: 2 },
      { in: 2, out: 2 },
    ]);
  });

  it('keeps the order of a flatMap whose later operator is async, and waits only for what returned a promise', async () => {
    const ops = new Operators(
      stepsOf(
        pipeline('p')
          .from('t')
          .flatMap((n: number) => [n, n + 1, n + 2])
          .map(async (n: number) => {
            await new Promise((resolve) => setTimeout(resolve, (3 - (n % 3)) * 5));
            return n * 10;
          })
          .to('o'),
      ),
      counts(),
      lookup,
    );
    const out = ops.run(1, null, record);
    expect(out).toBeInstanceOf(Promise);
    expect((await out).map((o) => o.value)).toEqual([10, 20, 30]);
  });

  it('names the operator that threw, sync or async, and its place', async () => {
    const sync = new Operators(
      stepsOf(
        pipeline('p')
          .from('t')
          .map(() => {
            throw new Error('no');
          })
          .to('o'),
      ),
      counts(),
      lookup,
    );
    expect(() => sync.run(1, null, record)).toThrow(RecordProblem);
    expect(() => sync.run(1, null, record)).toThrow('map (operator 1) threw no');
    const later = new Operators(
      stepsOf(
        pipeline('p')
          .from('t')
          .map((n: number) => n)
          .filter(() => Promise.reject(new Error('late no')))
          .to('o'),
      ),
      counts(),
      lookup,
    );
    await expect(later.run(1, null, record)).rejects.toThrow('filter (operator 2) threw late no');
    const key = new Operators(
      stepsOf(
        pipeline('p')
          .from('t')
          .keyBy(() => undefined)
          .to('o'),
      ),
      counts(),
      lookup,
    );
    expect(() => key.run(1, null, record)).toThrow('keyBy (operator 1) gave the key undefined');
  });

  it("keys by the record's own Kafka key with keyBy(), and refuses a record written without one", () => {
    const byKey = new Operators(stepsOf(pipeline('p').from('t').keyBy().to('o')), counts(), lookup);
    expect(byKey.run({ n: 1 }, null, { ...record, key: 'movie-7' })).toEqual([
      { value: { n: 1 }, key: 'movie-7', record: { ...record, key: 'movie-7' } },
    ]);
    expect(() => byKey.run({ n: 1 }, null, record)).toThrow(
      'keyBy() (operator 1) found no Kafka key on the record: keyBy() groups by the key each record was written with',
    );
    // Not the key an earlier keyBy(fn) gave: the record's.
    const after = new Operators(
      stepsOf(
        pipeline('p')
          .from('t')
          .keyBy(() => 'other')
          .keyBy()
          .to('o'),
      ),
      counts(),
      lookup,
    );
    expect(after.run(1, null, { ...record, key: 'k' })).toMatchObject([{ key: 'k' }]);
  });
});
