import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { expectedListing, helpListing, runInProcess } from '../support/cli';

const deadEngine = { DOCKER_HOST: 'unix:///nonexistent/docker.sock' };

describe('pbx init', () => {
  it('scaffolds a project and refuses to overwrite it', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pbx-init-')), 'reviews');
    const first = await runInProcess(['init', dir, '--json']);
    expect(first.exitCode).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ name: 'reviews', overwritten: [] });
    for (const path of ['pbx.yaml', 'pipelines', 'data', 'README.md']) expect(existsSync(join(dir, path))).toBe(true);

    writeFileSync(join(dir, 'README.md'), 'mine');
    const second = await runInProcess(['init', dir]);
    expect(second.exitCode).toBe(1);
    expect(second.stderr).toContain('already has pbx.yaml');
    expect(second.stderr).toContain(`Run \`pbx init ${dir} --force\``); // it said "pbx init --force": this directory
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe('mine');

    const forced = await runInProcess(['init', dir, '--force', '--json']);
    expect(forced.exitCode).toBe(0);
    expect(JSON.parse(forced.stdout).overwritten).toContain('README.md');
  });

  it('says it cannot write where it is asked to, exit 1', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pbx-init-')), 'a-file');
    writeFileSync(file, '');
    const result = await runInProcess(['init', join(file, 'project'), '--json']);
    expect(result.exitCode).toBe(1);
    expect(JSON.parse(result.stdout).error).toMatchObject({ code: 'INIT_UNWRITABLE' });
  });

  it('writes a pbx.yaml that pbx config accepts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbx-init-'));
    await runInProcess(['init', dir, '--name', 'demo']);
    const config = await runInProcess(['config', '--json', '--config', join(dir, 'pbx.yaml')]);
    expect(config.exitCode).toBe(0);
    expect(JSON.parse(config.stdout)).toMatchObject({ name: 'demo', profiles: { cache: ['redis'] } });
  });
});

describe('pbx run', () => {
  it('--check loads the example pbx init writes and prints its stages, as JSON when asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbx-run-'));
    await runInProcess(['init', dir]);
    const config = join(dir, 'pbx.yaml');
    const json = await runInProcess(['run', 'example', '--check', '--json', '--config', config]);
    expect(json.exitCode).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ pipeline: 'example', sinks: ['topic good-reviews-per-day'] });
    const text = await runInProcess(['run', join(dir, 'pipelines/example.ts'), '--check']);
    expect(text.stdout).toContain(`Pipeline example (${join(dir, 'pipelines/example.ts')}) loads and checks:`);
    expect(text.stdout).toContain('  to        topic good-reviews-per-day');
  });

  it('refuses flags that do not fit together or a duration without a unit, exit 2, before loading', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbx-run-'));
    await runInProcess(['init', dir]);
    const config = join(dir, 'pbx.yaml');
    const cases: Array<[string[], string]> = [
      [['--sink-timeout', '60'], '--sink-timeout: expected a duration such as 30s, 5m or 500ms, got 60.'],
      [['--on-error', 'dead-letter'], '--on-error dead-letter needs --dead-letter-topic.'],
      [['--dead-letter-topic', 'bad'], '--dead-letter-topic is for --on-error dead-letter'],
      [['--on-error', 'dead-letter', '--dead-letter-topic', 'events'], 'must not be a topic the pipeline reads'],
    ];
    for (const [flags, message] of cases) {
      const result = await runInProcess(['run', 'example', '--check', '--config', config, ...flags]);
      expect([result.exitCode, result.stderr]).toEqual([2, expect.stringContaining(message)]);
    }
  });
});

