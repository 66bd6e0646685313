import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { loadConfig } from '../../src/config/load';
import { SPEC, type HasSpec } from '../../src/pipelines/api';
import { runPipeline, type RunOptions } from '../../src/pipelines/runtime/run';
import { replay, type ReplaySummary } from '../../src/replay/replay';
import type { ResolvedConfig } from '../../src/config/load';
import { generateData } from './cli';
import type { TestProject } from './stack';
import { kcatEndOffset, readTopic } from './topics';
import { waitFor } from './wait';

/** A record of `pbx data gen reviews`, as the pipeline tests read it. */
export interface Review {
  product_id: string;
  user_id: string;
  score: string;
  time: number;
}

/** Reviews per product per hour, `${product}@${window_start}` → count, counted here (the tests' reference). */
export function perHourReference(reviews: Iterable<Review>): Map<string, number> {
  const reference = new Map<string, number>();
  for (const r of reviews) {
    const id = `${r.product_id}@${Math.floor((r.time * 1000) / 3_600_000) * 3_600_000}`;
    reference.set(id, (reference.get(id) ?? 0) + 1);
  }
  return reference;
}

/** A per-hour count topic as `${key}@${window_start}` → count; a window written twice fails the test. */
export async function perHourCounts(broker: string, topic: string): Promise<Map<string, number>> {
  const got = new Map<string, number>();
  for (const { value } of await readTopic(broker, topic)) {
    const v = JSON.parse(value) as { key: string; window_start: number; count: number };
    const id = `${v.key}@${v.window_start}`;
    expect(got.has(id), `${id} written twice`).toBe(false);
    got.set(id, v.count);
  }
  return got;
}

/** An aggregate's output topic as key → the last `field` written for it; a record keyed unlike its value fails the test. */
export async function lastByKey(broker: string, topic: string, field: string): Promise<Map<string, number>> {
  const last = new Map<string, number>();
  for (const r of await readTopic(broker, topic)) {
    const v = JSON.parse(r.value) as { key: string } & Record<string, number>;
    expect(r.key).toBe(v.key);
    last.set(v.key, v[field]!);
  }
  return last;
}

/** The options of an in-process run of `built` against `project`: from the earliest records to the end, stopping at an error. */
export function runOptions(project: TestProject, built: HasSpec, extra: Partial<RunOptions> = {}): RunOptions {
  return {
    spec: built[SPEC],
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

export interface GeneratedReplay {
  kind: string;
  file: string;
  count: number;
  seed: number;
  topic: string;
  /** The field the records are keyed by. */
  key: string;
}

/** Generates records (pbx data gen) and replays them at full speed into a topic of 3 partitions; returns them parsed. */
export async function replayGenerated<T>(project: TestProject, replay: GeneratedReplay): Promise<T[]> {
  const { kind, file, count, seed, topic, key } = replay;
  const lines = await generateData(kind, file, count, seed);
  const result = await project.pbx([
    'replay',
    file,
    '--topic',
    topic,
    '--partitions',
    '3',
    '--key',
    key,
    '--rate',
    'max',
  ]);
  expect(result.exitCode, result.stderr).toBe(0);
  return lines.map((line) => JSON.parse(line) as T);
}

/** Generates `count` reviews into the project's reviews.json and replays them into topic reviews, keyed by product. */
export function replayReviews(project: TestProject, count: number, seed: number): Promise<Review[]> {
  const file = join(project.dir, 'reviews.json');
  return replayGenerated<Review>(project, { kind: 'reviews', file, count, seed, topic: 'reviews', key: 'product_id' });
}

export interface DisturbedReplay {
  config: ResolvedConfig;
  file: string;
  /** A topic of one partition, made by the replay or before it. */
  topic: string;
  /** host:port of the brokers, comma separated, where kcat watches the topic fill. */
  brokers: string;
  /** Done to Kafka once it holds the first records of the topic, while the replay goes on. */
  disturb: () => Promise<void>;
}

/**
 * Replays a file at full speed in this process (where a test can watch its requests), does `disturb` once Kafka holds
 * the first records, and returns what the replay said once it has ended, and whether it was still sending when
 * `disturb` began.
 */
export async function replayDisturbed(
  options: DisturbedReplay,
): Promise<{ summary: ReplaySummary; disturbedBeforeEnd: boolean }> {
  const { config, file, topic, brokers, disturb } = options;
  let finished = false;
  const replaying = replay({
    config,
    source: { path: file },
    topic,
    pace: { kind: 'max' },
    signal: new AbortController().signal,
  }).finally(() => (finished = true));
  await waitFor(() => kcatEndOffset(brokers, topic), {
    what: `Kafka to hold the first records of ${topic}`,
    timeout: 60_000,
    interval: 20,
    giveUpIf: () => (finished ? 'the replay ended' : undefined),
  });
  const disturbedBeforeEnd = !finished;
  await disturb();
  return { summary: await replaying, disturbedBeforeEnd };
}

/**
 * Runs a pipeline live (no --until-end) until it has read `count` records, then stops it as Ctrl-C would, and
 * expects it to say it was interrupted. `what` names the records in the message when they do not come.
 */
export async function runLiveThenStop(options: RunOptions, count: number, what: string): Promise<void> {
  const stop = new AbortController();
  let read = 0;
  const live = runPipeline({
    ...options,
    untilEnd: false,
    signal: stop.signal,
    onFigures: ([f]) => (read = f?.consumed.total ?? read),
  });
  await waitFor(() => read, { what: `the live run to read every ${what}`, timeout: 60_000, until: (n) => n >= count });
  // A few more seconds for its last batches to commit.
  await sleep(3000);
  stop.abort();
  expect((await live).stoppedBy).toBe('interrupt');
}
