// pbx replay against an external Kafka that demands SASL (PLAIN and SCRAM-SHA-256), in plain text and over TLS
// with a certificate from a CA of the test's own: a broker pbx did not start, run here from the Kafka image with
// its own configuration, read back with kcat authenticating the same way.
import { execa } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplaySummary } from '../../src/replay/replay';
import type { StatusResult } from '../../src/stack/status';
import type { UpResult } from '../../src/stack/up';
import { IMAGES } from '../../src/images/catalog';
import { BINARY, generateReviews } from '../support/cli';
import { containersOf, sh, testProject, type TestProject } from '../support/stack';
import { waitFor } from '../support/wait';

const PORT = 29491;
const BROKER = `127.0.0.1:${PORT}`;
const TLS_PORT = 29492;
const TLS_BROKER = `127.0.0.1:${TLS_PORT}`;
const certs = mkdtempSync(join(tmpdir(), 'pbx-it-certs-'));
const cert = (name: string) => join(certs, name);
/** A PEM file on one line, its line breaks as spaces (Kafka's PEM settings need whitespace after each marker). */
const oneLine = (name: string) => readFileSync(cert(name), 'utf8').replace(/\n/g, ' ');
const CONTAINER = 'pbx-it-external-sasl-kafka'; // not pbx's: this test creates and removes it
const USERS = {
  plain: ['alice', 'alice-secret'],
  scram: ['bob', 'bob-secret'],
  // No rights on the topic `guarded`, which only alice may write to.
  unauthorized: ['carol', 'carol-secret'],
} as const;
const plainUsers = `user_admin="admin-secret" ${[USERS.plain, USERS.unauthorized].map(([u, p]) => `user_${u}="${p}"`).join(' ')}`;

