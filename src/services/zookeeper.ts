import { IMAGES } from '../images/catalog';
import { QUICK_START_JIT } from './jvm';
import type { ServiceDefinition } from './types';

const CONF_DIR = '/etc/pbx/zookeeper';

export const zookeeper: ServiceDefinition = {
  name: 'zookeeper',
  title: 'ZooKeeper',
  summary: 'ZooKeeper 3.8: coordination for Kafka in ZooKeeper mode',
  upstreamImage: IMAGES.zookeeper.standsInFor,
  localImage: IMAGES.zookeeper.tag,
  ready: { kind: 'zookeeper-ruok' },
  spec: ({ config, volume, memoryBytes }) => ({
    // `--config DIR` is how upstream's zkServer.sh takes a config directory; it reads DIR/zoo.cfg.
    command: ['zkServer.sh', '--config', CONF_DIR, 'start-foreground'],
    env: { JVMFLAGS: `-Xmx${Math.floor((memoryBytes / 1024 ** 2) * 0.6)}m ${QUICK_START_JIT}` },
    files: {
      [`${CONF_DIR}/zoo.cfg`]: [
        'tickTime=2000',
        'initLimit=10',
        'syncLimit=5',
        'dataDir=/var/lib/pbx/zookeeper',
        'clientPort=2181',
        // ruok/srvr are pbx's readiness probe and status; the admin server would take port 8080.
        '4lw.commands.whitelist=*',
        'admin.enableServer=false',
        '',
      ].join('\n'),
    },
    port: { container: 2181, host: config.services.zookeeper.port, bind: config.bind },
    volumes: { [volume('data')]: '/var/lib/pbx/zookeeper' },
    dependsOn: [],
    startupTimeoutMs: 60_000,
  }),
};
