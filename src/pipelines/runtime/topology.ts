// A pipeline's spec cut into what runs where (pure). A stateless pipeline is one stage: source → operators →
// sinks. A keyed aggregate needs every record of a key in one place: stage A (source → operators up to the
// aggregate) writes to the repartition topic keyed by the key; stage B (repartition → aggregate → the operators
// after it → sinks) keeps the state of each repartition partition, logged to the changelog topic's partition of
// the same number. Both stages run in every worker, over one consumer of the pipeline's group.
import { UsageError } from '../../cli/errors';
import type { PipelineSpec, SinkSpec, Step, StreamRecord } from '../api';
import { sinkName } from '../shape';

export type { AggregateStep } from './aggregates';
import type { AggregateStep } from './aggregates';

export interface Topology {
  name: string;
  groupId: string;
  sources: string[];
  format: 'json' | 'text';
  time?: (value: unknown, record: StreamRecord) => number;
  /** Stage A's operators: all of them when there is no aggregate. */
  head: Step[];
  aggregate?: AggregateStep;
  /** The operators after the aggregate (stage B). */
  tail: Step[];
  sinks: SinkSpec[];
  /** Internal topics; repartition and changelog only with an aggregate. */
  topics: { repartition?: string; changelog?: string; deadLetter: string };
}

/** Internal topics and the group are named after the pipeline, so that another run of it finds its own. */
export function topologyOf(spec: PipelineSpec, deadLetterTopic?: string): Topology {
  const { name, source } = spec;
  if (!source) throw new UsageError(`Pipeline ${name} reads nothing: it never calls from().`);
  if (spec.sinks.length === 0) throw new UsageError(`Pipeline ${name} writes nowhere: it never calls to().`);
  const at = spec.steps.findIndex((step) => step.kind === 'aggregate');
  const tail = at < 0 ? [] : spec.steps.slice(at + 1);
  const second = tail.find((step) => step.kind === 'aggregate' || step.kind === 'keyBy');
  if (second) {
    throw new UsageError(
      `Pipeline ${name} aggregates twice (${second.label} after ${spec.steps[at]!.label}): one keyed aggregate per pipeline.`,
      { nextSteps: ['Write the first aggregate to a topic with .to(topic), and read it in a second pipeline.'] },
    );
  }
  const prefix = `pbx-${name}`;
  return {
    name,
    groupId: prefix,
    sources: source.topics,
    format: source.format,
    time: source.time,
    head: at < 0 ? spec.steps : spec.steps.slice(0, at),
    aggregate: at < 0 ? undefined : (spec.steps[at] as AggregateStep),
    tail,
    sinks: spec.sinks,
    topics: {
      ...(at < 0 ? {} : { repartition: `${prefix}-repartition`, changelog: `${prefix}-changelog` }),
      deadLetter: deadLetterTopic ?? `${prefix}-dead-letters`,
    },
  };
}

/** The pipeline in one line, for its summary: "movie_reviews → filter → keyBy ⇒ tumbling count → cassandra reviews.per_hour". */
export function describeTopology(topology: Topology): string {
  const sinks = topology.sinks.map(sinkName).join(' + ');
  const head = [topology.sources.join(', '), ...topology.head.map((s) => s.label)];
  if (!topology.aggregate) return [...head, sinks].join(' → ');
  const tail = [topology.aggregate.label, ...topology.tail.map((s) => s.label), sinks];
  return `${head.join(' → ')} ⇒ ${tail.join(' → ')}`;
}

/**
 * Whether a record is too late for its windows, judged in stage A against the largest event time its own source
 * partition showed before it. Stage B's watermark never passes that time (it is a minimum over the sources'
 * markers, each sent after the records it covers), so whatever stage B would still take, this takes too, and
 * the verdict depends only on the partition's order: the same input drops the same records at any rate.
 */
export function isLate(step: AggregateStep, time: number, maxBefore: number): boolean {
  const { window, lateness } = step;
  if (!window) return false;
  const newestEnd =
    window.kind === 'session'
      ? time + window.gap
      : Math.floor(time / (window.kind === 'hopping' ? window.advance : window.size)) *
          (window.kind === 'hopping' ? window.advance : window.size) +
        window.size;
  return newestEnd + lateness <= maxBefore;
}
