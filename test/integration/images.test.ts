// pbx's own images: present, current, and rebuildable from the compiled binary.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { ImageRow } from '../../src/commands/images/list';
import type { ImageOutcome } from '../../src/images/build';
import { BINARY } from '../support/cli';
import { testProject } from '../support/stack';

describe('pbx images', () => {
  it('lists every service image as local, present and current after provisioning', async () => {
    const project = testProject('itimages', '');
    const { exitCode, doc } = await project.json<ImageRow[]>(['images', 'list']);
    expect(exitCode).toBe(0);
    expect(doc.map((r) => [r.service, r.source, r.present, r.current])).toEqual([
      ['zookeeper', 'local', true, true],
      ['kafka', 'local', true, true],
      ['cassandra', 'local', true, true],
      ['redis', 'local', true, true],
    ]);
  });

  it('rebuilds one image from the binary with --force and skips its current parents', async () => {
    const result = await execa(BINARY, ['images', 'build', 'redis', '--force', '--json'], { cwd: '/', reject: false });
    expect(result.exitCode).toBe(0);
    const outcomes = JSON.parse(result.stdout) as ImageOutcome[];
    expect(outcomes.map((o) => [o.image, o.action])).toEqual([
      ['base', 'current'],
      ['redis', 'built'],
    ]);
    const labels = JSON.parse(
      (await execa('docker', ['image', 'inspect', '-f', '{{json .Config.Labels}}', 'pbx/redis:7.0'])).stdout,
    );
    expect(labels['pbx.managed']).toBe('true');
    expect(labels['pbx.image.hash']).toMatch(/^[0-9a-f]{16}$/);
  });

  it('rejects an unknown image name as a usage error', async () => {
    const result = await execa(BINARY, ['images', 'build', 'mysql'], { reject: false });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('Unknown image: mysql');
  });
});
