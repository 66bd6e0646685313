// The pipeline runtime against a real Kafka: each result checked against a reference computed here, from the
// generated file, independently of pbx's operators and windows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline, tumbling, type HasSpec } from '../../src/pipelines/api';
import { UserError } from '../../src/cli/errors';
import { runPipeline, type RunOptions } from '../../src/pipelines/runtime/run';
import {
  lastByKey,
  perHourCounts,
  perHourReference,
  replayReviews,
  runLiveThenStop,
  runOptions,
  type Review,
} from '../support/pipelines';
import { purge, startStack, testProject } from '../support/stack';
import { rejectionOf } from '../support/wait';
import { produce, readTopic, withAdmin } from '../support/topics';

const PORT = 29396;
const BROKER = `127.0.0.1:${PORT}`;
const project = testProject('itrun', `services:\n  kafka: {port: ${PORT}, mode: kraft}\n`);
const COUNT = 5000;
let reviews: Review[];

beforeAll(async () => {
  await startStack(project, 'kafka');
  reviews = await replayReviews(project, COUNT, 7);
});
afterAll(() => purge(project.name));

const options = (built: HasSpec, extra: Partial<RunOptions> = {}) => runOptions(project, built, extra);

describe('pbx run, stateless', () => {
  it('filters and maps every review once, in the order of its partition', async () => {
    const spec = pipeline('itfilter')
      .from('reviews')
      .filter((r: Review) => Number(r.score) >= 3)
      .map((r: Review) => ({ user: r.user_id, product: r.product_id, score: Number(r.score) }))
      .to('high-scores');
    const summary = await runPipeline(options(spec));
    expect(summary.records).toBe(COUNT);
    const expected = reviews
      .filter((r) => Number(r.score) >= 3)
      .map((r) => JSON.stringify({ user: r.user_id, product: r.product_id, score: Number(r.score) }));
    const got = await readTopic(BROKER, 'high-scores');
    expect(got.map((r) => r.value).sort()).toEqual([...expected].sort());
  });
});

describe('pbx run, windowed', () => {
  it('counts reviews per product per hour of event time, as a reference count does', async () => {
    const spec = pipeline('itperhour')
      .from('reviews', { time: (r: Review) => r.time * 1000 })
      .keyBy((r: Review) => r.product_id)
      .window(tumbling('1h'))
      .count()
      .to('per-hour');
    const summary = await runPipeline(options(spec));
    expect(summary.records).toBe(COUNT);
    const reference = new Map<string, number>();
    for (const r of reviews) {
      const start = Math.floor((r.time * 1000) / 3_600_000) * 3_600_000;
      const id = `${r.product_id}@${start}`;
      reference.set(id, (reference.get(id) ?? 0) + 1);
    }
    const got = new Map<string, number>();
    for (const { value } of await readTopic(BROKER, 'per-hour')) {
      const v = JSON.parse(value) as { key: string; window_start: number; count: number };
      const id = `${v.key}@${v.window_start}`;
      expect(got.has(id), `${id} emitted twice`).toBe(false);
      got.set(id, v.count);
    }
    expect(got).toEqual(reference);
  });
});

describe('pbx run, a live run then --until-end', () => {
  it('closes, at the end, the windows a live run that had read everything left open', async () => {
    const build = () =>
      pipeline('itlive')
        .from('reviews', { time: (r: Review) => r.time * 1000 })
        .keyBy((r: Review) => r.product_id)
        .window(tumbling('1h'))
        .count()
        .to('live-per-hour');
    await runLiveThenStop(options(build()), COUNT, 'review');
    const summary = await runPipeline(options(build()));
    expect(summary.records).toBe(0);
    const windows = new Set<string>();
    for (const r of reviews) windows.add(`${r.product_id}@${Math.floor((r.time * 1000) / 3_600_000) * 3_600_000}`);
    const got = (await readTopic(BROKER, 'live-per-hour')).map(
      (r) => JSON.parse(r.value) as { key: string; window_start: number },
    );
    expect(new Set(got.map((v) => `${v.key}@${v.window_start}`))).toEqual(windows);
    expect(got.length).toBe(windows.size);
  });
});

