import { nodeName } from '../docker/names';
import { IMAGES } from '../images/catalog';
import { QUICK_START_JIT } from './jvm';
import type { Dependency, ServiceDefinition, StartCheck } from './types';

const CONF = '/etc/pbx/kafka/server.properties';
const DATA = '/var/lib/pbx/kafka';
/** Other containers on the pbx network reach a broker as kafka:29092 (kafka-2:29092 …); the host uses its published port. */
export const KAFKA_INTERNAL_PORT = 29092;
const CONTROLLER_PORT = 9093;
// KRaft needs a cluster id to format storage; a fixed one keeps the data volume valid across restarts.
const KRAFT_CLUSTER_ID = 'cGJ4LWxvY2FsLWthZmthMQ';

/** ZooKeeper mode: ZooKeeper holds the broker's registration and the topics' metadata. */
const ZOOKEEPER_DEPENDENCY: Dependency = {
  service: 'zookeeper',
  condition: 'ready',
  // Kafka connects to ZooKeeper by itself, retrying: it waits for ZooKeeper's answer only while ZooKeeper may still
  // hold a previous broker's registration (NO_STALE_BROKER), which data made this run cannot. On fresh volumes the
  // two start side by side.
  onFreshData: 'started',
  // The broker answers metadata from its cache without ZooKeeper.
  neededFor: 'no topic can be made or changed',
};

/** A broker killed without a clean shutdown blocks its successor (same broker.id) until its ZooKeeper session expires. */
const NO_STALE_BROKER: StartCheck = { kind: 'no-stale-broker', of: 'zookeeper', timeoutMs: 30_000 };

/** How many brokers the project's Kafka runs: services.kafka.brokers (1 for an external Kafka, which pbx does not run). */
export function brokerCount(settings: { brokers: number; external?: unknown }): number {
  return settings.external ? 1 : settings.brokers;
}

/**
 * The KRaft controllers among `brokers` nodes: the first one or the first three (pure). A quorum needs a majority, so an
 * even one tolerates no more failures than the odd one below it while it needs more votes: two brokers get one
 * controller (the second broker can then go down), four or five get three, as with three brokers: one node may be
 * down, as one replica of min.insync.replicas may be.
 */
export function controllerCount(brokers: number): number {
  return brokers >= 3 ? 3 : 1;
}

/**
 * The replication settings for `brokers` brokers (pure): three replicas where there are three brokers (fewer where
 * fewer), of which all but one must have a write before it is acknowledged (acks=all), so one broker may be down and
 * no acknowledged record is lost; one broker: 1 and 1. The same for the offsets and transaction topics.
 */
export function replicationSettings(brokers: number): Record<string, number> {
  const replicas = Math.min(brokers, 3);
  const minInSync = Math.max(replicas - 1, 1);
  return {
    'default.replication.factor': replicas,
    'min.insync.replicas': minInSync,
    'offsets.topic.replication.factor': replicas,
    'transaction.state.log.replication.factor': replicas,
    'transaction.state.log.min.isr': minInSync,
  };
}

/** What shapes one broker's server.properties. */
export interface BrokerContext {
  /** 1 … brokers: its node.id (KRaft) or broker.id. */
  id: number;
  brokers: number;
  kraft: boolean;
  /** Where the host reaches it: the advertised address of its EXTERNAL listener. */
  host: string;
  port: number;
}

/**
 * Broker `id`'s listeners (pure): INTERNAL, advertised under its node name for containers and for the other brokers'
 * replication; EXTERNAL, advertised as the host reaches it (its own published port); CONTROLLER on a controller. One
 * broker keeps its controller to itself (localhost).
 */
export function brokerListeners(context: BrokerContext): Record<string, string> {
  const { id, brokers, kraft, host, port } = context;
  const node = nodeName('kafka', id, brokers);
  const controllers = kraft ? controllerCount(brokers) : 0;
  const controllerHost = (n: number) => (brokers === 1 ? 'localhost' : nodeName('kafka', n, brokers));
  const bindController = brokers === 1 ? 'localhost' : '0.0.0.0';
  return {
    listeners: [
      `INTERNAL://0.0.0.0:${KAFKA_INTERNAL_PORT}`,
      'EXTERNAL://0.0.0.0:9092',
      ...(id <= controllers ? [`CONTROLLER://${bindController}:${CONTROLLER_PORT}`] : []),
    ].join(','),
    'advertised.listeners': `INTERNAL://${node}:${KAFKA_INTERNAL_PORT},EXTERNAL://${host}:${port}`,
    'listener.security.protocol.map': 'INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name': 'INTERNAL',
    ...(kraft
      ? {
          'controller.quorum.voters': Array.from(
            { length: controllers },
            (_, i) => `${i + 1}@${controllerHost(i + 1)}:${CONTROLLER_PORT}`,
          ).join(','),
          'controller.listener.names': 'CONTROLLER',
        }
      : {}),
  };
}

