import { IMAGES } from '../images/catalog';
import { QUICK_START_JIT } from './jvm';
import type { Dependency, ServiceDefinition, StartCheck } from './types';

const CONF = '/etc/pbx/kafka/server.properties';
const DATA = '/var/lib/pbx/kafka';
/** Other containers on the pbx network reach Kafka as kafka:29092; the host uses the published port. */
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

export const kafka: ServiceDefinition = {
  name: 'kafka',
  title: 'Kafka',
  summary: 'Kafka 3.9: the event log (ZooKeeper mode or KRaft)',
  upstreamImage: IMAGES.kafka.standsInFor,
  localImage: IMAGES.kafka.tag,
  // A record's round trip proves Kafka does its job; its metadata is `pbx status`'s quick answer.
  ready: { kind: 'kafka-roundtrip' },
  spec: ({ config, volume, memoryBytes }) => {
    const settings = config.services.kafka;
    const kraft = settings.mode === 'kraft';
    const advertisedHost = config.bind === '0.0.0.0' ? '127.0.0.1' : config.bind;
    const properties: Record<string, string | number | boolean> = {
      listeners: [
        `INTERNAL://0.0.0.0:${KAFKA_INTERNAL_PORT}`,
        'EXTERNAL://0.0.0.0:9092',
        ...(kraft ? [`CONTROLLER://localhost:${CONTROLLER_PORT}`] : []),
      ].join(','),
      'advertised.listeners': `INTERNAL://kafka:${KAFKA_INTERNAL_PORT},EXTERNAL://${advertisedHost}:${settings.port}`,
      'listener.security.protocol.map': 'INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name': 'INTERNAL',
      'log.dirs': `${DATA}/data`,
      'num.partitions': 1,
      'offsets.topic.replication.factor': 1,
      // One broker: 50 offsets partitions (the default) only slow the first consumer group down.
      'offsets.topic.num.partitions': 1,
      'transaction.state.log.replication.factor': 1,
      'transaction.state.log.min.isr': 1,
      // A single dev broker: consumers should join at once, not after the 3 s production default.
      'group.initial.rebalance.delay.ms': 0,
      ...(kraft
        ? {
            'process.roles': 'broker,controller',
            'node.id': 1,
            'controller.quorum.voters': `1@localhost:${CONTROLLER_PORT}`,
            'controller.listener.names': 'CONTROLLER',
            // A broker killed without a clean shutdown blocks its successor's registration until this session
            // expires (9 s by default; with the registration's backoff, 13 s after a `docker kill`).
            'broker.session.timeout.ms': 6000,
          }
        : {
            'broker.id': 1,
            'zookeeper.connect': 'zookeeper:2181',
            'zookeeper.connection.timeout.ms': 30000,
            // A broker killed without a clean shutdown blocks its successor until this session expires.
            'zookeeper.session.timeout.ms': 6000,
          }),
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
        [CONF]: Object.entries(properties)
          .map(([key, value]) => `${key}=${String(value)}`)
          .join('\n')
          .concat('\n'),
      },
      port: { container: 9092, host: settings.port, bind: config.bind },
      volumes: { [volume('data')]: DATA },
      dataFormat: kraft ? 'Kafka in KRaft mode' : 'Kafka in ZooKeeper mode',
      dependsOn: kraft ? [] : [ZOOKEEPER_DEPENDENCY],
      beforeStart: kraft ? [] : [NO_STALE_BROKER],
      startupTimeoutMs: 120_000,
    };
  },
};
