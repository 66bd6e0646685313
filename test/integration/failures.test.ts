// What pbx does when things go wrong, against the real engine.
import Docker from 'dockerode';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText, resolveConfig } from '../../src/config/load';
import { probeOnce } from '../../src/services/probes';
import type { StatusResult } from '../../src/stack/status';
import type { UpResult } from '../../src/stack/up';
import { BINARY } from '../support/cli';
import {
  containersOf,
  freePort,
  networksOf,
  projectName,
  purge,
  sh,
  testProject,
  volumesOf,
  type TestProject,
} from '../support/stack';
import { gather, waitFor } from '../support/wait';

const projects = [
  'itfail',
  'itpull',
  'itside-a',
  'itside-b',
  'itkraft',
  'itint',
  'itint2',
  'itint3',
  'itinit',
  'itrace',
  'ittty',
  'itmode',
].map(projectName);
const FOREIGN = projectName('not-pbx-redis');
const SILENT = projectName('not-pbx-silent-port');

beforeAll(async () => {
  await Promise.all(projects.map(purge));
  await execa('docker', ['rm', '-f', FOREIGN, SILENT], { reject: false });
});
afterAll(async () => {
  await Promise.all(projects.map(purge));
  await execa('docker', ['rm', '-f', FOREIGN, SILENT], { reject: false });
});

/** What the engine did to the network named `name` since `since` (Unix seconds): create, destroy, connect... */
async function networkEvents(name: string, since: number): Promise<string[]> {
  const out = await sh('docker', [
    ...['events', '--since', since.toFixed(3), '--until', (Date.now() / 1000).toFixed(3)],
    ...['--filter', 'type=network', '--format', '{{.Action}} {{.Actor.Attributes.name}}'],
  ]);
  return out
    .split('\n')
    .filter((line) => line.endsWith(` ${name}`))
    .map((line) => line.split(' ')[0]!);
}

/** Whether a SIGINT sent to the process `pid` waits to be delivered (its pending sets, in /proc). */
function sigintPending(pid: number): boolean {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const pending = [...status.matchAll(/^(?:SigPnd|ShdPnd):\s*([0-9a-f]+)$/gm)].map((m) => BigInt(`0x${m[1]}`));
  return pending.some((mask) => (mask & (1n << 1n)) !== 0n); // SIGINT is signal 2: bit 1
}