describe('pbx run, keyBy() over a topic partitioned by its key (reviews replayed with --key product_id)', () => {
  const byKey = (name: string, output: string) =>
    pipeline(name)
      .from('reviews', { time: (r: Review) => r.time * 1000 })
      .keyBy()
      .window(tumbling('1h'))
      .count()
      .to(output);

  it('counts per product per hour as a reference count does, with no repartition topic', async () => {
    const summary = await runPipeline(options(byKey('itbykey', 'by-key-per-hour')));
    expect(summary.records).toBe(COUNT);
    expect(summary.topology).toBe('reviews → keyBy() → tumbling count → topic by-key-per-hour');
    expect(await perHourCounts(BROKER, 'by-key-per-hour')).toEqual(perHourReference(reviews));
    const topics = await withAdmin(BROKER, (admin) => admin.fetchTopicMetadata());
    const names = topics.topics.map((t) => t.name);
    expect(names).not.toContain('pbx-itbykey-repartition');
    // The state follows the source's partitions: a changelog partition each.
    expect(topics.topics.find((t) => t.name === 'pbx-itbykey-changelog')?.partitions.length).toBe(3);
  });

  it('closes, at the end, the windows a live run that had read everything left open', async () => {
    await runLiveThenStop(options(byKey('itbykeylive', 'by-key-live')), COUNT, 'review');
    const closedLive = (await readTopic(BROKER, 'by-key-live')).length;
    const summary = await runPipeline(options(byKey('itbykeylive', 'by-key-live')));
    expect(summary.records).toBe(0);
    const reference = perHourReference(reviews);
    // Each partition closed its windows by its own event time while live; its last ones were left for the end.
    expect(closedLive).toBeGreaterThan(0);
    expect(closedLive).toBeLessThan(reference.size);
    expect(await perHourCounts(BROKER, 'by-key-live')).toEqual(reference);
  });

  it('sums over all time, no window (combined per batch), the last sum of each product equal to a sum done here', async () => {
    const built = pipeline('itbykeytotal')
      .from('reviews')
      .filter((r: Review) => Number(r.score) >= 3)
      .keyBy()
      .sum((r: Review) => Number(r.score))
      .to('by-key-totals');
    const summary = await runPipeline(options(built));
    expect(summary.records).toBe(COUNT);
    const reference = new Map<string, number>();
    for (const r of reviews)
      if (Number(r.score) >= 3) reference.set(r.product_id, (reference.get(r.product_id) ?? 0) + Number(r.score));
    expect(await lastByKey(BROKER, 'by-key-totals', 'sum')).toEqual(reference);
  });

  it('follows --on-error for a record with no Kafka key, saying why', async () => {
    const HOUR = 3_600_000;
    const values = [
      { k: 'a', t: 0 },
      { k: null, t: 1 },
      { k: 'a', t: 2 },
      { k: 'b', t: HOUR },
    ];
    await produce(BROKER, 'some-unkeyed', values, (v) => (v as { k: string | null }).k);
    const build = () =>
      pipeline('itunkeyed')
        .from<{ t: number }>('some-unkeyed', { time: (r) => r.t })
        .keyBy()
        .window(tumbling('1h'))
        .count()
        .to('unkeyed-counts');
    const error = await rejectionOf(runPipeline(options(build())));
    expect((error as UserError).code).toBe('RECORD_FAILED');
    expect((error as Error).message).toContain('some-unkeyed/0/1');
    expect((error as Error).message).toContain('found no Kafka key on the record');

    const summary = await runPipeline(options(build(), { onError: 'dead-letter', deadLetterTopic: 'unkeyed-dl' }));
    expect(summary.deadLetters).toBe(1);
    const counts = (await readTopic(BROKER, 'unkeyed-counts')).map(
      (r) => JSON.parse(r.value) as { key: string; window_start: number; count: number },
    );
    expect(counts.map((c) => [c.key, c.window_start, c.count])).toEqual([
      ['a', 0, 2],
      ['b', HOUR, 1],
    ]);
    const [letter, ...more] = await readTopic(BROKER, 'unkeyed-dl');
    expect(more).toEqual([]);
    expect(letter!.headers['pbx-offset']).toBe('1');
    expect(letter!.headers['pbx-operator']).toBe('keyBy() (operator 1)');
    expect(letter!.headers['pbx-error']).toContain('found no Kafka key on the record');
  });
});