describe('pbx run on the command line', () => {
  it('--check shows the pipeline the flags write, its shells in the order given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbx-run-'));
    await runInProcess(['init', dir]);
    const config = join(dir, 'pbx.yaml');
    const flags = ['--from', 'sentences', '--shell', "tr ' ' '\\n'", '--key-by', '.', '--window', '1m'];
    const result = await runInProcess([
      'run',
      ...flags,
      '--shell',
      'sort | uniq -c',
      '--to',
      'counts',
      '--check',
      '--json',
      '--config',
      config,
    ]);
    expect(result.exitCode, result.stderr).toBe(0);
    const shape = JSON.parse(result.stdout) as { pipeline: string; steps: Array<{ kind: string }>; sinks: string[] };
    expect(shape.pipeline).toMatch(/^sentences-to-counts-[0-9a-f]{8}$/);
    expect(shape.steps.map((s) => s.kind)).toEqual(['shell', 'keyBy', 'shell']);
    expect(shape.sinks).toEqual(['topic counts']);
  });

  it('--check of a pipeline without --to shows stdout as its sink', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbx-run-'));
    await runInProcess(['init', dir]);
    const result = await runInProcess(['run', '--from', 'logs', '--check', '--config', join(dir, 'pbx.yaml')]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('to        stdout');
    expect(result.stdout).not.toContain('print');
  });

  it('refuses a module with --from, no pipeline at all, and printing with --json or --replicas, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbx-run-'));
    await runInProcess(['init', dir]);
    const config = join(dir, 'pbx.yaml');
    const cases: Array<[string[], string]> = [
      [['example', '--from', 'latest'], 'where a new group starts in its topics is --start earliest|latest'],
      [['example', '--shell', 'cat'], 'not both (--shell given with a module)'],
      [[], 'Name a pipeline module, or write one with --from TOPIC.'],
      [['--from', 't', '--json'], '--json with stdout as a sink (no --to): stdout carries the values printed.'],
      [['--from', 't', '--replicas', '2'], '--replicas with stdout as a sink'],
      [['--from', 't', '--ok-exit', '0,1'], '--ok-exit belongs to a --shell'],
    ];
    for (const [flags, message] of cases) {
      const result = await runInProcess(['run', ...flags, '--check', '--config', config]);
      const said = result.stderr + result.stdout;
      expect([result.exitCode, said.toLowerCase()]).toEqual([2, expect.stringContaining(message.toLowerCase())]);
    }
  });
});

describe('pbx config', () => {
  it('reports a bad file with its line and column, exit 1, as JSON when asked', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pbx-cfg-')), 'pbx.yaml');
    writeFileSync(file, 'name: ok\nservices:\n  kafka:\n    partitions: 3\n');
    const result = await runInProcess(['config', '--json', '--config', file]);
    expect(result.exitCode).toBe(1);
    const { error } = JSON.parse(result.stdout);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(`${file}:4:5: unknown setting "partitions" in services.kafka`);
  });

  it('masks the external services’ passwords, set in the file or from the environment', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pbx-cfg-')), 'pbx.yaml');
    writeFileSync(
      file,
      `services:
  kafka:
    external: {brokers: ["k:9093"], sasl: {mechanism: plain, username: u, password: "\${KPW}"}}
  cassandra:
    external: {contactPoints: [c], username: cu, password: cassandra-secret}
  redis:
    external: {url: "redis://:redis-secret@r:6379/2"}
`,
    );
    for (const json of [false, true]) {
      const result = await runInProcess(['config', '--config', file, ...(json ? ['--json'] : [])], {
        KPW: 'kafka-secret',
      });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).not.toMatch(/kafka-secret|cassandra-secret|redis-secret/);
      expect(result.stdout).toContain('redis://:********@r:6379/2');
      expect(result.stdout.match(/\*{8}/g)).toHaveLength(3);
    }
  });

  it('prints YAML with defaults in plain mode', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pbx-cfg-')), 'pbx.yaml');
    writeFileSync(file, 'name: plain\nservices:\n  redis: {port: 26999}\n');
    const result = await runInProcess(['config', '--config', file]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.startsWith(`# ${file}\n`)).toBe(true);
    const printed = parse(result.stdout) as { name: string; bind: string; services: Record<string, { port: number }> };
    expect(printed).toMatchObject({ name: 'plain', bind: '127.0.0.1' }); // bind: a default
    expect(printed.services.redis?.port).toBe(26999); // as written
    expect(printed.services.kafka?.port).toBe(9092); // not written: the default
  });

  it('says a file given with --config does not exist, exit 1', async () => {
    const result = await runInProcess(['config', '--config', '/nonexistent/pbx.yaml']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('Config file /nonexistent/pbx.yaml does not exist.');
  });
});

describe('pbx doctor', () => {
  it('reports an unreachable engine with what to do, and exits 1', async () => {
    const result = await runInProcess(['doctor', '--json'], deadEngine);
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report.ok).toBe(false);
    const docker = report.checks.find((c: { name: string }) => c.name === 'docker');
    expect(docker).toMatchObject({ ok: false });
    expect(docker.detail).toContain('unix:///nonexistent/docker.sock');
    expect(docker.fix).toContain('npm run provision');
  });

  it('names a taken port and the setting that moves it', async () => {
    const { createServer } = await import('node:net');
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const file = join(mkdtempSync(join(tmpdir(), 'pbx-doc-')), 'pbx.yaml');
    writeFileSync(file, `services:\n  redis:\n    port: ${port}\n`);
    try {
      const result = await runInProcess(['doctor', '--config', file], deadEngine);
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toContain(`127.0.0.1:${port} (redis) is taken by another process`);
      expect(result.stdout).toContain('services.redis.port');
    } finally {
      server.close();
    }
  });
});