/** Broker `id`'s whole server.properties (pure). */
export function brokerProperties(context: BrokerContext): Record<string, string | number | boolean> {
  const { id, brokers, kraft } = context;
  return {
    ...brokerListeners(context),
    'log.dirs': `${DATA}/data`,
    'num.partitions': 1,
    ...replicationSettings(brokers),
    // 50 offsets partitions (the default) only slow the first consumer group down on a dev stack.
    'offsets.topic.num.partitions': 1,
    // A dev stack: consumers should join at once, not after the 3 s production default.
    'group.initial.rebalance.delay.ms': 0,
    ...(kraft
      ? {
          'process.roles': id <= controllerCount(brokers) ? 'broker,controller' : 'broker',
          'node.id': id,
          // A broker killed without a clean shutdown blocks its successor's registration until this session
          // expires (9 s by default; with the registration's backoff, 13 s after a `docker kill`); with several
          // brokers, its partitions' leaders move to another only then.
          'broker.session.timeout.ms': 6000,
        }
      : {
          'broker.id': id,
          'zookeeper.connect': 'zookeeper:2181',
          'zookeeper.connection.timeout.ms': 30000,
          // A broker killed without a clean shutdown blocks its successor until this session expires.
          'zookeeper.session.timeout.ms': 6000,
        }),
  };
}

/** What the data of a broker's volume is: KRaft data holds its controller quorum, which another count may not share. */
function dataFormat(kraft: boolean, brokers: number): string {
  if (!kraft) return 'Kafka in ZooKeeper mode';
  if (brokers === 1) return 'Kafka in KRaft mode';
  const controllers = controllerCount(brokers);
  return `Kafka in KRaft mode with ${controllers} controller${controllers > 1 ? 's' : ''}`;
}

export const kafka: ServiceDefinition = {
  name: 'kafka',
  title: 'Kafka',
  summary: 'Kafka 3.9: the event log (ZooKeeper mode or KRaft, one broker or up to five)',
  upstreamImage: IMAGES.kafka.standsInFor,
  localImage: IMAGES.kafka.tag,
  // A record's round trip proves Kafka does its job, and each broker answers on its own address with itself in the
  // cluster; its metadata is `pbx status`'s quick answer.
  ready: { kind: 'kafka-roundtrip' },
  typicalStartMs: 2100,
  nodes: (config) => brokerCount(config.services.kafka),
  spec: ({ config, volume, memoryBytes, node }) => {
    const settings = config.services.kafka;
    const kraft = settings.mode === 'kraft';
    const context: BrokerContext = {
      id: node.index,
      brokers: node.count,
      kraft,
      host: config.bind === '0.0.0.0' ? '127.0.0.1' : config.bind,
      port: settings.port + node.index - 1,
    };
    const heapMb = Math.floor((memoryBytes / 1024 ** 2) * 0.5);
    const start = `exec /opt/kafka/bin/kafka-server-start.sh ${CONF}`;
    const format = `/opt/kafka/bin/kafka-storage.sh format --ignore-formatted -t ${KRAFT_CLUSTER_ID} -c ${CONF}`;
    return {
      command: ['sh', '-c', kraft ? `${format} && ${start}` : start],
      env: {
        KAFKA_HEAP_OPTS: `-Xms${Math.min(256, heapMb)}m -Xmx${heapMb}m`,
        // 4 MiB heap regions: with the default 1 MiB for this heap, every produce request over 512 KiB (a full
        // batch) is a "humongous" object for G1, and collecting them cost the broker more CPU than the writes.
        // 1M reviews at full speed: the broker's CPU 2.8–6.0 s → 1.6–2.9 s, pbx replay and kcat both faster.
        KAFKA_OPTS: `${QUICK_START_JIT} -XX:G1HeapRegionSize=4m`,
      },
      files: {
        [CONF]: Object.entries(brokerProperties(context))
          .map(([key, value]) => `${key}=${String(value)}`)
          .join('\n')
          .concat('\n'),
      },
      port: { container: 9092, host: context.port, bind: config.bind },
      volumes: { [volume('data')]: DATA },
      dataFormat: dataFormat(kraft, node.count),
      dependsOn: kraft ? [] : [ZOOKEEPER_DEPENDENCY],
      beforeStart: kraft ? [] : [NO_STALE_BROKER],
      startupTimeoutMs: 120_000,
    };
  },
};
