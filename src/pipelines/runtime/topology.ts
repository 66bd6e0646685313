// A pipeline's spec cut into what runs where (pure). A stateless pipeline is one stage: source → operators →
// sinks. A keyed aggregate needs every record of a key in one place: stage A (source → operators up to the
// aggregate) writes to the repartition topic keyed by the key; stage B (repartition → aggregate → the operators
// after it → sinks) keeps the state of each repartition partition, logged to the changelog topic's partition of
// the same number. Both stages run in every worker, over one consumer of the pipeline's group. A keyed or window
// shell starts stage B as an aggregate does: a keyed shell runs over each repartition batch (one process per
// repartition partition), a window shell keeps each window's records as keyed state (a collecting aggregate, logged
// to the changelog) and runs over a window's records of the partition when it closes. A stream shell runs in the
// stage it is in, over the batch that stage is working on.
// keyBy() (no function) keys by the records' own Kafka keys: over one topic partitioned by its key, every record of a
// key is in one partition already (co-partitioned, Kafka Streams' groupByKey), so there is no repartition topic and no
// stage A → B hop: each source batch goes through the head operators and on into the state of its own partition
// (changelog partition p for source partition p), one transaction per batch.
import { UsageError } from '../../cli/errors';
import type { PipelineSpec, ShellStep, SinkSpec, Step, StreamRecord } from '../api';
import { sinkName } from '../shape';

export type { AggregateStep } from './aggregates';
import type { AggregateStep } from './aggregates';

export interface Topology {
  name: string;
  groupId: string;
  sources: string[];
  format: 'json' | 'text';
  time?: (value: unknown, record: StreamRecord) => number;
  /** Stage A's operators: all of them when nothing is keyed. */
  head: Step[];
  /** Stage B's first step: a keyed aggregate, or a keyed or window shell. */
  keyed?: AggregateStep | ShellStep;
  /** The keyed state stage B keeps: the aggregate, or a window shell's records per key and window. */
  aggregate?: AggregateStep;
  /** The operators after the keyed step (stage B). */
  tail: Step[];
  /** keyBy() before the keyed step: its state follows the source's partitions, with no repartition topic. */
  coPartitioned: boolean;
  sinks: SinkSpec[];
  /** Internal topics; repartition and changelog only with an aggregate. */
  topics: { repartition?: string; changelog?: string; deadLetter: string };
}

/** Internal topics and the group are named after the pipeline, so that another run of it finds its own. */
export function topologyOf(spec: PipelineSpec, deadLetterTopic?: string): Topology {
  const { name, source } = spec;
  if (!source) throw new UsageError(`Pipeline ${name} reads nothing: it never calls from().`);
  if (spec.sinks.length === 0) throw new UsageError(`Pipeline ${name} writes nowhere: it never calls to().`);
  const at = spec.steps.findIndex(isKeyed);
  const tail = at < 0 ? [] : spec.steps.slice(at + 1);
  const second = tail.find((step) => isKeyed(step) || step.kind === 'keyBy');
  if (second) {
    throw new UsageError(
      `Pipeline ${name} aggregates twice (${second.label} after ${spec.steps[at]!.label}): one keyed aggregate per pipeline.`,
      { nextSteps: ['Write the first aggregate to a topic with .to(topic), and read it in a second pipeline.'] },
    );
  }
  const prefix = `pbx-${name}`;
  const keyed = at < 0 ? undefined : (spec.steps[at] as AggregateStep | ShellStep);
  const aggregate = keyed?.kind === 'shell' ? windowRecords(keyed) : keyed;
  const head = at < 0 ? spec.steps : spec.steps.slice(0, at);
  const coPartitioned = keyed !== undefined && byRecordKey(name, head, source.topics);
  return {
    name,
    groupId: prefix,
    sources: source.topics,
    format: source.format,
    time: source.time,
    head,
    keyed,
    aggregate,
    tail,
    coPartitioned,
    sinks: spec.sinks,
    topics: {
      ...(keyed && !coPartitioned ? { repartition: `${prefix}-repartition` } : {}),
      ...(aggregate ? { changelog: `${prefix}-changelog` } : {}),
      deadLetter: deadLetterTopic ?? `${prefix}-dead-letters`,
    },
  };
}

