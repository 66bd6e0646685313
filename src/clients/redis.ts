import type { Redis, RedisOptions } from 'ioredis';

/** Where Redis answers: redis://[user:password@]host:port[/db], or rediss:// for TLS. */
export interface RedisEndpoint {
  url: string;
}

/** What differs between pbx's clients: how long they wait and whether they retry. */
export type RedisClientOptions = Pick<
  RedisOptions,
  'connectTimeout' | 'commandTimeout' | 'maxRetriesPerRequest' | 'retryStrategy' | 'enableOfflineQueue'
>;

/** An ioredis client for an endpoint that connects when asked (`connect()`); ioredis loads only when one is made. */
export async function createRedisClient(endpoint: RedisEndpoint, options: RedisClientOptions = {}): Promise<Redis> {
  const { Redis } = await import('ioredis');
  return new Redis(endpoint.url, { ...options, lazyConnect: true });
}
