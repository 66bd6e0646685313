import type { ServiceDefinition } from './types';

const CONF = '/etc/pbx/cassandra/cassandra.yaml';
const DATA = '/var/lib/pbx/cassandra';

/** A single-node development Cassandra: small memtables, no auth, CQL on `port`. */
export function cassandraYaml(port: number): string {
  return `cluster_name: pbx
num_tokens: 16
allocate_tokens_for_local_replication_factor: 1
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
data_file_directories: [${DATA}/data]
commitlog_directory: ${DATA}/commitlog
saved_caches_directory: ${DATA}/saved_caches
hints_directory: ${DATA}/hints
commitlog_sync: periodic
commitlog_sync_period: 10000ms
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1:7000"
listen_address: 127.0.0.1
rpc_address: 0.0.0.0
broadcast_rpc_address: 127.0.0.1
start_native_transport: true
# CQL listens on the same port inside and outside the container: drivers connect to the address
# and port the node announces, so the two must agree.
native_transport_port: ${port}
endpoint_snitch: SimpleSnitch
memtable_heap_space: 64MiB
memtable_offheap_space: 64MiB
concurrent_compactors: 1
`;
}

export const cassandra: ServiceDefinition = {
  name: 'cassandra',
  summary: 'Cassandra 5.0: real-time and batch views',
  upstreamImage: 'cassandra:5.0',
  localImage: 'pbx/cassandra:5.0.4',
  spec: ({ config, volume, memoryBytes }) => {
    const port = config.services.cassandra.port;
    const heapMb = Math.max(256, Math.floor((memoryBytes / 1024 ** 2) * 0.5));
    return {
      // -R: the container runs as root so any image can write the named volume.
      command: ['cassandra', '-f', '-R'],
      env: {
        MAX_HEAP_SIZE: `${heapMb}M`,
        HEAP_NEWSIZE: `${Math.floor(heapMb / 4)}M`,
        // cassandra-env.sh appends JVM_EXTRA_OPTS: our cassandra.yaml, the image's other defaults.
        JVM_EXTRA_OPTS: `-Dcassandra.config=file://${CONF} -Dcassandra.skip_wait_for_gossip_to_settle=0`,
      },
      files: { [CONF]: cassandraYaml(port) },
      port: { container: port, host: port, bind: config.bind },
      volumes: { [volume('data')]: DATA },
      dependsOn: [],
      ready: { kind: 'cassandra-cql' },
      startupTimeoutMs: 180_000,
    };
  },
};