describe('usage', () => {
  it('says a command takes no argument instead of calling it an unknown command, exit 2', async () => {
    const down = await runInProcess(['down', 'kafka'], deadEngine);
    expect(down.exitCode).toBe(2);
    expect(down.stderr).toContain('pbx down takes no argument, and "kafka" was given.');
    const list = await runInProcess(['images', 'list', 'extra']);
    expect(list.stderr).toContain('pbx images list takes no argument');
  });

  it('exits 2 on an unknown command or flag', async () => {
    expect((await runInProcess(['frobnicate'])).exitCode).toBe(2);
    const flag = await runInProcess(['doctor', '--frob']);
    expect(flag.exitCode).toBe(2);
    expect(flag.stderr).toContain('--frob');
    expect(flag.stderr).toContain('Run `pbx help doctor` for its flags'); // was: "pbx help <command>"
  });

  it('says which command a mistyped one meant, a topic command’s too', async () => {
    const cases: [string[], string, string][] = [
      [['replya', 'x.json'], 'replya', 'replay'],
      [['images', 'bild'], 'images bild', 'images build'],
      [['data', 'gne', '--count', '1'], 'data gne', 'data gen'],
      [['imagse'], 'imagse', 'images'],
    ];
    for (const [argv, typed, meant] of cases) {
      const result = await runInProcess(argv);
      expect([argv, result.exitCode]).toEqual([argv, 2]);
      expect(result.stderr).toContain(`pbx ${typed}: no such command.`);
      expect(result.stderr).toContain(`Did you mean \`pbx ${meant}\`?`); // oclif: "command replya not found"
    }
    expect((await runInProcess(['xyzzy'])).stderr).not.toContain('Did you mean');
  });

  it('says the command goes before its flags, with the command line reordered', async () => {
    const result = await runInProcess(['--config', 'pbx.yaml', 'images', 'list', '--json']);
    expect(result.exitCode).toBe(2); // oclif: "command --config not found"
    expect(JSON.parse(result.stdout).error.nextSteps).toEqual(['Run `pbx images list --config pbx.yaml --json`.']);
    expect((await runInProcess(['--help', 'replay'])).stdout).toContain('pbx replay [FILE]');
  });

  it('refuses status --watch --json, which could not be one JSON document', async () => {
    const result = await runInProcess(['status', '--watch', '--json']);
    expect(result.exitCode).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: 'USAGE' } });
  });
});

describe('commands oclif is given', () => {
  it('loads only the command that runs, a topic command included, and all of them for help', async () => {
    const { commandsFor } = await import('../../src/commands');
    const ids = async (argv: string[]) => Object.keys(await commandsFor(argv)).sort();
    expect(await ids(['replay', 'data.json', '--rate', '2'])).toEqual(['replay']);
    expect(await ids(['data', 'gen', 'reviews'])).toEqual(['data:gen']);
    expect(await ids(['images', 'list'])).toEqual(['images:list']);
    const all = await ids([]);
    expect(all).toContain('up');
    expect(all.length).toBeGreaterThan(10);
    for (const argv of [['help'], ['help', 'replay'], ['replay', '--help'], ['up', '-h'], ['nope'], ['data']]) {
      expect([argv, await ids(argv)]).toEqual([argv, all]);
    }
  });

  it('still lists every command in help, a topic’s commands in its own, and runs a topic command', async () => {
    const { commandsFor } = await import('../../src/commands');
    const ids = Object.keys(await commandsFor([]));
    const help = await runInProcess(['--help']);
    expect(help.exitCode).toBe(0);
    expect(helpListing(help.stdout)).toEqual(expectedListing(ids));
    for (const topic of ['data', 'images']) {
      const topicHelp = await runInProcess(['help', topic]);
      expect(helpListing(topicHelp.stdout)).toEqual(expectedListing(ids, topic));
    }
    const topic = await runInProcess(['data', 'gen', 'reviews', '--count', '2', '--seed', '1']);
    expect(topic.exitCode).toBe(0);
    expect(topic.stdout.trim().split('\n')).toHaveLength(2);
  });
});