const properties = () => [
  'process.roles=broker,controller',
  'node.id=1',
  'controller.quorum.voters=1@localhost:9093',
  'controller.listener.names=CONTROLLER',
  'listeners=SASL_PLAINTEXT://0.0.0.0:9092,SASL_SSL://0.0.0.0:9094,CONTROLLER://localhost:9093',
  `advertised.listeners=SASL_PLAINTEXT://${BROKER},SASL_SSL://${TLS_BROKER}`,
  'listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT',
  'inter.broker.listener.name=SASL_PLAINTEXT',
  'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256',
  'sasl.mechanism.inter.broker.protocol=PLAIN',
  `listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" ${plainUsers};`,
  `listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" ${plainUsers};`,
  // ACLs where a resource has any; everyone may use the others (the broker's own controller link is ANONYMOUS).
  'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
  'allow.everyone.if.no.acl.found=true',
  'super.users=User:admin;User:ANONYMOUS',
  'listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
  'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
  'ssl.keystore.type=PEM',
  `ssl.keystore.certificate.chain=${oneLine('server.pem')}`,
  `ssl.keystore.key=${oneLine('server.key')}`,
  'log.dirs=/tmp/kraft',
  'offsets.topic.replication.factor=1',
  'transaction.state.log.replication.factor=1',
  'transaction.state.log.min.isr=1',
];
const start = () =>
  [
    `printf '%s\\n' ${properties()
      .map((p) => `'${p.replace(/'/g, `'\\''`)}'`)
      .join(' ')} > /tmp/sasl.properties`,
    `kafka-storage.sh format -t cGJ4LXNhc2wtdGVzdDAwMQ -c /tmp/sasl.properties --add-scram 'SCRAM-SHA-256=[name=${USERS.scram[0]},password=${USERS.scram[1]}]'`,
    'exec kafka-server-start.sh /tmp/sasl.properties',
  ].join(' && ');

const kcatAuth = (mechanism: 'PLAIN' | 'SCRAM-SHA-256', [user, password]: readonly [string, string], tls = false) => [
  ...(tls
    ? ['-X', 'security.protocol=SASL_SSL', '-X', `ssl.ca.location=${cert('ca.pem')}`]
    : ['-X', 'security.protocol=SASL_PLAINTEXT']),
  '-X',
  `sasl.mechanisms=${mechanism}`,
  '-X',
  `sasl.username=${user}`,
  '-X',
  `sasl.password=${password}`,
];

const projectFor = (name: string, mechanism: string, [user, password]: readonly [string, string], tls = '') =>
  testProject(
    name,
    `services:\n  kafka:\n    external:\n      brokers: ['${tls ? TLS_BROKER : BROKER}']\n      sasl: {mechanism: ${mechanism}, username: ${user}, password: '${password}'}\n${tls ? `      tls: ${tls}\n` : ''}`,
  );

async function generate(dir: string, count: number): Promise<{ file: string; lines: string[] }> {
  const file = join(dir, 'reviews.json');
  return { file, lines: await generateReviews(file, count, 21) };
}

/** Replays `file` into `topic` with the binary, as users run it, and reads the topic back with kcat. */
async function replayAndReadBack(project: TestProject, file: string, topic: string, kcat: string[]): Promise<string[]> {
  const result = await execa(
    BINARY,
    ['replay', file, '--topic', topic, '--rate', 'max', '--json', '--config', project.file],
    {
      reject: false,
    },
  );
  expect(result.exitCode, result.stderr).toBe(0);
  expect((JSON.parse(result.stdout) as ReplaySummary).stoppedBy).toBe('end');
  const read = await sh('kcat', [...kcat, '-C', '-t', topic, '-o', 'beginning', '-e', '-q']);
  return read.split('\n');
}

beforeAll(async () => {
  // A CA of the test's own, and a certificate it signs for 127.0.0.1.
  const openssl = (args: string[]) => sh('openssl', args);
  await openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    cert('ca.key'),
    '-out',
    cert('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=pbx test CA',
  ]);
  await openssl([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    cert('server.key'),
    '-out',
    cert('server.csr'),
    '-subj',
    '/CN=127.0.0.1',
  ]);
  writeFileSync(cert('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  await openssl([
    'x509',
    '-req',
    '-in',
    cert('server.csr'),
    '-CA',
    cert('ca.pem'),
    '-CAkey',
    cert('ca.key'),
    '-CAcreateserial',
    '-out',
    cert('server.pem'),
    '-days',
    '2',
    '-extfile',
    cert('san.ext'),
  ]);
  await execa('docker', ['rm', '-f', CONTAINER], { reject: false });
  await sh('docker', [
    'run',
    '-d',
    '--name',
    CONTAINER,
    '-p',
    `127.0.0.1:${PORT}:9092`,
    '-p',
    `127.0.0.1:${TLS_PORT}:9094`,
    '-e',
    'KAFKA_HEAP_OPTS=-Xmx384m',
    IMAGES.kafka.tag,
    'sh',
    '-c',
    start(),
  ]);
  // Ready when an authenticated client can list the brokers.
  const listsBrokers = async () => {
    const probe = await execa('kcat', ['-b', BROKER, ...kcatAuth('PLAIN', USERS.plain), '-L', '-m', '2'], {
      reject: false,
    });
    return probe.exitCode === 0 && probe.stdout.includes('1 brokers');
  };
  await waitFor(listsBrokers, {
    what: 'the SASL Kafka to list its broker to alice',
    timeout: 90_000,
    interval: 500,
  }).catch(async (error: Error) => {
    const logs = await execa('docker', ['logs', CONTAINER], { reject: false, all: true });
    const errors = logs.all.split('\n').filter((line) => /ERROR|Exception/.test(line));
    throw new Error(`${error.message}\n${errors.slice(0, 10).join('\n')}`);
  });
}, 120_000);
afterAll(() => execa('docker', ['rm', '-f', CONTAINER], { reject: false }));

describe('pbx replay into an external Kafka with SASL', () => {
  for (const [mechanism, kcatMechanism, user] of [
    ['plain', 'PLAIN', USERS.plain],
    ['scram-sha-256', 'SCRAM-SHA-256', USERS.scram],
  ] as const) {
    it(`authenticates with ${mechanism} and delivers every record once, in order`, async () => {
      const project = projectFor(`itsasl${mechanism.replace(/-/g, '')}`, mechanism, user);
      const { file, lines } = await generate(project.dir, 20_000);
      const kcat = ['-b', BROKER, ...kcatAuth(kcatMechanism, user)];
      expect(await replayAndReadBack(project, file, `sasl-${mechanism}`, kcat)).toEqual(lines);
    });
  }

  it('goes over TLS, trusting the CA the project names, with SCRAM-SHA-256', async () => {
    const project = projectFor('itsasltls', 'scram-sha-256', USERS.scram, `{ca: '${cert('ca.pem')}'}`);
    const { file, lines } = await generate(project.dir, 5000);
    const kcat = ['-b', TLS_BROKER, ...kcatAuth('SCRAM-SHA-256', USERS.scram, true)];
    expect(await replayAndReadBack(project, file, 'sasl-tls', kcat)).toEqual(lines);
  });

  it('checks it in up as its own Kafka, reads only metadata there, and shows it in status and env', async () => {
    const project = projectFor('itsaslup', 'scram-sha-256', USERS.scram, `{ca: '${cert('ca.pem')}'}`);
    const up = await project.json<UpResult>(['up', 'kafka']);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.doc.services.map((s) => [s.service, s.action, s.ready, s.answer])).toEqual([
      ['kafka', 'external', true, '1 broker, controller 1'],
    ]);
    const status = await project.json<StatusResult>(['status', 'kafka']);
    expect(status.doc.services.map((s) => [s.service, s.state, s.ready])).toEqual([['kafka', 'external', true]]);
    const env = await project.json<Record<string, string>>(['env', 'kafka']);
    expect(env.doc).toMatchObject({
      KAFKA_BROKERS: TLS_BROKER,
      KAFKA_SASL_MECHANISM: 'scram-sha-256',
      KAFKA_SASL_USERNAME: USERS.scram[0],
      KAFKA_TLS: 'true',
    });
    // pbx created nothing on someone else's cluster: not even its own check topic.
    const topics = await sh('kcat', ['-b', TLS_BROKER, ...kcatAuth('SCRAM-SHA-256', USERS.scram, true), '-L']);
    expect(topics).not.toContain('__pbx_ready');
    expect(await containersOf(project.name)).toEqual([]);
  });

  it('stops up at once when the external Kafka refuses the password, and says so', async () => {
    const project = projectFor('itsaslupwrong', 'plain', [USERS.plain[0], 'not-the-password']);
    const started = Date.now();
    const up = await project.json<{ error: { code: string; message: string } }>(['up', 'kafka']);
    expect(Date.now() - started).toBeLessThan(10_000); // not waited out like a broker that does not answer yet
    expect(up.exitCode).toBe(3);
    expect(up.doc.error.message).toMatch(/external kafka at .* refused pbx: .*authentication failed/i);
  });

  it('says which topic a user may not write to, and who can change that, exit 1', async () => {
    const admin = `printf '%s\\n' 'security.protocol=SASL_PLAINTEXT' 'sasl.mechanism=PLAIN' 'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret";' > /tmp/admin.properties`;
    // Kafka's own tools, as the cluster's admin, from the host's network (the broker advertises its host port).
    const tool = (cls: string, args: string) =>
      `kafka-run-class.sh ${cls} --bootstrap-server ${BROKER} --command-config /tmp/admin.properties ${args}`;
    await sh('docker', [
      'run',
      '--rm',
      '--network',
      'host',
      IMAGES.kafka.tag,
      'sh',
      '-c',
      [
        admin,
        tool('org.apache.kafka.tools.TopicCommand', '--create --topic guarded'),
        tool(
          'kafka.admin.AclCommand',
          `--add --allow-principal User:${USERS.plain[0]} --operation All --topic guarded`,
        ),
      ].join(' && '),
    ]);
    const project = projectFor('itsaslacl', 'plain', USERS.unauthorized);
    const { file } = await generate(project.dir, 10);
    const { exitCode, doc } = await project.json<{ error: { message: string; code: string; nextSteps: string[] } }>([
      'replay',
      file,
      '--topic',
      'guarded',
    ]);
    expect([exitCode, doc.error.code], doc.error.message).toEqual([1, 'KAFKA_NOT_AUTHORIZED']);
    expect(doc.error.message).toContain(`does not let ${USERS.unauthorized[0]} write to topic guarded`);
    expect(doc.error.nextSteps[0]).toContain('WRITE and DESCRIBE on topic guarded');
    // The user it was given to writes there.
    const allowed = projectFor('itsaslaclok', 'plain', USERS.plain);
    const kcat = ['-b', BROKER, ...kcatAuth('PLAIN', USERS.plain)];
    expect(await replayAndReadBack(allowed, file, 'guarded', kcat)).toEqual(
      readFileSync(file, 'utf8').trim().split('\n'),
    );
  });

  // Both refusals come before anything is sent: exit 3, KAFKA_UNAVAILABLE, and a message that says why.
  for (const [what, project, why] of [
    [
      'a certificate from a CA it was not told to trust',
      () => projectFor('itsasltlsuntrusted', 'scram-sha-256', USERS.scram, 'true'),
      /certificate/i,
    ],
    [
      'a wrong password',
      () => projectFor('itsaslwrong', 'plain', [USERS.plain[0], 'not-the-password']),
      /SASL PLAIN authentication failed|Authentication failed/i,
    ],
  ] as const) {
    it(`refuses ${what}, says why, and exits 3`, async () => {
      const refused = project();
      const { file } = await generate(refused.dir, 10);
      const { exitCode, doc } = await refused.json<{ error: { message: string; code: string } }>([
        'replay',
        file,
        '--topic',
        'refused',
      ]);
      expect(exitCode).toBe(3);
      expect(doc.error.code).toBe('KAFKA_UNAVAILABLE');
      expect(doc.error.message).toMatch(why);
    });
  }
});
