/** Where Cassandra keeps data inside the container (a named volume). */
export const CASSANDRA_DATA_DIR = '/var/lib/pbx/cassandra';

/** A single-node development Cassandra: small memtables, no auth, CQL on `port`. */
export function cassandraYaml(port: number): string {
  return `cluster_name: pbx
num_tokens: 16
allocate_tokens_for_local_replication_factor: 1
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
data_file_directories: [${CASSANDRA_DATA_DIR}/data]
commitlog_directory: ${CASSANDRA_DATA_DIR}/commitlog
saved_caches_directory: ${CASSANDRA_DATA_DIR}/saved_caches
hints_directory: ${CASSANDRA_DATA_DIR}/hints
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
