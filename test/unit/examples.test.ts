// The examples shipped in examples/ load as the pipelines their READMEs describe (test/integration/examples.test.ts
// runs them against the real stack).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipeline } from '../../src/pipelines/load';
import { shapeOf } from '../../src/pipelines/shape';
import { topologyOf } from '../../src/pipelines/runtime/topology';

const EXAMPLES = join(import.meta.dirname, '../../examples');

async function shape(example: string, name: string) {
  const { spec, file } = await loadPipeline(name, join(EXAMPLES, example));
  topologyOf(spec);
  return shapeOf(spec, file);
}

describe('examples', () => {
  it('word-count: tr, keyed by word, sort | uniq -c over a window, to a topic and Cassandra', async () => {
    const s = await shape('word-count', 'word-count');
    expect(s.steps.map((step) => step.kind)).toEqual(['map', 'shell', 'keyBy', 'shell']);
    expect(s.sinks).toEqual(['topic word-counts', 'cassandra word_count.counts']);
  });

  it('log-analysis: both branches read access-errors by day windows in event time', async () => {
    for (const name of ['errors-per-day', 'errors-per-status']) {
      const s = await shape('log-analysis', name);
      expect(s.source).toEqual({ topics: ['access-errors'], format: 'text', eventTime: 'time function' });
      expect(s.steps.map((step) => step.kind)).toEqual(['keyBy', 'shell']);
      expect(s.sinks).toEqual([`topic ${name}`]);
    }
  });
});
