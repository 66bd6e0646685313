// A new user's first `pbx up` on a machine with no registry and pbx's own images built: pbx.yaml as `pbx init`
// writes it (no `images:`), so pbx chooses per service, and says which image it ran and why.
import { execa } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ImageRow } from '../../src/commands/images/list';
import { SERVICES } from '../../src/services/catalog';
import type { UpResult } from '../../src/stack/up';
import { runInProcess } from '../support/cli';
import { containersOf, freePort, projectName, purge, sh, testProject, volumesOf } from '../support/stack';

const NAME = projectName('itfirst');
const VOLUMES = projectName('itanon');
const KEEPER = projectName('itzklog');
// pbx's Redis image shaped as the upstream images are in this respect: it declares a VOLUME (none is pulled).
const DECLARING = `pbx-it/declares-volume:${VOLUMES}`;
// Written by `pbx init`, with only the ports moved off the well-known ones a user's own stack may hold.
const dir = join(mkdtempSync(join(tmpdir(), 'pbx-it-first-')), NAME);
const file = join(dir, 'pbx.yaml');
const pbx = (argv: string[]) => runInProcess([...argv, '--config', file]);
const json = async <T>(argv: string[]) => {
  const result = await pbx([...argv, '--json']);
  return { exitCode: result.exitCode, doc: JSON.parse(result.stdout) as T };
};
// The engine's words differ by machine (no such host, no route, refused): only what pbx itself says is asserted.
const PULL_REFUSED = /^pbx's own image, as redis:\S+ cannot be pulled \(.+\)$/;

afterAll(async () => {
  await purge(NAME);
  await purge(VOLUMES);
  await purge(KEEPER);
  await sh('docker', ['image', 'rm', '-f', DECLARING]).catch(() => undefined);
});

/** The anonymous volumes of a service's container: those the image declares and pbx mounts nothing over. */
async function anonymousVolumes(container: string): Promise<string[]> {
  const mounts = JSON.parse(await sh('docker', ['inspect', '-f', '{{json .Mounts}}', container])) as Array<{
    Type: string;
    Name?: string;
    Destination: string;
  }>;
  return mounts.filter((m) => m.Type === 'volume' && m.Destination === '/declared').map((m) => m.Name!);
}

const volumeExists = (name: string) =>
  sh('docker', ['volume', 'inspect', name]).then(
    () => true,
    () => false,
  );

