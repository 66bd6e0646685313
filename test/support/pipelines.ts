import { expect } from 'vitest';
import { loadConfig } from '../../src/config/load';
import { SPEC, type HasSpec } from '../../src/pipelines/api';
import type { RunOptions } from '../../src/pipelines/runtime/run';
import { generateData } from './cli';
import type { TestProject } from './stack';

/** A record of `pbx data gen reviews`, as the pipeline tests read it. */
export interface Review {
  product_id: string;
  user_id: string;
  score: string;
  time: number;
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
