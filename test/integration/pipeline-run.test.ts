// The pipeline runtime against a real Kafka: each result checked against a reference computed here, from the
// generated file, independently of pbx's operators and windows.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load';
import { pipeline, tumbling } from '../../src/pipelines/api';
import { runPipeline, type RunOptions } from '../../src/pipelines/runtime/run';
import { runInProcess } from '../support/cli';
import { purge, testProject } from '../support/stack';
import { readTopic } from '../support/topics';

const PORT = 29396;
const BROKER = `127.0.0.1:${PORT}`;
const project = testProject('itrun', `services:\n  kafka: {port: ${PORT}, mode: kraft}\n`);
const DATA = join(project.dir, 'reviews.json');
const COUNT = 5000;

interface Review {
  product_id: string;
  user_id: string;
  score: string;
  time: number;
}
let reviews: Review[];

beforeAll(async () => {
  await purge(project.name);
  const up = await project.pbx(['up', 'kafka']);
  expect(up.exitCode, up.stderr).toBe(0);
  const gen = await runInProcess(['data', 'gen', 'reviews', '--count', String(COUNT), '--seed', '7', '--out', DATA]);
  expect(gen.exitCode, gen.stderr).toBe(0);
  const replay = await project.pbx([
    'replay',
    DATA,
    '--topic',
    'reviews',
    '--partitions',
    '3',
    '--key',
    'product_id',
    '--rate',
    'max',
  ]);
  expect(replay.exitCode, replay.stderr).toBe(0);
  reviews = readFileSync(DATA, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Review);
});
afterAll(() => purge(project.name));

function options(spec: RunOptions['spec'], extra: Partial<RunOptions> = {}): RunOptions {
  return {
    spec,
    file: 'test',
    config: loadConfig({ file: project.file }),
    replicas: 1,
    from: 'earliest',
    untilEnd: true,
    reset: false,
    onError: 'stop',
    sinkTimeoutMs: 60_000,
    signal: new AbortController().signal,
    onNote: () => undefined,
    ...extra,
  };
}

describe('pbx run, stateless', () => {
  it('filters and maps every review once, in the order of its partition', async () => {
    const spec = pipeline('itfilter')
      .from('reviews')
      .filter((r: Review) => Number(r.score) >= 3)
      .map((r: Review) => ({ user: r.user_id, product: r.product_id, score: Number(r.score) }))
      .to('high-scores');
    const summary = await runPipeline(options(spec[Symbol.for('pbx.pipeline') as never]));
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
    const summary = await runPipeline(options(spec[Symbol.for('pbx.pipeline') as never]));
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
