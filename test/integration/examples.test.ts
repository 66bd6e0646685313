// Pipelines written on the command line and the examples in examples/, run as users run them (the compiled binary)
// against a real Kafka and Cassandra. Every expected output is computed here, from the input, by other means: a
// split and a count in TypeScript, and a parse of the Apache log with a regular expression.
import type { Client } from 'cassandra-driver';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCassandraClient } from '../../src/clients/cassandra';
import { loadConfig } from '../../src/config/load';
import { cassandraEndpoint } from '../../src/services/endpoints';
import { BINARY, runBinary } from '../support/cli';
import { freePort, purge, startStack, testProject } from '../support/stack';
import { produce, readTopic, topicValues, withAdmin } from '../support/topics';

const EXAMPLES = resolve(import.meta.dirname, '../../examples');
const P = { kafka: await freePort(), cassandra: await freePort() };
const project = testProject(
  'itexamples',
  `services:
  kafka: {port: ${P.kafka}, mode: kraft}
  cassandra: {port: ${P.cassandra}, schema: [${join(EXAMPLES, 'word-count/cql/schema.cql')}]}
`,
);
const BROKER = `127.0.0.1:${P.kafka}`;
let cql: Client;

const pbx = (...args: string[]) => project.binary(args, { env: { CI: '1' }, timeout: 200_000 });

