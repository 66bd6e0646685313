// Stage A's partial aggregates, for a keyed aggregate without a window whose results merge (count, sum, reduce, an
// aggregate given its merge): one repartition record per key and batch, not one per value. A word count's words
// cross Kafka once per batch and word, which is where Kafka Streams' repartition costs it most. The partials ride in
// the batch's transaction like the values would, so a crash loses or repeats none of them.
import type { Aggregation, StreamRecord } from '../api';
import type { AggregateStep } from './aggregates';

export function combinable(
  step: AggregateStep | undefined,
): step is AggregateStep & { aggregation: { merge: NonNullable<Aggregation['merge']> } } {
  return step !== undefined && !step.window && step.aggregation.merge !== undefined;
}

/** Stage B's step when stage A combines: each value it folds in is a partial, merged. */
export function mergingStep(step: AggregateStep): AggregateStep {
  const merge = step.aggregation.merge!;
  return { ...step, aggregation: { ...step.aggregation, add: (accumulator, partial) => merge(accumulator, partial) } };
}

export class Combiner {
  private readonly partials = new Map<string, { accumulator: unknown; record: StreamRecord }>();

  constructor(private readonly aggregation: Aggregation) {}

  /** Folds one record's values in: all of them, or none when the aggregation's add throws (the caller's problem). */
  add(values: Array<{ key: string; value: unknown; record: StreamRecord }>): void {
    const folded = new Map<string, unknown>();
    for (const { key, value, record } of values) {
      const partial = this.partials.get(key);
      const from = folded.has(key) ? folded.get(key) : partial ? partial.accumulator : this.aggregation.init();
      folded.set(key, this.aggregation.add(from, value, record));
    }
    const record = values.at(-1)?.record;
    if (!record) return;
    for (const [key, accumulator] of folded) this.partials.set(key, { accumulator, record });
  }

  /** The batch's partials, each with the last record that went into it; the combiner is empty after. */
  drain(): Array<{ key: string; accumulator: unknown; record: StreamRecord }> {
    const drained = [...this.partials].map(([key, p]) => ({ key, ...p }));
    this.partials.clear();
    return drained;
  }
}
