// pbx's own images: present, current, and rebuildable from the compiled binary.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { IMAGES } from '../../src/images/catalog';
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

  // -Xshare:on makes the JVM fail instead of silently loading every class again when the archive is
  // missing or does not match the classpath the launcher builds.
  it.each([
    [
      'pbx/zookeeper:3.8',
      '/usr/local/lib/zookeeper.jsa',
      'zkServer.sh print-classpath',
      'org.apache.zookeeper.Version',
    ],
    [
      'pbx/kafka:3.9.1',
      '/opt/kafka/kafka.jsa',
      'kafka-run-class.sh --classpath',
      'kafka.tools.StorageTool random-uuid',
    ],
    [
      'pbx/cassandra:5.0.4',
      '/opt/cassandra/cassandra.jsa',
      'cassandra --classpath',
      'org.apache.cassandra.tools.GetVersion',
    ],
  ])(
    '%s starts its JVM from the class-data sharing archive made at build time',
    async (image, archive, classpath, main) => {
      const java = `java -Xshare:on -XX:SharedArchiveFile=${archive} -Xlog:cds=info -cp "$(${classpath})" ${main}`;
      const result = await execa('docker', ['run', '--rm', image, 'sh', '-c', java], { reject: false });
      expect(result.stderr + result.stdout).toContain(`Opened archive ${archive}`);
      expect(result.exitCode).toBe(0);
    },
  );

  // What makes a project's first Cassandra start a restart: a new named volume is a copy of the image's data
  // directory, which holds a drained first start (flushed system tables, no commit log left to replay).
  it('pbx/cassandra fills a new volume with a drained first start', async () => {
    const volume = `pbx-itimages-first-start-${process.pid}`;
    const list = 'cd /var/lib/pbx/cassandra && ls data/system_schema/keyspaces-*/ && echo commitlog: $(ls commitlog)';
    try {
      const { stdout } = await execa('docker', [
        'run',
        '--rm',
        '-v',
        `${volume}:/var/lib/pbx/cassandra`,
        IMAGES.cassandra.tag,
        'sh',
        '-c',
        list,
      ]);
      expect(stdout).toMatch(/-big-Data\.db/);
      expect(stdout).toMatch(/^commitlog:$/m);
    } finally {
      await execa('docker', ['volume', 'rm', '-f', volume]);
    }
  });

  it('rejects an unknown image name as a usage error', async () => {
    const result = await execa(BINARY, ['images', 'build', 'mysql'], { reject: false });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('Unknown image: mysql');
  });
});