describe('pbx run, keyed', () => {
  it('counts words over all time, the last count of each word equal to a count done here', async () => {
    const sentences = Array.from({ length: 3000 }, (_, i) => ({ text: `w${i % 7} w${i % 13} w${i % 7} x${i % 101}` }));
    await produce(BROKER, 'sentences', sentences);
    const built = pipeline('itwords')
      .from('sentences')
      .flatMap((s: { text: string }) => s.text.split(' '))
      .keyBy((word: string) => word)
      .count()
      .to('word-counts');
    const summary = await runPipeline(options(built));
    expect(summary.records).toBe(3000);
    const reference = new Map<string, number>();
    for (const s of sentences) for (const w of s.text.split(' ')) reference.set(w, (reference.get(w) ?? 0) + 1);
    expect(await lastByKey(BROKER, 'word-counts', 'count')).toEqual(reference);
  });
});

describe('pbx run, records that cannot go on', () => {
  const HOUR = 3_600_000;
  it('stops at a record an operator throws on, everything before it committed; --on-error skip goes on past it', async () => {
    await produce(
      BROKER,
      'numbers',
      Array.from({ length: 100 }, (_, n) => ({ n })),
    );
    const build = () =>
      pipeline('itthrow')
        .from('numbers')
        .map((r: { n: number }) => {
          if (r.n === 42) throw new Error('forty-two is not allowed');
          return r.n;
        })
        .to('numbers-out');
    const error = await rejectionOf(runPipeline(options(build())));
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).code).toBe('RECORD_FAILED');
    expect((error as Error).message).toContain('numbers/0/42');
    expect((error as Error).message).toContain('forty-two is not allowed');
    const before = (await readTopic(BROKER, 'numbers-out')).map((r) => Number(r.value));
    expect(before).toEqual(Array.from({ length: 42 }, (_, n) => n));

    const summary = await runPipeline(options(build(), { onError: 'skip' }));
    expect(summary.errors).toBe(1);
    const after = (await readTopic(BROKER, 'numbers-out')).map((r) => Number(r.value));
    expect(after).toEqual(Array.from({ length: 100 }, (_, n) => n).filter((n) => n !== 42));
  });

  it('dead-letters a value that is not JSON, a late record and a throw, each with its reason, operator and place', async () => {
    await produce(BROKER, 'mixed', [
      { n: 0, t: 0 },
      { n: 1, t: HOUR },
      'not json',
      { n: 3, t: 2 * HOUR },
      { n: 4, t: 10 * 60_000 },
      { n: 5, t: 3 * HOUR, boom: true },
    ]);
    const built = pipeline('itmixed')
      .from<{ t: number; boom?: boolean }>('mixed', { time: (r) => r.t })
      .filter((r) => {
        if (r.boom) throw new Error('boom');
        return true;
      })
      .keyBy(() => 'all')
      .window(tumbling('1h'))
      .count()
      .to('mixed-counts');
    const summary = await runPipeline(options(built, { onError: 'dead-letter', deadLetterTopic: 'mixed-dl' }));
    expect(summary.deadLetters).toBe(3);
    const counts = (await readTopic(BROKER, 'mixed-counts')).map(
      (r) => JSON.parse(r.value) as { window_start: number; count: number },
    );
    expect(counts.map((c) => [c.window_start, c.count])).toEqual([
      [0, 1],
      [HOUR, 1],
      [2 * HOUR, 1],
    ]);
    const letters = await readTopic(BROKER, 'mixed-dl');
    expect(letters.map((l) => [l.headers['pbx-offset'], l.headers['pbx-operator']])).toEqual([
      ['2', 'source'],
      ['4', 'tumbling count'],
      ['5', 'filter (operator 1)'],
    ]);
    expect(letters.every((l) => l.headers['pbx-topic'] === 'mixed' && l.headers['pbx-partition'] === '0')).toBe(true);
    expect(letters[0]!.value).toBe('not json');
    expect(letters[0]!.headers['pbx-error']).toContain('not JSON');
    expect(letters[1]!.headers['pbx-error']).toContain('late');
    expect(letters[2]!.headers['pbx-error']).toContain('boom');
  });
});