function listen(port: number): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('failures', () => {
  it('finds a taken port before creating anything, and names its owner and the setting', async () => {
    const port = await freePort();
    const project = testProject('itfail', `services:\n  redis: {port: ${port}}\n`);
    const server = await listen(port);
    try {
      const result = await project.pbx(['up', 'redis']);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain(`127.0.0.1:${port} for redis is taken by`);
      expect(result.stderr).toMatch(/node \(pid \d+\)/);
      expect(result.stderr).toContain('services.redis.port');
      expect(await containersOf(project.name)).toEqual([]);
      // Its network is made while the ports are checked: gone again before pbx says nothing was created.
      expect(await networksOf(project.name)).toEqual([]);
    } finally {
      server.close();
    }
  });

  it('says when the bind address is not one of this machine’s, before creating anything', async () => {
    // 192.0.2.0/24 is for documentation: no machine has it.
    const project = testProject('itfail', 'bind: 192.0.2.1\nservices:\n  redis: {port: 26416}\n');
    const result = await project.json<{ error: { code: string; message: string } }>(['up', 'redis']);
    expect([result.exitCode, result.doc.error.code]).toEqual([1, 'BIND_ADDRESS']);
    expect(result.doc.error.message).toContain('192.0.2.1, the bind address of pbx.yaml, is not an address of this');
    expect(await containersOf(project.name)).toEqual([]);
    expect(await networksOf(project.name)).toEqual([]);
  });

  it('names a container without pbx labels that holds the port, and never touches it', async () => {
    const port = await freePort();
    await sh('docker', ['run', '-d', '--name', FOREIGN, '-p', `127.0.0.1:${port}:6379`, 'pbx/redis:7.0']);
    const project = testProject('itfail', `services:\n  redis: {port: ${port}}\n`);
    const result = await project.pbx(['up', 'redis']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`taken by container ${FOREIGN} (pbx/redis:7.0)`);
    await project.pbx(['down', '--volumes']);
    expect(await sh('docker', ['inspect', '-f', '{{.State.Running}}', FOREIGN])).toBe('true');
  });

  it('reports a service that fails to start with its exit code and log tail, removes it, exits 3', async () => {
    // The Redis image has a shell but no Kafka: the container starts, then exits with 127.
    const project = testProject('itfail', 'services:\n  kafka: {port: 29192, mode: kraft, image: "pbx/redis:7.0"}\n');
    const result = await project.json<{
      error: {
        code: string;
        message: string;
        exitCode: number;
        details: { failures: Array<{ exitCode: number; logTail: string[] }> };
      };
    }>(['up', 'kafka']);
    expect(result.exitCode).toBe(3);
    expect(result.doc.error.code).toBe('UNHEALTHY');
    expect(result.doc.error.message).toContain('kafka: the container exited with code 127');
    expect(result.doc.error.details.failures[0]!.logTail.join('\n')).toContain('kafka-storage.sh: not found');
    expect(await containersOf(project.name)).toEqual([]);
    // Its volume, made by this run, held nothing of the user's: gone too (a KRaft broker's label on it would
    // refuse the ZooKeeper-mode Kafka of the next test).
    expect((await volumesOf(project.name)).filter((v) => v.includes('kafka'))).toEqual([]);
  });

  it('finds a schema file that is not there before starting anything', async () => {
    const project = testProject('itfail', 'services:\n  cassandra: {port: 26414, schema: [cql/missing.cql]}\n');
    const result = await project.json<{ error: { code: string; message: string } }>(['up', 'cassandra']);
    expect([result.exitCode, result.doc.error.code]).toEqual([1, 'SCHEMA_UNREADABLE']);
    expect(result.doc.error.message).toContain(join(project.dir, 'cql/missing.cql'));
    expect(await containersOf(project.name)).toEqual([]);
    expect((await volumesOf(project.name)).filter((v) => v.includes('cassandra'))).toEqual([]);
    expect(await networksOf(project.name)).toEqual([]);
  });

  it('says how to do without a registry when an image cannot be pulled, and creates nothing', async () => {
    // No registry answers on these machines, nor for this name anywhere: the pull fails either way.
    const project = testProject('itpull', 'services:\n  redis: {port: 29379, image: "pbx-it/not-a-real-image:1"}\n');
    const since = (Date.now() - 1000) / 1000;
    const result = await project.json<{ error: { code: string; message: string; nextSteps: string[] } }>([
      'up',
      'redis',
    ]);
    expect(result.exitCode).toBe(3);
    expect(result.doc.error.message).toContain('redis: Cannot pull pbx-it/not-a-real-image:1 for redis');
    expect(result.doc.error.nextSteps).toEqual([
      "pbx's own image pbx/redis:7.0 is present: remove `services.redis.image` from pbx.yaml, then run `pbx up` again.",
      'Or check the network or registry mirror settings of your Docker engine.',
    ]);
    expect(await containersOf(project.name)).toEqual([]);
    // Its network is made while the image is looked for: it must not outlive the failure, even as a request the
    // engine completes after pbx has exited. The engine's events say it was made, and removed after that.
    const network = `pbx-${project.name}`;
    await waitFor(() => networkEvents(network, since), {
      until: (events) => events.includes('create') && events.at(-1) === 'destroy',
      what: `the engine to report network ${network} made, then removed`,
      timeout: 30_000,
    });
    expect(await networksOf(project.name)).toEqual([]);
  });

  it('stops waiting for a Kafka started alongside a new ZooKeeper once ZooKeeper fails, and removes both', async () => {
    const project = testProject(
      'itfail',
      // The Redis image has no ZooKeeper: its container starts, then exits.
      'services:\n  zookeeper: {port: 26406, image: "pbx/redis:7.0"}\n  kafka: {port: 26407}\n',
    );
    const result = await project.json<{
      error: { message: string; details: { failures: Array<{ service: string; reason: string }> } };
    }>(['up', 'zookeeper', 'kafka']);
    expect(result.exitCode).toBe(3);
    const reasons = Object.fromEntries(result.doc.error.details.failures.map((f) => [f.service, f.reason]));
    expect(reasons.zookeeper).toMatch(/the container exited with code [1-9]/);
    expect(reasons.kafka).toBe('zookeeper is not ready');
    expect(await containersOf(project.name)).toEqual([]);
  });

  it('draws its progress tree on a terminal, each service ending as it ended (the binary)', async () => {
    const project = testProject('ittty', 'services:\n  redis: {port: 26415}\n');
    // A pseudo-terminal with a size, as a user's: listr2 draws the tree only there.
    const run = await execa(
      'script',
      ['-q', '-c', `stty cols 120 rows 40; ${BINARY} up redis --config ${project.file}`, '/dev/null'],
      {
        reject: false,
        env: { CI: undefined, CONTINUOUS_INTEGRATION: undefined, TERM: 'xterm' }, // unset: a terminal outside CI
      },
    );
    expect(run.exitCode, run.stdout).toBe(0);
    // eslint-disable-next-line no-control-regex -- the terminal's escape sequences are what is taken out
    const frames = run.stdout.replace(/\u001B\[[0-9;?]*[A-Za-z]/g, '').split(/\r?\n|\r/);
    expect(
      frames.some((f) => /^✔ redis: ready \(\d+(\.\d)? m?s\)$/.test(f)),
      frames.join('\n'),
    ).toBe(true);
    expect(frames.join('\n')).not.toContain('not started');
    expect(frames.join('\n')).toContain(`Stack ${project.name} is ready`);
  });

  it('runs two projects side by side, and down of one leaves the other', async () => {
    const a = testProject('itside-a', 'services:\n  redis: {port: 26410}\n');
    const b = testProject('itside-b', 'services:\n  redis: {port: 26411}\n');
    expect((await a.pbx(['up', 'redis'])).exitCode).toBe(0);
    expect((await b.pbx(['up', 'redis'])).exitCode).toBe(0);
    expect((await a.pbx(['down'])).exitCode).toBe(0);
    expect(await containersOf(a.name)).toEqual([]);
    expect(await containersOf(b.name)).toEqual([`pbx-${b.name}-redis`]);
    expect(await sh('redis-cli', ['-p', '26411', 'PING'])).toBe('PONG');
  });

  it('runs two pbx up of one project at once one after the other: one network, both ready', async () => {
    // At once, both planned before either created anything: two networks of one name, and a name conflict.
    const project = testProject('itrace', 'services:\n  zookeeper: {port: 26412}\n  redis: {port: 26413}\n');
    const up = () => execa(BINARY, ['up', 'zookeeper', 'redis', '--json', '--config', project.file], { reject: false });
    const [first, second] = await Promise.all([up(), up()]);
    expect([first.exitCode, second.exitCode], `${first.stderr}\n${second.stderr}`).toEqual([0, 0]);
    const actions = [first, second].map((r) => (JSON.parse(r.stdout) as UpResult).services.map((s) => s.action));
    expect(actions.sort()).toEqual([
      ['create', 'create'],
      ['keep', 'keep'],
    ]);
    expect(`${first.stderr}${second.stderr}`).not.toContain('Conflict');
    expect(await networksOf(project.name)).toEqual([`pbx-${project.name}`]);
    expect(await containersOf(project.name)).toEqual([`pbx-${project.name}-redis`, `pbx-${project.name}-zookeeper`]);
  });

  it('starts on the one network left of two with its name, which two creates at once can make', async () => {
    const project = testProject('itrace', 'services:\n  redis: {port: 26413}\n');
    await purge(project.name);
    const docker = new Docker();
    const create = () =>
      docker
        .createNetwork({ Name: `pbx-${project.name}`, Labels: { 'pbx.project': project.name } })
        .catch(() => undefined);
    for (let attempt = 0; attempt < 10 && (await networksOf(project.name)).length < 2; attempt++) {
      await purge(project.name);
      await Promise.all([create(), create()]);
    }
    expect(await networksOf(project.name), 'the engine made only one network of two creates').toHaveLength(2);
    const result = await project.pbx(['up', 'redis']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(await networksOf(project.name)).toEqual([`pbx-${project.name}`]);
    expect(await sh('redis-cli', ['-p', '26413', 'PING'])).toBe('PONG');
  });

  // Docker's port proxy accepts a connection while nothing listens in the container yet, then closes it;
  // the Cassandra driver would only notice after its 5 s read timeout, on every check while Cassandra starts.
  it('fails the Cassandra check at once while the published port has no server behind it', async () => {
    await sh('docker', [
      'run',
      '-d',
      '--name',
      SILENT,
      '-p',
      '127.0.0.1:26405:9042',
      'pbx/base:bookworm',
      'sleep',
      '300',
    ]);
    const config = resolveConfig(parseConfigText('services:\n  cassandra: {port: 26405}\n', 'pbx.yaml'), null, '/');
    const check = probeOnce(config, 'cassandra', 'full');
    await expect(check).rejects.toThrow(/ECONNRESET|does not answer yet/);
    await expect(check).rejects.not.toThrow(/did not reply before timeout/);
  });

  it('says what to do when no Docker engine answers, exit 1', async () => {
    const project = testProject('itfail', 'services:\n  redis: {port: 26403}\n');
    const result = await project.pbx(['up', 'redis'], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('No Docker engine answers at unix:///nonexistent/docker.sock');
    expect(result.stderr).toContain('npm run provision');
  });

  it('shows demultiplexed logs, prefixed when several services are shown', async () => {
    const project = testProject('itside-b', 'services:\n  redis: {port: 26411}\n');
    const one = await project.pbx(['logs', 'redis', '--tail', '20']);
    expect(one.exitCode).toBe(0);
    expect(one.stdout).toContain('Ready to accept connections');
    expect(one.stdout).not.toMatch(/^redis \| /m);
    expect(one.stdout).not.toContain('\u0001'); // no raw stream-multiplexing header bytes
    // Asked for two, of which one has no container: its lines are prefixed, and the other is said to be missing.
    const two = await project.pbx(['logs', 'redis', 'kafka', '--tail', '20']);
    expect(two.exitCode).toBe(0);
    expect(two.stdout).toMatch(/^redis \| .*Ready to accept connections/m);
    expect(two.stderr).toContain(`No container for kafka in project ${project.name} (\`pbx up kafka\` starts it).`);
  });

  it('says why followed lines end when their service stops (the binary)', async () => {
    const project = testProject('itside-b', 'services:\n  redis: {port: 26411}\n');
    const follow = execa(BINARY, ['logs', 'redis', '-f', '--tail', '1', '--config', project.file], {
      reject: false,
      env: { NO_COLOR: '1' },
    });
    let stopped = false;
    follow.stdout?.on('data', () => {
      if (stopped) return;
      stopped = true;
      void sh('docker', ['stop', `pbx-${project.name}-redis`]);
    });
    const result = await follow;
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Redis is now ready to exit'); // its last lines came through
    expect(result.stderr).toContain('redis stopped (exit code 0); its lines end here.');
  });

  /**
   * `pbx up kafka` in the binary, sent Ctrl-C as Kafka starts, and a second one if asked: right after the first, or
   * once Kafka has ended as failed (interrupted), as the run removes what it made.
   */
  async function interruptedUp(project: TestProject, second?: 'at once' | 'as it removes what it made') {
    const child = execa(BINARY, ['up', 'kafka', '--config', project.file], { reject: false, env: { NO_COLOR: '1' } });
    const signals: string[] = [];
    const signal = (when: string) => {
      signals.push(when);
      child.kill('SIGINT');
    };
    const stderr = gather(child.stderr);
    child.stderr?.on('data', () => {
      if (signals.length === 0 && stderr.text().includes('kafka      starting')) {
        signal('as Kafka starts');
        // Once the first has reached it: two at once would be one (a signal pending is not pending twice).
        if (second === 'at once') {
          void waitFor(() => !sigintPending(child.pid!), {
            what: 'the first Ctrl-C to reach pbx',
            timeout: 5000,
            interval: 1,
          }).then(
            () => signal(second),
            () => undefined, // (the signals said are checked below)
          );
        }
      }
      if (second === 'as it removes what it made' && signals.length === 1 && /\] kafka +failed/.test(stderr.text())) {
        signal(second);
      }
    });
    const result = await child;
    expect(signals, result.stderr).toEqual(['as Kafka starts', ...(second ? [second] : [])]);
    return result;
  }

  it('leaves nothing behind when interrupted with Ctrl-C during up (the binary, exit 130)', async () => {
    const project = testProject('itint', 'services:\n  zookeeper: {port: 22190}\n  kafka: {port: 29190}\n');
    const result = await interruptedUp(project);
    expect(result.exitCode).toBe(130);
    expect(result.stderr).toContain('Interrupted: removed what this run started');
    expect(await containersOf(project.name)).toEqual([]);
  });

  it('says what a second Ctrl-C during up may leave, and the commands it names remove all of it', async () => {
    const project = testProject('itint2', 'services:\n  zookeeper: {port: 22191}\n  kafka: {port: 29191}\n');
    const result = await interruptedUp(project, 'as it removes what it made');
    expect(result.exitCode).toBe(130);
    const note =
      /Stopped at once, perhaps leaving what this run made: `pbx down` removes its containers \(.*\); then `docker volume rm ([^`]+)`/.exec(
        result.stderr,
      );
    expect(note, result.stderr).not.toBeNull();
    expect((await project.pbx(['down'])).exitCode).toBe(0);
    await sh('docker', ['volume', 'rm', ...note![1]!.split(' ')]);
    expect([await containersOf(project.name), await volumesOf(project.name)]).toEqual([[], []]);
  });

  it('names only the containers a second Ctrl-C may leave when others of the project ran before: those stay', async () => {
    const project = testProject(
      'itint3',
      'services:\n  zookeeper: {port: 22192}\n  kafka: {port: 29192}\n  redis: {port: 26392}\n',
    );
    expect((await project.pbx(['up', 'redis'])).exitCode).toBe(0);
    // At once: `docker rm -f` of a container the engine is removing already fails ("already in progress").
    const result = await interruptedUp(project, 'at once');
    expect(result.exitCode).toBe(130);
    // It advised `pbx down`, which would also have stopped Redis.
    const note = /perhaps leaving what this run made: `docker rm -f ([^`]+)` removes its containers/.exec(
      result.stderr,
    );
    expect(note, result.stderr).not.toBeNull();
    await sh('docker', ['rm', '-f', ...note![1]!.split(' ')]);
    expect(await containersOf(project.name)).toEqual([`pbx-${project.name}-redis`]);
    expect(await sh('docker', ['inspect', '-f', '{{.State.Running}}', `pbx-${project.name}-redis`])).toBe('true');
  });

  it('stops a service on SIGTERM even in its first moments, where a first process ignores one', async () => {
    const project = testProject('itinit', 'services:\n  zookeeper: {port: 22193}\n');
    expect((await project.pbx(['up', 'zookeeper'])).exitCode).toBe(0);
    const name = `pbx-${project.name}-zookeeper`;
    // The service is not the container's first process, which ignores a signal it has no handler for yet.
    expect(await sh('docker', ['exec', name, 'cat', '/proc/1/comm'])).toBe('docker-init');
    await sh('docker', ['stop', '-t', '1', name]);
    for (let round = 0; round < 3; round++) {
      await sh('docker', ['start', name]);
      await sh('docker', ['stop', '-t', '1', name]); // as `pbx down` right after an interrupted `pbx up`
      // 143: ended by the SIGTERM. It was mostly 137, the SIGKILL at the grace period's end: `pbx down` waited 30 s.
      expect(await sh('docker', ['inspect', '-f', '{{.State.ExitCode}}', name])).toBe('143');
    }
  });

  it('refuses to switch Kafka to KRaft on a ZooKeeper-mode broker’s data, changing nothing; without ZooKeeper the broker is not ready', async () => {
    const zookeeperMode = 'services:\n  zookeeper: {port: 26417}\n  kafka: {port: 26418}\n';
    const project = testProject('itmode', zookeeperMode);
    expect((await project.pbx(['up', 'kafka'])).exitCode).toBe(0);
    project.write('services:\n  zookeeper: {port: 26417}\n  kafka: {port: 26418, mode: kraft}\n');
    const switched = await project.json<{ error: { code: string; message: string } }>(['up', 'kafka']);
    expect([switched.exitCode, switched.doc.error.code]).toEqual([1, 'DATA_FORMAT_CHANGED']);
    expect(switched.doc.error.message).toContain(
      `Volume pbx-${project.name}-kafka-data holds the data of Kafka in ZooKeeper mode; Kafka in KRaft mode cannot start on it.`,
    );
    expect(await sh('docker', ['inspect', '-f', '{{.State.Running}}', `pbx-${project.name}-kafka`])).toBe('true');
    project.write(zookeeperMode);
    const back = await project.json<UpResult>(['up', 'kafka']);
    expect(back.doc.services.map((s) => s.action)).toEqual(['keep', 'keep']);

    // Without its ZooKeeper, the broker still answers metadata requests, but can make no topic: not ready.
    await sh('docker', ['stop', `pbx-${project.name}-zookeeper`]);
    const status = await project.json<StatusResult>(['status', 'kafka']);
    expect(status.exitCode).toBe(3);
    const kafka = status.doc.services.find((s) => s.service === 'kafka');
    expect(kafka).toMatchObject({ state: 'running', ready: false });
    expect(kafka?.check).toContain('but ZooKeeper is not ready (exited with code');
  });

  it('runs Kafka in KRaft mode without ZooKeeper, in the least memory it takes (from the binary)', async () => {
    // 384m: a heap of 192 MiB, less than the 256 MiB Kafka's launcher used to be given at the least.
    const project = testProject('itkraft', 'services:\n  kafka: {port: 29191, mode: kraft, memory: 384m}\n');
    const result = await execa(BINARY, ['up', 'kafka', '--json', '--config', project.file], { reject: false });
    expect(result.exitCode).toBe(0);
    const doc = JSON.parse(result.stdout) as UpResult;
    expect(doc.services.map((s) => [s.service, s.ready])).toEqual([['kafka', true]]);
    await sh('kcat', ['-b', '127.0.0.1:29191', '-P', '-t', 'kraft-check'], 'raft\n');
    expect(await sh('kcat', ['-b', '127.0.0.1:29191', '-C', '-t', 'kraft-check', '-o', 'beginning', '-e', '-q'])).toBe(
      'raft',
    );
    expect(await containersOf(project.name)).toEqual([`pbx-${project.name}-kafka`]);
  });
});
