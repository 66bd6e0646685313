import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purge, testProject } from '../support/stack';

// Redis at its memory limit (services.redis.memory: 24m, so maxmemory 19.2 MB): caches make room, views stay.
const PORT = 26420;
const project = testProject('itredismem', `services:\n  redis: {port: ${PORT}, memory: 24m}\n`);
const value = 'x'.repeat(100_000);
let redis: Redis;

describe('Redis at its memory limit', () => {
  beforeAll(async () => {
    const up = await project.pbx(['up', 'redis']);
    expect(up.exitCode, up.stderr).toBe(0);
    redis = new Redis({ port: PORT, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
    await redis.connect();
  });
  afterAll(async () => {
    redis?.disconnect();
    await project.pbx(['down', '--volumes']);
    await purge(project.name);
  });

  it('drops keys that expire to make room, least recently used first, and takes every write', async () => {
    // 40 MB of cache entries, twice the limit: every write is taken.
    for (let i = 0; i < 400; i++) expect(await redis.set(`cache:${i}`, value, 'EX', 3600)).toBe('OK');
    const evicted = Number(/evicted_keys:(\d+)/.exec(await redis.info('stats'))?.[1]);
    expect(evicted).toBeGreaterThan(100);
    // Redis's LRU is an approximation (it samples keys): the newest all stay, the oldest mostly go.
    const alive = async (from: number, to: number) =>
      redis.exists(...Array.from({ length: to - from }, (_, i) => `cache:${from + i}`));
    expect(await alive(390, 400)).toBe(10);
    expect(await alive(0, 100)).toBeLessThan((await alive(300, 400)) / 2);
  });

  it('refuses a write that needs room when only keys without an expiry are left, and drops none of them', async () => {
    const written: string[] = [];
    let refusal: Error | undefined;
    for (let i = 0; i < 400 && !refusal; i++) {
      await redis.set(`view:${i}`, value).then(
        () => written.push(`view:${i}`),
        (error: Error) => (refusal = error),
      );
    }
    expect(refusal?.message).toMatch(/^OOM command not allowed/);
    expect(written.length).toBeGreaterThan(50);
    expect(await redis.exists(...written)).toBe(written.length);
  });
});
