// The pipeline's Cassandra and Redis sinks, opened before any record flows (a missing table is said at once).
// Kafka sinks are written by the worker's transactions and need nothing opened.
import type { ResolvedConfig } from '../../config/load';
import { cassandraEndpoint, redisEndpoint } from '../../services/endpoints';
import { openCassandraSink } from '../sinks/cassandra';
import { openRedisSink } from '../sinks/redis';
import type { SinkWriter } from '../sinks/types';
import { whileDown, type SinkWriteOptions } from './sink-writes';
import { sinkName } from '../shape';
import type { Topology } from './topology';

/** One writer per sink of the topology, in its order; undefined for Kafka sinks. Closes what opened on a failure. */
export async function openSinks(
  topology: Topology,
  config: ResolvedConfig,
  retry: Pick<SinkWriteOptions, 'sinkTimeoutMs' | 'figures' | 'note'>,
): Promise<Array<SinkWriter | undefined>> {
  const opened: Array<SinkWriter | undefined> = [];
  try {
    for (const sink of topology.sinks) {
      // A sink that is down at the start is waited for as one that goes down later.
      if (sink.kind === 'kafka') opened.push(undefined);
      else if (sink.kind === 'cassandra') {
        const name = sinkName(sink);
        opened.push(await whileDown(retry, name, undefined, () => openCassandraSink(sink, cassandraEndpoint(config))));
      } else {
        opened.push(
          await whileDown(retry, sinkName(sink), undefined, () => openRedisSink(sink, redisEndpoint(config))),
        );
      }
    }
    return opened;
  } catch (error) {
    await Promise.all(opened.flatMap((s) => (s ? [s.close().catch(() => undefined)] : [])));
    throw error;
  }
}
