// How pbx up chooses an image when a registry does not answer: it does not wait for the engine's own time-out.
import type Docker from 'dockerode';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseConfigText, resolveConfig } from '../../src/config/load';
import { SERVICES } from '../../src/services/catalog';
import { chooseImage } from '../../src/stack/images';

afterEach(() => vi.useRealTimers());

/** An engine that has only pbx's own Redis image, and whose registry never answers (its packets dropped). */
const engine = {
  getImage: (name: string) => ({
    inspect: () =>
      name === SERVICES.redis.localImage
        ? Promise.resolve({})
        : Promise.reject(Object.assign(new Error(), { statusCode: 404 })),
    distribution: () => new Promise(() => undefined),
  }),
} as unknown as Docker;

describe('chooseImage', () => {
  it("takes pbx's own image after 5 s without an answer from the upstream image's registry, saying so", async () => {
    vi.useFakeTimers();
    const config = resolveConfig(parseConfigText('name: t\n', '/tmp/pbx.yaml'), '/tmp/pbx.yaml', '/tmp');
    const choice = chooseImage(engine, config, 'redis');
    await vi.advanceTimersByTimeAsync(4999);
    let settled = false;
    void choice.then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await choice).toMatchObject({
      image: SERVICES.redis.localImage,
      available: true,
      reason: expect.stringContaining('no answer from its registry within 5 s') as unknown,
    });
  });
});