/**
 * Whether the keyed step's key is the records' own Kafka key (the last keyBy before it has no function). Refused when
 * that cannot be co-partitioned: several topics (each partitioned its own way), or a shell before it (its output
 * lines are new records, with no Kafka key).
 */
function byRecordKey(name: string, head: Step[], sources: string[]): boolean {
  const keyBy = head.findLast((step) => step.kind === 'keyBy');
  if (!keyBy || keyBy.fn) return false;
  const byFunction = ["Or key by a field: .keyBy((r) => r.field) moves each record to its key's partition itself."];
  if (sources.length !== 1) {
    throw new UsageError(
      `Pipeline ${name} groups by the records' Kafka keys (keyBy() with no function) over ${sources.length} topics (${sources.join(', ')}): keyBy() needs every record of a key in one partition of one topic.`,
      { nextSteps: ['Read one topic, partitioned by its key.', ...byFunction] },
    );
  }
  const shell = head.find((step) => step.kind === 'shell');
  if (shell) {
    throw new UsageError(
      `Pipeline ${name} groups by the records' Kafka keys (keyBy() with no function) after the shell step ${shell.label}, whose output lines have no Kafka key.`,
      { nextSteps: ['Call keyBy() before the shell step, or key its output lines by a field.', ...byFunction] },
    );
  }
  return true;
}

/** The topic whose partitions keyed state follows: the repartition topic, or the source itself when co-partitioned. */
export function stateTopic(topology: Topology): string | undefined {
  return topology.topics.repartition ?? (topology.coPartitioned ? topology.sources[0] : undefined);
}

/** Steps that need every record of a key in one place: stage B's first step. */
function isKeyed(step: Step): step is AggregateStep | ShellStep {
  return step.kind === 'aggregate' || (step.kind === 'shell' && step.scope !== 'stream');
}

/**
 * A window shell's values of one key and window, in arrival order: a run of equal strings in a row (a word keyed by
 * itself, again and again) is held once with its length, so a window of a million words holds one entry per word.
 */
export interface ValueRuns {
  values: unknown[];
  /** How many times in a row each of `values` came. */
  counts: number[];
}

/**
 * A window shell's state: each key's records per window, as an aggregate that collects them (in arrival order, as
 * ValueRuns), so that the windows close, restore and log to the changelog as an aggregate's do. Undefined for a
 * keyed shell.
 */
export function windowRecords(step: ShellStep): AggregateStep | undefined {
  if (step.scope !== 'window' || !step.window) return undefined;
  return {
    kind: 'aggregate',
    window: step.window,
    lateness: step.lateness,
    label: step.label,
    aggregation: {
      field: 'value',
      init: (): ValueRuns => ({ values: [], counts: [] }),
      add: (state, value) => {
        const runs = state as ValueRuns;
        const last = runs.values.length - 1;
        if (last >= 0 && typeof value === 'string' && runs.values[last] === value) runs.counts[last]!++;
        else {
          runs.values.push(value);
          runs.counts.push(1);
        }
        return runs;
      },
      merge: (a, b) => {
        const [first, second] = [a as ValueRuns, b as ValueRuns];
        return { values: [...first.values, ...second.values], counts: [...first.counts, ...second.counts] };
      },
    },
  };
}

/** The pipeline in one line, for its summary: "movie_reviews → filter → keyBy ⇒ tumbling count → cassandra reviews.per_hour". */
export function describeTopology(topology: Topology): string {
  const sinks = topology.sinks.map(sinkName).join(' + ');
  const head = [topology.sources.join(', '), ...topology.head.map((s) => s.label)];
  const tail = [...(topology.keyed ? [topology.keyed.label] : []), ...topology.tail.map((s) => s.label), sinks];
  // ⇒ is the repartition; co-partitioned records stay in their partition.
  return topology.topics.repartition ? `${head.join(' → ')} ⇒ ${tail.join(' → ')}` : [...head, ...tail].join(' → ');
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
