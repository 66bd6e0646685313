// The pipeline's Cassandra and Redis sinks, opened before any record flows (a missing table is said at once).
// Kafka sinks are written by the worker's transactions and need nothing opened.
import type { ResolvedConfig } from '../../config/load';
import { cassandraEndpoint, redisEndpoint } from '../../services/endpoints';
import { openCassandraSink } from '../sinks/cassandra';
import { openRedisSink } from '../sinks/redis';
import type { SinkWriter } from '../sinks/types';
import type { Topology } from './topology';

/** One writer per sink of the topology, in its order; undefined for Kafka sinks. Closes what opened on a failure. */
export async function openSinks(topology: Topology, config: ResolvedConfig): Promise<Array<SinkWriter | undefined>> {
  const opened: Array<SinkWriter | undefined> = [];
  try {
    for (const sink of topology.sinks) {
      if (sink.kind === 'kafka') opened.push(undefined);
      else if (sink.kind === 'cassandra') opened.push(await openCassandraSink(sink, cassandraEndpoint(config)));
      else opened.push(await openRedisSink(sink, redisEndpoint(config)));
    }
    return opened;
  } catch (error) {
    await Promise.all(opened.flatMap((s) => (s ? [s.close().catch(() => undefined)] : [])));
    throw error;
  }
}
