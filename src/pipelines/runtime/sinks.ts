// The pipeline's Cassandra and Redis sinks, opened before any record flows (a missing table is said at once).
// Kafka sinks are written by the worker's transactions and need nothing opened.
import type { ResolvedConfig } from '../../config/load';
import type { SinkWriter } from '../sinks/errors';
import type { Topology } from './topology';

/** One writer per sink of the topology, in its order; undefined for Kafka sinks. */
export async function openSinks(topology: Topology, config: ResolvedConfig): Promise<Array<SinkWriter | undefined>> {
  void config;
  return Promise.all(
    topology.sinks.map((sink) => {
      if (sink.kind === 'kafka') return Promise.resolve(undefined);
      throw new Error(`TEMPORARY: ${sink.kind} sinks land with the sinks branch`);
    }),
  );
}