describe('the first pbx up, with no registry', () => {
  it('runs pbx’s own image where the pinned upstream one cannot be had, and says so', async () => {
    expect((await runInProcess(['init', dir])).exitCode).toBe(0);
    const written = readFileSync(file, 'utf8');
    expect(written).not.toMatch(/^images:/m);
    let moved = written;
    for (const port of [9092, 9042, 6379]) moved = moved.replace(`port: ${port}`, `port: ${await freePort()}`);
    writeFileSync(file, moved);

    const up = await json<UpResult>(['up', 'redis']);
    expect(up.exitCode).toBe(0);
    const redis = up.doc.services.find((s) => s.service === 'redis')!;
    expect(redis.ready).toBe(true);
    expect(redis.image).toBe(SERVICES.redis.localImage);
    expect(redis.imageChoice?.image).toBe(SERVICES.redis.localImage);
    expect(redis.imageChoice?.reason).toMatch(PULL_REFUSED);

    // Again: the container is kept (same image, same spec), and the line says why it is that image.
    const again = await pbx(['up', 'redis']);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain("image of redis: pbx/redis:7.0, pbx's own image, which its container runs");
    expect(again.stdout).toContain('was already running and healthy; nothing changed');
  });

  it('lists what pbx up would run and why, a JVM service included', async () => {
    const { exitCode, doc } = await json<ImageRow[]>(['images', 'list']);
    expect(exitCode).toBe(0);
    const kafka = doc.find((r) => r.service === 'kafka')!;
    expect(kafka).toMatchObject({ image: SERVICES.kafka.localImage, source: 'local', present: true, available: true });
    expect(kafka.reason).toMatch(/^pbx's own image, as apache\/kafka:\S+ cannot be pulled \(.+\)$/);
    // Pinned to patch releases, the same as pbx's own where it is built from the same release.
    expect(doc.map((r) => r.pinned)).toEqual([
      'zookeeper:3.8.6',
      'apache/kafka:3.9.1',
      'cassandra:5.0.4',
      'redis:7.2.5',
    ]);
    const redis = doc.find((r) => r.service === 'redis')!;
    expect(redis.reason).toBe("pbx's own image, which its container runs");
    const text = await pbx(['images', 'list']);
    expect(text.stdout).toMatch(
      /kafka\s+pbx\/kafka:3\.9\.1\s+local\s+yes\s+yes\s+apache\/kafka:3\.9\.1\s+pbx's own image, as apache\/kafka/,
    );
  });

  it('offers pbx images build when neither the upstream image nor pbx’s own can be had', async () => {
    await runInProcess(['down', '--config', file]);
    // Tags that exist nowhere stand for an upstream image with no registry and a pbx image not built yet.
    const { upstreamImage, localImage } = SERVICES.redis;
    Object.assign(SERVICES.redis, { upstreamImage: 'pbx-it/no-upstream:0', localImage: 'pbx-it/not-built:0' });
    try {
      const list = await json<ImageRow[]>(['images', 'list']);
      const row = list.doc.find((r) => r.service === 'redis')!;
      expect(row).toMatchObject({ image: 'pbx-it/no-upstream:0', available: false, present: false });
      expect(row.reason).toMatch(
        /^pbx-it\/no-upstream:0 cannot be pulled \(.+\) and pbx's own pbx-it\/not-built:0 is not built$/,
      );

      const up = await json<{ error: { code: string; message: string; nextSteps: string[] } }>(['up', 'redis']);
      expect(up.exitCode).toBe(3);
      expect(up.doc.error.message).toContain('Cannot pull pbx-it/no-upstream:0 for redis');
      expect(up.doc.error.message).toContain("pbx's own image pbx-it/not-built:0 is not built either");
      expect(up.doc.error.nextSteps[0]).toBe(
        "Build pbx's own image, which needs no registry: `pbx images build redis`, then `pbx up` again.",
      );
      expect(await containersOf(NAME)).toEqual([]);
    } finally {
      Object.assign(SERVICES.redis, { upstreamImage, localImage });
    }
  });

  it('removes the anonymous volumes an image declares with the container, never the named ones', async () => {
    await sh('docker', ['build', '-t', DECLARING, '-'], `FROM ${SERVICES.redis.localImage}\nVOLUME /declared\n`);
    const port = await freePort();
    const project = testProject('itanon', `services:\n  redis: {port: ${port}, image: "${DECLARING}"}\n`);
    const container = `pbx-${project.name}-redis`;
    expect((await project.pbx(['up', 'redis'])).exitCode).toBe(0);
    const [first] = await anonymousVolumes(container);
    expect(first).toBeDefined();
    const named = await volumesOf(project.name);
    expect(named).toEqual([`pbx-${project.name}-redis-data`]);

    // A changed setting recreates the container: its old anonymous volume goes with it, the named one stays.
    project.write(`services:\n  redis: {port: ${port}, image: "${DECLARING}", memory: 128m}\n`);
    const again = await project.json<UpResult>(['up', 'redis']);
    expect(again.doc.services[0]!.action).toBe('recreate');
    const [second] = await anonymousVolumes(container);
    expect(second).not.toBe(first);
    expect(await volumeExists(first!)).toBe(false);
    expect(await volumesOf(project.name)).toEqual(named);

    // pbx down: the anonymous one goes, the named one stays until --volumes.
    expect((await project.pbx(['down'])).exitCode).toBe(0);
    expect(await volumeExists(second!)).toBe(false);
    expect(await volumesOf(project.name)).toEqual(named);
    expect((await project.pbx(['down', '--volumes'])).exitCode).toBe(0);
    expect(await volumesOf(project.name)).toEqual([]);
  });

  it('gives ZooKeeper a logback configuration at INFO in its config directory (upstream reads it from there)', async () => {
    const project = testProject('itzklog', `services:\n  zookeeper: {port: ${await freePort()}}\n`);
    expect((await project.pbx(['up', 'zookeeper'])).exitCode).toBe(0);
    const container = `pbx-${project.name}-zookeeper`;
    const logback = await sh('docker', ['exec', container, 'cat', '/etc/pbx/zookeeper/logback.xml']);
    expect(logback).toContain('<root level="INFO">');
    const logs = await execa('docker', ['logs', container]);
    expect(`${logs.stdout}${logs.stderr}`).not.toMatch(/ DEBUG /);
  });
});
