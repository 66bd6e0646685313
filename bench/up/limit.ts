// The physical limit of a stack start: no tool can have the stack ready before its slowest service has started and
// answered once. Each service's own start runs from its container's start (the engine's record) to the line its own log
// writes when it has started (the engine's timestamp of that line), plus one request of pbx's readiness proof answered.
import { execa } from 'execa';
import type { ResolvedConfig } from '../../src/config/load';
import type { ServiceName } from '../../src/config/schema';
import { probeOnce } from '../../src/services/probes';

/** The line each service logs once it serves: the same in pbx's images and upstream's. */
export const STARTED_LINE: Record<ServiceName, RegExp> = {
  // Its request processor starts last, once the database is loaded and the port bound.
  zookeeper: /PrepRequestProcessor \(sid:\d+\) started/,
  // ZooKeeper mode, then KRaft.
  kafka: /\[KafkaServer id=\d+\] started|\[KafkaRaftServer nodeId=\d+\] Kafka Server started/,
  cassandra: /CassandraDaemon.*Startup complete/,
  redis: /Ready to accept connections/,
};

export interface OwnStart {
  service: ServiceName;
  /** When the engine started its container (epoch ms). */
  containerStartedAt: number;
  /** Container start → the service's "started" line. */
  toStartedLineMs: number;
  /** One answer to pbx's readiness proof on the running service. */
  requestMs: number;
  totalMs: number;
}

/** Engine timestamps carry nanoseconds; Date.parse takes milliseconds. */
const parseTime = (text: string) => Date.parse(text.replace(/(\.\d{3})\d*/, '$1'));

/**
 * Each service's own start in a stack that is ready. The request is pbx's full probe, asked twice and the second
 * timed: the first may make what the proof needs (Kafka's check topic), which both tools' stacks have by then or not.
 */
export async function ownStarts(config: ResolvedConfig, containers: Map<ServiceName, string>): Promise<OwnStart[]> {
  const starts: OwnStart[] = [];
  for (const [service, id] of containers) {
    const startedAt = parseTime((await execa('docker', ['inspect', '-f', '{{.State.StartedAt}}', id])).stdout);
    const { all } = await execa('docker', ['logs', '--timestamps', id], { all: true, maxBuffer: 1e8 });
    const line = all.split('\n').find((l) => STARTED_LINE[service].test(l));
    if (!line) throw new Error(`${service}'s log has no line matching ${STARTED_LINE[service]}`);
    await probeOnce(config, service, 'full');
    const asked = performance.now();
    await probeOnce(config, service, 'full');
    const requestMs = performance.now() - asked;
    const toStartedLineMs = parseTime(line.slice(0, line.indexOf(' '))) - startedAt;
    starts.push({
      service,
      containerStartedAt: startedAt,
      toStartedLineMs,
      requestMs,
      totalMs: toStartedLineMs + requestMs,
    });
  }
  return starts;
}

/** The slowest service's own start: the stack's physical limit in that run. */
export function physicalLimit(starts: OwnStart[]): OwnStart {
  return starts.reduce((slowest, s) => (s.totalMs > slowest.totalMs ? s : slowest));
}
