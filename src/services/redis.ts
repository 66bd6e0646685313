import { IMAGES } from '../images/catalog';
import type { ServiceDefinition } from './types';

export const redis: ServiceDefinition = {
  name: 'redis',
  title: 'Redis',
  summary: 'Redis 7: caches and real-time views',
  upstreamImage: IMAGES.redis.standsInFor,
  localImage: IMAGES.redis.tag,
  ready: { kind: 'redis-ping' },
  typicalStartMs: 100,
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
      // Headroom under the container's limit: Redis acts at its own limit instead of being OOM-killed.
      '--maxmemory',
      String(Math.floor(memoryBytes * 0.8)),
      // At the limit, keys that expire (caches) make room, least recently used first; a key without one (a
      // pipeline's view) is never dropped in silence: a write that needs room is refused with an OOM error.
      '--maxmemory-policy',
      'volatile-lru',
    ],
    env: {},
    files: {},
    port: { container: 6379, host: config.services.redis.port, bind: config.bind },
    volumes: { [volume('data')]: '/data' },
    dependsOn: [],
    startupTimeoutMs: 30_000,
  }),
};
