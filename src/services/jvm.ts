/**
 * The JIT setting of the stack's Cassandra and ZooKeeper: the C1 compiler only. Their starts then take
 * about half the CPU time, which matters while the JVMs start side by side on a laptop, at the cost of
 * peak throughput a one-node development stack does not need. Kafka keeps the full JIT: replay and
 * pipeline throughput is measured against it.
 */
export const QUICK_START_JIT = '-XX:TieredStopAtLevel=1';
