// The compose contender of bench/up: pbx's stack written as a compose file, like for like. The same images, the same
// command, environment and config files (pbx's own `writingFiles`), the same user, init, memory limit, restart policy,
// named volumes and ports on the same address; health checks that prove what pbx's readiness probes prove, as far as
// the images' own tools allow; and the start order pbx uses on fresh volumes.
import { writingFiles } from '../../src/stack/containers';
import type { DependencyCondition, ServiceSpec } from '../../src/services/types';

/** What compose's health check runs for each service: pbx's probe, with what the service's image has. */
export function healthCheck(spec: ServiceSpec): string {
  switch (spec.name) {
    case 'zookeeper':
      // pbx: `ruok` answers `imok`, and `srvr` reports a mode (ZooKeeper has formed its quorum of one).
      return [
        `exec 3<>/dev/tcp/127.0.0.1/${spec.port.container} && printf ruok >&3`,
        `[ "$(timeout 2 cat <&3)" = imok ]`,
        `exec 4<>/dev/tcp/127.0.0.1/${spec.port.container} && printf srvr >&4`,
        `timeout 2 cat <&4 | grep -q '^Mode: '`,
      ].join(' && ');
    case 'kafka':
      return KAFKA_CHECK;
    case 'cassandra':
      return cqlCheck(spec.port.container);
    case 'redis':
      return `redis-cli -p ${spec.port.container} ping | grep -qx PONG`;
  }
}

// pbx: a record produced with acks from all in-sync replicas and consumed back in a consumer group of its own. Here
// Kafka's console producer (synchronous, so that its exit status is the acknowledgement's) and, beside it, the console
// consumer in a new group reading one record of the check topic from its start: two JVMs per check, the closest the
// image's tools allow (no tool in it reads back the one record it produced through a group). Their heap is set small
// (the container's KAFKA_HEAP_OPTS is the broker's) and their logs go nowhere (the broker's log4j file logs to stdout).
const KAFKA_CHECK = [
  'export KAFKA_HEAP_OPTS=-Xmx96m KAFKA_LOG4J_OPTS=-Dlog4j.configuration=file:/dev/null',
  'tool() { timeout 20 /opt/kafka/bin/kafka-run-class.sh "$@" 2>/dev/null; }',
  'token=$(date +%s%N)',
  `echo $token | tool kafka.tools.ConsoleProducer --bootstrap-server kafka:29092 --topic __compose_ready --sync --request-required-acks all & producer=$!`,
  `tool org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server kafka:29092 --topic __compose_ready --group ready-$token --from-beginning --max-messages 1 --timeout-ms 15000 --consumer-property enable.auto.commit=false | grep -qE '^[0-9]{19}$'`,
  'consumed=$?',
  'wait $producer && [ $consumed = 0 ]',
].join('\n');

/**
 * pbx: `SELECT release_version FROM system.local` over CQL. The image has no cqlsh, so bash speaks CQL's native
 * protocol (v4) itself, as pbx's check does: a STARTUP answered by READY, then the query answered by a row.
 */
function cqlCheck(port: number): string {
  const startup = String.raw`\x04\x00\x00\x01\x01\x00\x00\x00\x16\x00\x01\x00\x0bCQL_VERSION\x00\x053.0.0`;
  const query = 'SELECT release_version FROM system.local';
  const queryFrame = String.raw`\x04\x00\x00\x02\x07\x00\x00\x00\x2f\x00\x00\x00\x28${query}\x00\x01\x00`;
  return [
    `exec 3<>/dev/tcp/127.0.0.1/${port} || exit 1`,
    `printf '${startup}' >&3`,
    // A response header: version 0x84, flags, stream 1, opcode 2 (READY), a body of 0 bytes.
    `[ "$(timeout 2 head -c 9 <&3 | od -An -tx1 | tr -d ' \\n')" = 840000010200000000 ] || exit 1`,
    `printf '${queryFrame}' >&3`,
    // The RESULT's header (opcode 8), then its body, which must hold a release such as 5.0.4.
    'set -- $(timeout 2 head -c 9 <&3 | od -An -tu1)',
    '[ "$5" = 8 ] || exit 1',
    'timeout 2 head -c $(( $6 * 16777216 + $7 * 65536 + $8 * 256 + $9 )) <&3 | grep -aqE "[0-9]+\\.[0-9]+\\.[0-9]+"',
  ].join('\n');
}

/** pbx's dependency conditions as compose's. */
const CONDITIONS: Record<DependencyCondition, string> = { started: 'service_started', ready: 'service_healthy' };

/** How often compose runs each service's health check: Kafka's, two JVMs a check, may have its own interval. */
export interface CheckIntervals {
  everyMs: number;
  kafkaMs: number;
}

/**
 * The compose document for pbx's specs, with health checks at `intervals`. Kafka waits for ZooKeeper's container
 * to start, not for its health: pbx starts Kafka beside a ZooKeeper on fresh volumes (its `onFreshData: started`), and
 * the bench starts from fresh volumes every time.
 */
export function composeDocument(specs: ServiceSpec[], intervals: CheckIntervals): Record<string, unknown> {
  const volumes: Record<string, object> = {};
  const services = Object.fromEntries(
    specs.map((spec) => {
      const { command, env } = writingFiles(spec);
      const mounts = Object.entries(spec.volumes).map(([name, path]) => {
        volumes[name] = {};
        return `${name}:${path}`;
      });
      const dependsOn = Object.fromEntries(
        spec.dependsOn.map((d) => [d.service, { condition: CONDITIONS[d.onFreshData ?? d.condition] }]),
      );
      const service = {
        image: spec.image,
        entrypoint: [],
        command,
        environment: env,
        user: '0:0',
        init: true,
        restart: 'unless-stopped',
        hostname: spec.name,
        mem_limit: spec.memoryBytes,
        ports: [`${spec.port.bind}:${spec.port.host}:${spec.port.container}`],
        volumes: mounts,
        healthcheck: {
          test: ['CMD', 'bash', '-c', healthCheck(spec)],
          interval: `${spec.name === 'kafka' ? intervals.kafkaMs : intervals.everyMs}ms`,
          timeout: spec.name === 'kafka' ? '30s' : '5s',
          retries: 1000,
        },
        ...(spec.dependsOn.length > 0 ? { depends_on: dependsOn } : {}),
      };
      return [spec.name, service];
    }),
  );
  // Compose reads `$` as the start of a variable: every `$` of the commands and checks is written `$$`.
  return escapeDollars({ version: '2.4', services, volumes }) as Record<string, unknown>;
}

function escapeDollars(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('$', () => '$$');
  if (Array.isArray(value)) return value.map(escapeDollars);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeDollars(v)]));
  }
  return value;
}
