import { IMAGES } from '../images/catalog';
import { QUICK_START_JIT } from './jvm';
import type { ServiceDefinition } from './types';

const CONF_DIR = '/etc/pbx/zookeeper';

// Upstream's own console configuration (conf/logback.xml), at INFO.
const LOGBACK = `<configuration>
  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="CONSOLE"/></root>
</configuration>
`;

export const zookeeper: ServiceDefinition = {
  name: 'zookeeper',
  title: 'ZooKeeper',
  summary: 'ZooKeeper 3.8: coordination for Kafka in ZooKeeper mode',
  upstreamImage: IMAGES.zookeeper.standsInFor,
  localImage: IMAGES.zookeeper.tag,
  ready: { kind: 'zookeeper-ruok' },
  typicalStartMs: 500,
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
      // Upstream's zkServer.sh puts the config directory on the classpath, where logback looks for its configuration:
      // without one it logs everything at DEBUG. pbx's own image logs through slf4j-simple at INFO and ignores it.
      [`${CONF_DIR}/logback.xml`]: LOGBACK,
    },
    port: { container: 2181, host: config.services.zookeeper.port, bind: config.bind },
    volumes: { [volume('data')]: '/var/lib/pbx/zookeeper' },
    dependsOn: [],
    startupTimeoutMs: 60_000,
  }),
};