/** Runs pbx and expects exit 0, saying what it printed otherwise. */
async function ok(...args: string[]): Promise<string> {
  const result = await pbx(...args);
  expect(result.exitCode, `pbx ${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

/** pbx data gen, which reads no pbx.yaml. */
async function generate(...args: string[]): Promise<void> {
  const result = await runBinary(['data', 'gen', ...args]);
  expect(result.exitCode, result.stderr).toBe(0);
}

const values = (topic: string) => topicValues(BROKER, topic);

/** A consumer group's committed offset of a topic's partition 0 (0 when none), and how many members it has now. */
async function groupAt(groupId: string, topic: string): Promise<{ committed: number; members: number }> {
  return withAdmin(BROKER, async (admin) => {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const { groups } = await admin.describeGroups([groupId]);
    const committed = Number(offsets?.partitions.find((p) => p.partition === 0)?.offset ?? -1);
    return { committed: Math.max(0, committed), members: groups[0]?.members.length ?? 0 };
  });
}

function countOf<T>(items: Iterable<T>): Map<T, number> {
  const counts = new Map<T, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

beforeAll(async () => {
  await startStack(project);
  cql = await createCassandraClient(cassandraEndpoint(loadConfig({ file: project.file })));
  await cql.connect();
}, 600_000);
afterAll(async () => {
  await cql?.shutdown();
  await purge(project.name);
});

describe('pbx run on the command line', () => {
  const lines = Array.from({ length: 300 }, (_, i) => `line ${i} ${i % 3 === 0 ? 'fizz' : 'buzz'}`);

  it('--from T alone prints the values in order, and the same command again goes on where it stopped', async () => {
    await produce(BROKER, 'cl-lines', lines);
    // (execa drops the last newline of what it read)
    expect(await ok('run', '--from', 'cl-lines', '--until-end')).toBe(lines.join('\n'));
    await produce(BROKER, 'cl-lines', ['one more']);
    expect(await ok('run', '--from', 'cl-lines', '--until-end')).toBe('one more');
  });

  it('ends with exit 0 when its reader quits (| head -5), and the next run prints from the first value not committed', async () => {
    // About 1 MB: far more than a pipe holds, so pbx is still printing when head exits. (Produced in parts: the
    // broker takes at most 1 MB a request.)
    const many = Array.from({ length: 20_000 }, (_, i) => `value ${i} ${'x'.repeat(40)}`);
    for (let i = 0; i < many.length; i += 5000) await produce(BROKER, 'cl-many', many.slice(i, i + 5000));
    // No --until-end: only stdout closing ends this run. The shell reports pbx's exit code, not head's.
    const script = '"$0" run --from cl-many --group cl-head --config "$1" | head -5; exit "${PIPESTATUS[0]}"';
    const head = await execa('bash', ['-c', script, BINARY, project.file], {
      cwd: project.dir,
      reject: false,
      env: { CI: '1' },
      timeout: 200_000,
    });
    expect(head.exitCode, head.stderr).toBe(0);
    expect(head.stdout).toBe(many.slice(0, 5).join('\n'));
    expect(head.stderr).toContain('stdout was closed by its reader');
    // It left its group; what it committed is what stdout took, short of the batch that met the closed pipe.
    const { committed, members } = await groupAt('pbx-cl-head', 'cl-many');
    expect(members).toBe(0);
    expect(committed).toBeLessThan(many.length);
    expect(await ok('run', '--from', 'cl-many', '--group', 'cl-head', '--until-end')).toBe(
      many.slice(committed).join('\n'),
    );
  });

  it('--to U alone copies the topic', async () => {
    await ok('run', '--from', 'cl-lines', '--to', 'cl-copy', '--until-end');
    expect(await values('cl-copy')).toEqual([...lines, 'one more']);
  });

  it('--key-by keys JSON values by a field, as the records of the output topic show', async () => {
    const orders = Array.from({ length: 60 }, (_, id) => ({ id, customer: { id: `c${id % 7}` } }));
    await produce(BROKER, 'cl-orders', orders);
    await ok(
      ...['run', '--from', 'cl-orders', '--format', 'json', '--key-by', 'customer.id', '--to', 'cl-by-customer'],
      '--until-end',
    );
    const records = await readTopic(BROKER, 'cl-by-customer');
    expect(records).toHaveLength(60);
    for (const r of records) expect(r.key).toBe((JSON.parse(r.value) as (typeof orders)[number]).customer.id);
  });

  it("splits sentences with tr and drops empty lines with grep, as the issue's example", async () => {
    const sentences = ['a b  c', '', 'b c', 'c'];
    await produce(BROKER, 'cl-sentences', sentences);
    await ok(
      ...['run', '--from', 'cl-sentences', '--shell', "tr ' ' '\\n'", '--shell', "grep -v '^$'", '--ok-exit', '0,1'],
      ...['--to', 'cl-words', '--until-end'],
    );
    expect(await values('cl-words')).toEqual(sentences.flatMap((s) => s.split(' ')).filter((w) => w !== ''));
  });

  it('takes grep exit 1 as success with --ok-exit 0,1, and stops on it without', async () => {
    const failed = await pbx('run', '--from', 'cl-lines', '--shell', 'grep nothing-matches', '--until-end');
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain('grep nothing-matches');
    expect(failed.stderr).toMatch(/exit(ed)?( with)?( code)? 1/);
    const passed = await pbx(
      ...['run', '--from', 'cl-lines', '--shell', 'grep nothing-matches', '--ok-exit', '0,1', '--until-end'],
    );
    expect(passed.exitCode, passed.stderr).toBe(0);
    expect(passed.stdout).toBe('');
  });

  it('counts words per key partition and window with sort | uniq -c: the counts add up to a count done here', async () => {
    const text = Array.from({ length: 200 }, (_, i) => `w${i % 13} w${i % 5} w${i % 2}`);
    await produce(BROKER, 'cl-text', text);
    await ok(
      ...['run', '--from', 'cl-text', '--shell', "tr ' ' '\\n'", '--key-by', '.', '--window', '1h'],
      ...['--shell', 'sort | uniq -c', '--to', 'cl-counts', '--until-end'],
    );
    const got = new Map<string, number>();
    for (const line of await values('cl-counts')) {
      const [, n, word] = /^\s*(\d+) (\S+)$/.exec(line) ?? [];
      got.set(word!, (got.get(word!) ?? 0) + Number(n));
    }
    expect(got).toEqual(countOf(text.flatMap((s) => s.split(' '))));
  });
});

describe('examples/word-count', () => {
  it('writes counts to word-counts and word_count.counts equal to a count of the sentences done here', async () => {
    const data = join(project.dir, 'sentences.json');
    await generate('sentences', '--count', '5000', '--seed', '3', '--out', data);
    await ok('replay', data, '--topic', 'sentences', '--partitions', '3', '--rate', 'max');
    await ok('run', join(EXAMPLES, 'word-count/pipelines/word-count.ts'), '--until-end');
    const sentences = readFileSync(data, 'utf8').trim().split('\n');
    const expected = countOf(sentences.flatMap((line) => (JSON.parse(line) as { text: string }).text.split(' ')));

    const counts = (await values('word-counts')).map((v) => JSON.parse(v) as { word: string; count: number });
    expect(new Map(counts.map((c) => [c.word, c.count]))).toEqual(expected);
    expect(counts).toHaveLength(expected.size);
    const rows = await cql.execute('SELECT word, count FROM word_count.counts', [], { fetchSize: 1_000_000 });
    expect(new Map(rows.rows.map((row) => [row.get('word') as string, Number(row.get('count'))]))).toEqual(expected);
  });
});

describe('examples/log-analysis', () => {
  // Apache's combined log format, read here with a regular expression: the day and the status of each request.
  const REQUEST = /^\S+ \S+ \S+ \[(\d\d\/\w{3}\/\d{4}):[^\]]+\] "[^"]*" (\d{3}) /;

  it('counts the failed requests by day and by status over day windows, as a parse of the log here does', async () => {
    const log = join(project.dir, 'access.log');
    await generate('apache-log', '--count', '4000', '--days', '4', '--seed', '5', '--out', log);
    await ok('replay', log, '--topic', 'access-log', '--format', 'lines', '--rate', 'max');
    // The command line of examples/log-analysis/README.md: grep keeps the 4xx and 5xx, sed cuts out time, status, path.
    const readme = readFileSync(join(EXAMPLES, 'log-analysis/README.md'), 'utf8');
    const command = /```sh\n(pbx run --from access-log[^`]*?)\n```/.exec(readme)?.[1];
    expect(command, 'the README shows the command line').toBeDefined();
    const clean = await execa(
      'sh',
      ['-c', `${command!.replace(/^pbx /, `"${BINARY}" `)} --until-end --config "$1"`, 'sh', project.file],
      {
        cwd: project.dir,
        reject: false,
        env: { CI: '1' },
      },
    );
    expect(clean.exitCode, clean.stderr).toBe(0);
    await ok('run', join(EXAMPLES, 'log-analysis/pipelines/errors-per-day.ts'), '--until-end');
    await ok('run', join(EXAMPLES, 'log-analysis/pipelines/errors-per-status.ts'), '--until-end');

    const failed = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => REQUEST.exec(line)!)
      .filter((m) => Number(m[2]) >= 400);
    expect(failed.length).toBeGreaterThan(100);
    const perDay = (await values('errors-per-day')).map((v) => JSON.parse(v) as { day: string; errors: number });
    expect(new Map(perDay.map((r) => [r.day, r.errors]))).toEqual(countOf(failed.map((m) => m[1]!)));
    expect(perDay).toHaveLength(4);
    const perStatus = (await values('errors-per-status')).map(
      (v) => JSON.parse(v) as { day: string; status: number; errors: number },
    );
    expect(new Map(perStatus.map((r) => [`${r.day} ${r.status}`, r.errors]))).toEqual(
      countOf(failed.map((m) => `${m[1]} ${m[2]}`)),
    );
    expect(perStatus.length).toBe(new Set(failed.map((m) => `${m[1]} ${m[2]}`)).size);
  });
});
