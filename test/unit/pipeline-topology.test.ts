import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/errors';
import { cassandra, pipeline, SPEC, tumbling, type HasSpec } from '../../src/pipelines/api';
import { describeTopology, stateTopic, topologyOf } from '../../src/pipelines/runtime/topology';

interface Review {
  product_id: string;
  time: number;
}
const reviews = () => pipeline('per-hour').from<Review>('reviews', { time: (r) => r.time * 1000 });
const topology = (built: HasSpec) => topologyOf(built[SPEC]);

function refusal(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error('it was not refused');
}

describe('topologyOf: keyBy() over a topic partitioned by its key', () => {
  it('keeps state per source partition, with no repartition topic', () => {
    const built = reviews()
      .filter((r) => r.product_id !== '')
      .keyBy()
      .window(tumbling('1h'))
      .count()
      .to(cassandra('reviews.per_hour'));
    const t = topology(built);
    expect(t.coPartitioned).toBe(true);
    expect(t.topics).toEqual({ changelog: 'pbx-per-hour-changelog', deadLetter: 'pbx-per-hour-dead-letters' });
    expect(stateTopic(t)).toBe('reviews');
    expect(t.head.map((s) => s.label)).toEqual(['filter', 'keyBy()']);
    expect(describeTopology(t)).toBe('reviews → filter → keyBy() → tumbling count → cassandra reviews.per_hour');
  });

  it('repartitions with a key function, as before', () => {
    const t = topology(
      reviews()
        .keyBy((r) => r.product_id)
        .window(tumbling('1h'))
        .count()
        .to('counts'),
    );
    expect(t.coPartitioned).toBe(false);
    expect(stateTopic(t)).toBe('pbx-per-hour-repartition');
    expect(describeTopology(t)).toBe('reviews → keyBy ⇒ tumbling count → topic counts');
  });

  it('needs no partitioning for keyBy() without an aggregate', () => {
    const t = topology(pipeline('keyed').from(['a', 'b']).keyBy().to('out'));
    expect(t.coPartitioned).toBe(false);
    expect(t.topics.repartition).toBeUndefined();
  });

  it('refuses keyBy() before an aggregate over two topics, before anything connects', () => {
    const error = refusal(() =>
      topology(pipeline('two').from(['reviews', 'more_reviews']).keyBy().window(tumbling('1h')).count().to('counts')),
    );
    expect(error.message).toContain('over 2 topics (reviews, more_reviews)');
    expect(error.nextSteps.join(' ')).toContain('.keyBy((r) => r.field)');
  });

  it('refuses keyBy() after a shell step, whose lines have no Kafka key', () => {
    const error = refusal(() => topology(pipeline('sh').from('lines').shell('tr a b').keyBy().count().to('counts')));
    expect(error.message).toContain('after the shell step tr a b');
  });
});
