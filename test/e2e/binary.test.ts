import { chmodSync, existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import pjson from '../../package.json' with { type: 'json' };
import { BINARY, expectedListing, helpListing, runBinary } from '../support/cli';

// The binary must work alone: copied into an empty directory with no node_modules or package.json near it.
let pbx: string;
let workdir: string;

beforeAll(async () => {
  if (!existsSync(BINARY)) throw new Error('dist/pbx is missing: run `npm run build` first (scripts/test.sh does).');
  workdir = mkdtempSync(join(tmpdir(), 'pbx-e2e-'));
  pbx = join(workdir, 'pbx');
  await copyFile(BINARY, pbx);
  expect(statSync(pbx).mode & 0o111).not.toBe(0);
});

describe('the compiled binary', () => {
  it('prints its version', async () => {
    const { execa } = await import('execa');
    const result = await execa(pbx, ['--version'], { cwd: '/' });
    expect(result.stdout).toMatch(new RegExp(`^pbx/${pjson.version.replaceAll('.', '\\.')} `));
  });

  it('lists every command in --help, from /, a topic’s commands in its help', async () => {
    const { execa } = await import('execa');
    const { commandsFor } = await import('../../src/commands');
    const ids = Object.keys(await commandsFor([]));
    const result = await execa(pbx, ['--help'], { cwd: '/' });
    expect(helpListing(result.stdout)).toEqual(expectedListing(ids));
    for (const topic of ['data', 'images']) {
      const topicHelp = await execa(pbx, ['help', topic], { cwd: '/' });
      expect(helpListing(topicHelp.stdout)).toEqual(expectedListing(ids, topic));
    }
    const help = await execa(pbx, ['help', 'doctor'], { cwd: '/' });
    expect(help.stdout).toContain('--json');
  });

  it('exits 2 on a usage error', async () => {
    const { execa } = await import('execa');
    const result = await execa(pbx, ['doctor', '--no-such-flag'], { cwd: '/', reject: false });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--no-such-flag');
  });

  it('prints doctor --json as one valid JSON document, exit 1 without an engine', async () => {
    const { execa } = await import('execa');
    const result = await execa(pbx, ['doctor', '--json'], {
      cwd: workdir,
      reject: false,
      env: { DOCKER_HOST: 'unix:///nonexistent.sock' },
    });
    const report = JSON.parse(result.stdout);
    expect(report.checks.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining(['docker', 'port-kafka', 'disk', 'memory']),
    );
    expect(result.exitCode).toBe(report.ok ? 0 : 1);
    expect(report.ok).toBe(false);
  });

  it('tells a user whose rights do not reach the engine’s socket so, not that no engine runs', async () => {
    const { execa } = await import('execa');
    // An engine's socket as Docker makes it (root's, mode 660), and a user outside its group: nobody.
    const dir = mkdtempSync(join(tmpdir(), 'pbx-socket-'));
    chmodSync(dir, 0o755);
    const socket = join(dir, 'docker.sock');
    const server = createServer().listen(socket);
    await once(server, 'listening');
    chmodSync(socket, 0o660);
    const copy = join(dir, 'pbx');
    await copyFile(pbx, copy);
    try {
      const result = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', copy, 'status'], {
        cwd: dir,
        reject: false,
        env: { DOCKER_HOST: `unix://${socket}`, HOME: dir },
      });
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain(`This user may not use the Docker engine at unix://${socket}`);
      expect(result.stderr).toContain('sudo usermod -aG docker $USER'); // it said "No Docker engine answers"
    } finally {
      server.close();
    }
  });

  it('scaffolds a project and reads its config, and points at a bad line', async () => {
    const { execa } = await import('execa');
    const init = await execa(pbx, ['init', 'app'], { cwd: workdir });
    expect(init.stdout).toContain('Created pbx project app');
    const config = await execa(pbx, ['config', '--json'], { cwd: join(workdir, 'app') });
    expect(JSON.parse(config.stdout).name).toBe('app');
    writeFileSync(join(workdir, 'app', 'pbx.yaml'), 'services:\n  redis:\n    port: many\n');
    const bad = await execa(pbx, ['config'], { cwd: join(workdir, 'app'), reject: false });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('pbx.yaml:3:11');
  });

  it('does not read a .env file from the working directory', async () => {
    writeFileSync(join(workdir, '.env'), 'PBX_JSON=1\n');
    const result = await runBinary(['config'], { cwd: workdir, binary: pbx });
    expect(result.stdout.startsWith('#')).toBe(true);
  });
  it('stops quietly when the reader of its output goes away (| head), exit 0', async () => {
    const { execa } = await import('execa');
    const result = await execa(
      'bash',
      ['-c', `set -o pipefail; "${pbx}" data gen reviews --count 500000 | head -c 100 >/dev/null`],
      { cwd: workdir, reject: false },
    );
    expect([result.exitCode, result.stderr]).toEqual([0, '']);
  });

  it('says it cannot write --out, a missing directory or a full disk, exit 1', async () => {
    for (const out of [join(workdir, 'no-such-dir', 'reviews.json'), '/dev/full']) {
      const result = await runBinary(['data', 'gen', 'reviews', '--count', '20000', '--out', out, '--json'], {
        cwd: workdir,
        binary: pbx,
      });
      expect(result.exitCode).toBe(1);
      expect(JSON.parse(result.stdout).error).toMatchObject({ code: 'OUTPUT_UNWRITABLE' });
    }
  });

  it('says it reads records from the terminal when `replay -` gets no pipe', async () => {
    const { execa } = await import('execa');
    const config = join(workdir, 'no-kafka.yaml');
    writeFileSync(config, 'services:\n  kafka: {port: 26451, mode: kraft}\n'); // nothing listens there
    // A pseudo-terminal as stdin, as when the command is typed without `< file` or a pipe.
    const run = await execa('script', ['-q', '-c', `${pbx} replay - --topic t --config ${config}`, '/dev/null'], {
      reject: false,
      input: '',
    });
    expect(run.stdout).toContain('Reading records from the terminal, one per line; Ctrl-D ends them.');
    const piped = await execa(pbx, ['replay', '-', '--topic', 't', '--config', config], { reject: false, input: '' });
    expect(piped.stderr).not.toContain('Reading records from the terminal');
  });

  it('generates the same reviews for the same seed, streaming to stdout', async () => {
    const first = await runBinary(['data', 'gen', 'reviews', '--count', '50', '--seed', '3'], {
      cwd: workdir,
      binary: pbx,
    });
    const again = await runBinary(['data', 'gen', 'reviews', '--count', '50', '--seed', '3'], {
      cwd: workdir,
      binary: pbx,
    });
    expect(first.exitCode).toBe(0);
    expect(again.stdout).toBe(first.stdout);
    const lines = first.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(50);
    expect(Object.keys(JSON.parse(lines[0]!) as object)).toEqual([
      'user_id',
      'product_id',
      'review',
      'summary',
      'profile_name',
      'helpfulness',
      'time',
      'score',
    ]);
    const other = await runBinary(['data', 'gen', 'reviews', '--count', '50', '--seed', '4'], {
      cwd: workdir,
      binary: pbx,
    });
    expect(other.stdout).not.toBe(first.stdout);
    const jsonToStdout = await runBinary(['data', 'gen', 'reviews', '--json'], { cwd: workdir, binary: pbx });
    expect(jsonToStdout.exitCode).toBe(2);
  });
});
