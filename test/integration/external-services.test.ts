// External services in `pbx up`, `status` and `env`: a Cassandra that demands a password and a Redis that demands
// one, run here from pbx's images but not by pbx (no pbx labels). pbx must check them as it checks its own, start
// nothing, and stop at once, saying why, when they refuse its credentials.
import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGES } from '../../src/images/catalog';
import { cassandraYaml } from '../../src/services/cassandra-config';
import type { StatusResult } from '../../src/stack/status';
import type { UpResult } from '../../src/stack/up';
import { containersOf, testProject } from '../support/stack';
import { waitFor } from '../support/wait';

const CASSANDRA_PORT = 29442;
const REDIS_PORT = 29479;
const CASSANDRA = 'pbx-it-external-auth-cassandra'; // not pbx's: this test creates and removes them
const REDIS = 'pbx-it-external-auth-redis';
const REDIS_PASSWORD = 'red-secret';

const projectFor = (name: string, cassandraPassword: string, redisPassword: string) =>
  testProject(
    name,
    [
      'services:',
      '  cassandra:',
      `    external: {contactPoints: ["127.0.0.1:${CASSANDRA_PORT}"], username: cassandra, password: ${cassandraPassword}}`,
      '  redis:',
      `    external: {url: "redis://:${redisPassword}@127.0.0.1:${REDIS_PORT}"}`,
      '',
    ].join('\n'),
  );

beforeAll(async () => {
  await execa('docker', ['rm', '-f', CASSANDRA, REDIS], { reject: false });
  const conf = mkdtempSync(join(tmpdir(), 'pbx-it-auth-'));
  writeFileSync(
    join(conf, 'cassandra.yaml'),
    cassandraYaml(CASSANDRA_PORT)
      .replace('authenticator: AllowAllAuthenticator', 'authenticator: PasswordAuthenticator')
      .replace('authorizer: AllowAllAuthorizer', 'authorizer: CassandraAuthorizer'),
  );
  await execa('docker', [
    ...['run', '-d', '--name', REDIS, '-p', `127.0.0.1:${REDIS_PORT}:6379`, IMAGES.redis.tag],
    ...['redis-server', '--requirepass', REDIS_PASSWORD],
  ]);
  await execa('docker', [
    ...['run', '-d', '--name', CASSANDRA, '-p', `127.0.0.1:${CASSANDRA_PORT}:${CASSANDRA_PORT}`],
    ...['-v', `${conf}:/etc/auth:ro`, '-e', 'MAX_HEAP_SIZE=512M', '-e', 'HEAP_NEWSIZE=128M'],
    '-e',
    // The default superuser (cassandra/cassandra) comes with the image's first start (images/cassandra/bin/first-start);
    // a node that makes it itself does so 10 s after its start unless told otherwise.
    'JVM_EXTRA_OPTS=-Dcassandra.config=file:///etc/auth/cassandra.yaml -Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra.ring_delay_ms=0 -Dcassandra.superuser_setup_delay_ms=0',
    IMAGES.cassandra.tag,
    ...['cassandra', '-f', '-R'],
  ]);
  const started = async () => {
    const { stdout } = await execa('docker', ['logs', CASSANDRA], { reject: false, all: true });
    const restarted = stdout.includes('Using saved tokens'); // from the image's first start, role and all
    const ready = restarted
      ? stdout.includes('Startup complete')
      : stdout.includes("Created default superuser role 'cassandra'");
    return ready || stdout.slice(-3000);
  };
  await waitFor(started, {
    until: (seen) => seen === true,
    what: 'Cassandra with auth to start with its superuser (the log tail is what it said last)',
    timeout: 180_000,
    interval: 500,
  });
}, 240_000);
afterAll(() => execa('docker', ['rm', '-f', CASSANDRA, REDIS], { reject: false }));

describe('external services', () => {
  it('checks them in up, shows them in status and env as its own, and starts nothing', async () => {
    const project = projectFor('itextauth', 'cassandra', REDIS_PASSWORD);
    const up = await project.json<UpResult>(['up', 'cassandra', 'redis']);
    expect(up.exitCode).toBe(0);
    expect(up.doc.services.map((s) => [s.service, s.action, s.ready, s.answer])).toEqual([
      ['cassandra', 'external', true, expect.stringMatching(/^Cassandra 5\.0\./)],
      ['redis', 'external', true, 'PONG'],
    ]);
    const status = await project.json<StatusResult>(['status', 'cassandra', 'redis']);
    expect(status.exitCode).toBe(0);
    expect(status.doc.services.map((s) => [s.service, s.state, s.ready, s.endpoint.addresses])).toEqual([
      ['cassandra', 'external', true, [`127.0.0.1:${CASSANDRA_PORT}`]],
      ['redis', 'external', true, [`127.0.0.1:${REDIS_PORT}`]],
    ]);
    const env = await project.json<Record<string, string>>(['env', 'cassandra', 'redis']);
    expect(env.doc).toMatchObject({
      CASSANDRA_CONTACT_POINTS: `127.0.0.1:${CASSANDRA_PORT}`,
      CASSANDRA_USERNAME: 'cassandra',
      REDIS_URL: `redis://:${REDIS_PASSWORD}@127.0.0.1:${REDIS_PORT}`,
    });
    expect(await containersOf(project.name)).toEqual([]);
    const logs = await project.pbx(['logs', 'redis']);
    expect(logs.exitCode).toBe(1);
    expect(logs.stderr).toContain('No logs here for external services: redis.');
  });

  it('stops at once when they refuse its credentials, says which and why, and exits 3', async () => {
    const project = projectFor('itextwrong', 'not-the-password', 'not-the-password');
    const started = Date.now();
    const up = await project.json<{ error: { code: string; message: string; nextSteps: string[] } }>([
      'up',
      'cassandra',
      'redis',
    ]);
    // A refusal is not waited out like a service that does not answer yet (20 s of retries).
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(up.exitCode).toBe(3);
    expect(up.doc.error.code).toBe('UNHEALTHY');
    expect(up.doc.error.message).toMatch(/external cassandra at .* refused pbx: .*password are incorrect/);
    expect(up.doc.error.message).toMatch(/external redis at .* refused pbx: WRONGPASS/);
    expect(up.doc.error.nextSteps).toEqual([
      'Check services.cassandra.external in pbx.yaml (address, credentials, TLS) against the service.',
      'Check services.redis.external in pbx.yaml (address, credentials, TLS) against the service.',
    ]);
    const status = await project.json<StatusResult>(['status', 'cassandra', 'redis']);
    expect(status.exitCode).toBe(3);
    expect(status.doc.services.map((s) => [s.service, s.ready, s.check])).toEqual([
      ['cassandra', false, expect.stringMatching(/password are incorrect/)],
      ['redis', false, expect.stringMatching(/^WRONGPASS/)],
    ]);
  });
});
