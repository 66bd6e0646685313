import { IMAGES } from '../images/catalog';
import { CASSANDRA_DATA_DIR, cassandraYaml } from './cassandra-config';
import { QUICK_START_JIT } from './jvm';
import type { ServiceDefinition } from './types';

const CONF = '/etc/pbx/cassandra/cassandra.yaml';

export const cassandra: ServiceDefinition = {
  name: 'cassandra',
  title: 'Cassandra',
  summary: 'Cassandra 5.0: real-time and batch views',
  upstreamImage: IMAGES.cassandra.standsInFor,
  localImage: IMAGES.cassandra.tag,
  // A CQL query, not the port alone: Docker's proxy accepts connections on the published port before Cassandra does.
  ready: { kind: 'cassandra-cql' },
  typicalStartMs: 2800,
  spec: ({ config, volume, memoryBytes }) => {
    const port = config.services.cassandra.port;
    const heapMb = Math.max(256, Math.floor((memoryBytes / 1024 ** 2) * 0.5));
    return {
      // -R: the container runs as root so any image can write the named volume.
      command: ['cassandra', '-f', '-R'],
      env: {
        MAX_HEAP_SIZE: `${heapMb}M`,
        HEAP_NEWSIZE: `${Math.floor(heapMb / 4)}M`,
        // cassandra-env.sh appends JVM_EXTRA_OPTS: our cassandra.yaml, the image's other defaults. A lone
        // node has no ring to wait for: without ring_delay_ms=0 a first start sleeps 30 s before taking tokens.
        // Cassandra sizes a memtable row by building 100,000 of them; 100 give the same figure (179 vs 180
        // bytes) 3 s sooner. (-Dcassandra.unsafesystem=true would start it about 1 s sooner by not flushing
        // system tables, but after a kill -9 the project's keyspace and rows were gone: the stack test that
        // kills Cassandra fails with it.)
        JVM_EXTRA_OPTS: [
          `-Dcassandra.config=file://${CONF}`,
          '-Dcassandra.skip_wait_for_gossip_to_settle=0',
          '-Dcassandra.ring_delay_ms=0',
          '-Dcassandra.memtable_row_overhead_computation_step=100',
          QUICK_START_JIT,
        ].join(' '),
      },
      files: { [CONF]: cassandraYaml(port) },
      port: { container: port, host: port, bind: config.bind },
      volumes: { [volume('data')]: CASSANDRA_DATA_DIR },
      dependsOn: [],
      startupTimeoutMs: 180_000,
    };
  },
};
