/**
 * The JIT setting of the stack's JVMs (ZooKeeper, Kafka, Cassandra): the C1 compiler only. A start then takes
 * about half the CPU time, which decides how long the stack takes to come up when the three JVMs start side
 * by side on a laptop's cores. The cost is peak compute a one-node development stack does not reach: kcat
 * produced 1M reviews to the broker at the same rate either way (docs/benchmarks.md).
 */
export const QUICK_START_JIT = '-XX:TieredStopAtLevel=1';
