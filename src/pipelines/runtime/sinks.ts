// The pipeline's Cassandra, Redis and stdout sinks, opened before any record flows (a missing table is said at once).
// Kafka sinks are written by the worker's transactions and need nothing opened.
import type { Writable } from 'node:stream';
import type { ResolvedConfig } from '../../config/load';
import { cassandraEndpoint, redisEndpoint } from '../../services/endpoints';
import { openCassandraSink } from '../sinks/cassandra';
import { openRedisSink } from '../sinks/redis';
import { openStdoutSink } from '../sinks/stdout';
import type { SinkWriter } from '../sinks/types';
import { whileDown, type SinkWriteOptions } from './sink-writes';
import { sinkName } from '../shape';
import type { Topology } from './topology';

export interface OpenSinksOptions extends Pick<SinkWriteOptions, 'sinkTimeoutMs' | 'figures' | 'note'> {
  config: ResolvedConfig;
  /** Where a stdout sink prints: the command's standard output. */
  stdout?: Writable;
}

/** One writer per sink of the topology, in its order; undefined for Kafka sinks. Closes what opened on a failure. */
export async function openSinks(topology: Topology, options: OpenSinksOptions): Promise<Array<SinkWriter | undefined>> {
  const opened: Array<SinkWriter | undefined> = [];
  try {
    for (const sink of topology.sinks) {
      // A sink that is down at the start is waited for as one that goes down later.
      const name = sinkName(sink);
      switch (sink.kind) {
        case 'kafka':
          opened.push(undefined);
          break;
        case 'cassandra':
          opened.push(
            await whileDown(options, name, undefined, () => openCassandraSink(sink, cassandraEndpoint(options.config))),
          );
          break;
        case 'redis':
          opened.push(
            await whileDown(options, name, undefined, () => openRedisSink(sink, redisEndpoint(options.config))),
          );
          break;
        case 'stdout':
          if (!options.stdout) throw new Error('a stdout sink needs the stream to print to (RunOptions.stdout)');
          opened.push(openStdoutSink(options.stdout));
      }
    }
    return opened;
  } catch (error) {
    await Promise.all(opened.flatMap((s) => (s ? [s.close().catch(() => undefined)] : [])));
    throw error;
  }
}
