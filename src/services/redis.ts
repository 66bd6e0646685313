import { IMAGES } from '../images/catalog';
import type { ServiceDefinition } from './types';

export const redis: ServiceDefinition = {
  name: 'redis',
  title: 'Redis',
  summary: 'Redis 7: caches and real-time views',
  upstreamImage: 'redis:7.2',
  localImage: IMAGES.redis.tag,
  ready: { kind: 'redis-ping' },
  spec: ({ config, volume, memoryBytes }) => ({
    command: [
      'redis-server',
      '--bind',
      '0.0.0.0',
      // Published only on the host's bind address; inside the network there is nothing to protect against.
      '--protected-mode',
      'no',
      '--appendonly',
      'yes',
      '--dir',
      '/data',
      // Leave headroom under the container limit so Redis evicts instead of being OOM-killed.
      '--maxmemory',
      String(Math.floor(memoryBytes * 0.8)),
    ],
    env: {},
    files: {},
    port: { container: 6379, host: config.services.redis.port, bind: config.bind },
    volumes: { [volume('data')]: '/data' },
    dependsOn: [],
    startupTimeoutMs: 30_000,
  }),
};
