// pbx replay against a real Kafka (KRaft, one container), read back with Debian's kcat.
import { execa, type ResultPromise } from 'execa';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load';
import { replay as replayWith, type ReplaySummary } from '../../src/replay/replay';
import { BINARY, generateReviews } from '../support/cli';
import { watchProduceRequests } from '../support/kafka-wire';
import { freePort, purge, sh, testProject } from '../support/stack';
import { gather, waitFor } from '../support/wait';

const PORT = await freePort();
const BROKER = `127.0.0.1:${PORT}`;
const project = testProject('itreplay', `services:\n  kafka: {port: ${PORT}, mode: kraft}\n`);
/** Where no Kafka listens. */
const DOWN_PORT = await freePort();
const path = (name: string) => join(project.dir, name);

interface Consumed {
  key: string;
  partition: number;
  offset: number;
  timestamp: number;
  headers: string;
  value: string;
}

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), written out here from the Java source. */
function murmur2(data: Buffer): number {
  const m = 0x5bd1e995;
  let h = (0x9747b28c ^ data.length) | 0;
  let i = 0;
  for (; i + 4 <= data.length; i += 4) {
    let k = data.readInt32LE(i);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = data.length - i;
  if (rest >= 3) h ^= data[i + 2]! << 16;
  if (rest >= 2) h ^= data[i + 1]! << 8;
  if (rest >= 1) {
    h ^= data[i]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h;
}

/** Everything in a topic, read by a client that is not pbx. */
async function consume(topic: string): Promise<Consumed[]> {
  const out = await sh('kcat', [
    '-b',
    BROKER,
    '-C',
    '-t',
    topic,
    '-o',
    'beginning',
    '-e',
    '-q',
    '-f',
    '%k\t%p\t%o\t%T\t%h\t%s\n',
  ]);
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [key, partition, offset, timestamp, headers, ...value] = line.split('\t');
      return {
        key: key!,
        partition: Number(partition),
        offset: Number(offset),
        timestamp: Number(timestamp),
        headers: headers!,
        value: value.join('\t'),
      };
    });
}

/** Records in the order Kafka holds them for one partition topic. */
const values = async (topic: string) => (await consume(topic)).map((r) => r.value);

/** The end offset of a one-partition topic, as a client that is not pbx reads it: 0 while there is no topic. */
async function endOffset(topic: string): Promise<number> {
  const { stdout } = await execa('kcat', ['-b', BROKER, '-Q', '-t', `${topic}:0:-1`], { reject: false });
  return Number(/ offset (\d+)/.exec(stdout)?.[1] ?? 0);
}

/** Why a replay in the background can no longer deliver: it ended (for waitFor's giveUpIf). */
const ended = (child: ResultPromise) => () =>
  child.exitCode === null ? undefined : `the replay ended, exit ${child.exitCode}`;

/** Waits until Kafka holds `count` records of `topic` or more, and returns how many it held then. */
function recordsIn(topic: string, count: number, giveUpIf?: () => string | undefined): Promise<number> {
  return waitFor(() => endOffset(topic), {
    until: (held) => held >= count,
    what: `Kafka to hold ${count} records of topic ${topic}`,
    timeout: 60_000,
    giveUpIf,
  });
}

const generate = (name: string, count: number, seed = 5) => generateReviews(path(name), count, seed);

/** Creates a topic with one setting through Kafka's own tool, not pbx. */
async function createTopic(topic: string, setting: string): Promise<void> {
  await sh('docker', [
    'exec',
    `pbx-${project.name}-kafka`,
    'kafka-run-class.sh',
    'org.apache.kafka.tools.TopicCommand',
    '--bootstrap-server',
    'kafka:29092',
    '--create',
    '--topic',
    topic,
    '--config',
    setting,
  ]);
}

async function replay(args: string[]) {
  return project.json<ReplaySummary & { error?: { message: string; code: string; nextSteps: string[] } }>([
    'replay',
    ...args,
  ]);
}

/** Runs `dist/pbx replay <name>.json --topic <name>` with a checkpoint, in the background. */
function binaryReplay(name: string, rate: number, json = false) {
  const args = [
    ...['replay', path(`${name}.json`), '--topic', name, '--rate', String(rate)],
    ...['--checkpoint', path(`${name}.ckpt`), ...(json ? ['--json'] : []), '--config', project.file],
  ];
  return execa(BINARY, args, { reject: false, env: { NO_COLOR: '1' } });
}

/**
 * Kills a replay (kill -9) once Kafka holds records it delivered after its last checkpoint, the ones a resume must
 * find there. It is stopped (SIGSTOP) while the checkpoint and Kafka are read, so that neither moves meanwhile.
 */
async function killAheadOfCheckpoint(name: string, child: ResultPromise): Promise<void> {
  const checkpoint = path(`${name}.ckpt`);
  await waitFor(
    async () => {
      child.kill('SIGSTOP');
      const saved = existsSync(checkpoint)
        ? (JSON.parse(readFileSync(checkpoint, 'utf8')) as { nextIndex: number }).nextIndex
        : undefined;
      const held = await endOffset(name);
      if (saved !== undefined && held > saved) return true;
      child.kill('SIGCONT');
      return { checkpoint: saved, held };
    },
    {
      until: (seen) => seen === true,
      what: `Kafka to hold records of ${name} delivered after the last checkpoint`,
      timeout: 60_000,
      interval: 20,
      giveUpIf: ended(child),
    },
  );
  child.kill('SIGKILL');
  await child;
}

beforeAll(async () => {
  await purge(project.name);
  const up = await project.pbx(['up', 'kafka']);
  expect(up.exitCode, up.stderr).toBe(0);
});
afterAll(() => purge(project.name));

describe('pbx replay into a real Kafka', () => {
  it('delivers every record exactly once, keyed, in file order per key, on the Java client’s partitions', async () => {
    // Enough for several sends of three partition batches each, five requests in flight.
    const lines = await generate('reviews.json', 20_000);
    const { exitCode, doc } = await replay([
      path('reviews.json'),
      '--topic',
      'keyed',
      '--key',
      'product_id',
      '--partitions',
      '3',
    ]);
    expect(exitCode).toBe(0);
    expect(doc).toMatchObject({ sent: 20_000, skipped: 0, stoppedBy: 'end', format: 'ndjson' });

    const consumed = await consume('keyed');
    expect(consumed).toHaveLength(20_000);
    // Kafka's Java client puts a key on partition toPositive(murmur2(key)) % partitions.
    for (const r of consumed)
      expect([r.key, r.partition]).toEqual([r.key, (murmur2(Buffer.from(r.key)) & 0x7fffffff) % 3]);
    expect(new Set(consumed.map((r) => r.partition))).toEqual(new Set([0, 1, 2]));
    expect(consumed.map((r) => r.value).sort()).toEqual([...lines].sort());
    const byKeyInFile = new Map<string, string[]>();
    for (const line of lines) {
      const key = (JSON.parse(line) as { product_id: string }).product_id;
      byKeyInFile.set(key, [...(byKeyInFile.get(key) ?? []), line]);
    }
    const byKeyInKafka = new Map<string, string[]>();
    for (const r of [...consumed].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
      expect(JSON.parse(r.value).product_id).toBe(r.key);
      byKeyInKafka.set(r.key, [...(byKeyInKafka.get(r.key) ?? []), r.value]);
    }
    expect(byKeyInKafka).toEqual(byKeyInFile);
  });

  it('reads gzip, CSV and JSON arrays, with headers and --from/--limit', async () => {
    writeFileSync(path('rows.csv.gz'), gzipSync('id,name\n1,ann\n2,bob\n3,cy\n4,dee\n'));
    const csv = await replay([
      path('rows.csv.gz'),
      '--topic',
      'csv',
      '--from',
      '1',
      '--limit',
      '2',
      '--header',
      'origin=test',
    ]);
    expect(csv.doc).toMatchObject({ sent: 2, stoppedBy: 'limit', format: 'csv' });
    const consumed = await consume('csv');
    expect(consumed.map((r) => r.value)).toEqual(['{"id":"2","name":"bob"}', '{"id":"3","name":"cy"}']);
    expect(consumed[0]!.headers).toBe('origin=test');

    writeFileSync(path('array.json'), '[{"n": 1}, {"n": 2}]');
    expect((await replay([path('array.json'), '--topic', 'array'])).doc).toMatchObject({ sent: 2, format: 'json' });
    expect(await values('array')).toEqual(['{"n":1}', '{"n":2}']);
  });

  it('replays a command’s output, gzip-compressed on the wire', async () => {
    const wire = watchProduceRequests(PORT);
    const { exitCode, doc } = await replay([
      '--exec',
      'printf "one\\ntwo\\nthree\\n"',
      '--topic',
      'exec',
      '--compression',
      'gzip',
    ]).finally(wire.stop);
    expect(exitCode).toBe(0);
    const batches = wire.writes.filter((w) => w.topic === 'exec');
    expect(batches.length).toBeGreaterThan(0);
    expect(batches.map((w) => w.compression)).toEqual(batches.map(() => 1)); // gzip
    expect(doc).toMatchObject({ sent: 3, format: 'lines' });
    expect(await values('exec')).toEqual(['one', 'two', 'three']);
  });

  it('sends a command’s lines as it prints them; an interrupt ends the wait for more, and all of the command', async () => {
    const silent = `sleep 30.${process.pid}`; // a name of its own, to look for afterwards
    const args = ['replay', '--exec', `echo one; echo two; ${silent} | cat`, '--topic', 'live', '--rate', '100'];
    const child = execa(BINARY, [...args, '--json', '--config', project.file], { reject: false });
    // Both are in Kafka while the command says nothing more (they used to wait for its next line, or its end).
    const seen = await waitFor(() => values('live'), {
      until: (held) => held.length >= 2,
      what: 'Kafka to hold the two lines the command printed',
      timeout: 15_000,
      giveUpIf: ended(child),
    });
    expect(seen).toEqual(['one', 'two']);
    expect(child.exitCode).toBeNull();
    child.kill('SIGTERM');
    const result = await child;
    expect(result.exitCode).toBe(143);
    expect(JSON.parse(result.stdout)).toMatchObject({ sent: 2, stoppedBy: 'interrupt' });
    // `sh -c "a | b"` ended alone would have left the sleep and cat running.
    expect(await sh('pgrep', ['-f', silent]).catch(() => '')).toBe('');
  });

  it('leaves a command the terminal, where it may prompt (ssh asking for a password)', async () => {
    const probe = `if (: < /dev/tty) 2>/dev/null; then echo tty-ok; else echo no-tty; fi`;
    const command = `${BINARY} replay --exec '${probe}' --topic tty --config ${project.file}`;
    await execa('script', ['-q', '-c', command, '/dev/null'], { input: '' });
    expect(await values('tty')).toEqual(['tty-ok']);
  });

  it('ends at --limit at once, however long the command would go on', async () => {
    const started = Date.now();
    const { exitCode, doc } = await replay([
      '--exec',
      'echo 1; echo 2; sleep 100',
      '--topic',
      'limit-now',
      '--limit',
      '2',
    ]);
    expect([exitCode, doc.sent, doc.stoppedBy]).toEqual([0, 2, 'limit']);
    expect(Date.now() - started).toBeLessThan(50_000); // not the command's 100 s
    expect(await values('limit-now')).toEqual(['1', '2']);
  });

  it('measures its progress against what is left after --from, so the ETA ends at zero', async () => {
    const lines = await generate('from.json', 200, 21);
    let last: { bytesDone: number; totalBytes?: number; etaSeconds: (now: number) => number | undefined } | undefined;
    await replayWith({
      config: loadConfig({ file: project.file }),
      source: { path: path('from.json') },
      topic: 'from-progress',
      pace: { kind: 'max' },
      from: 150,
      signal: new AbortController().signal,
      onProgress: (stats) => (last = stats),
    });
    const left = lines.slice(150).reduce((bytes, line) => bytes + Buffer.byteLength(line) + 1, 0);
    expect([last?.bytesDone, last?.totalBytes]).toEqual([left, left]);
    expect(last?.etaSeconds(Date.now())).toBe(0);
  });

  it('loops with timestamps shifted forward each pass, until --limit', async () => {
    writeFileSync(path('loop.json'), '{"t": 100}\n{"t": 102}\n');
    const { doc } = await replay([
      path('loop.json'),
      '--topic',
      'loop',
      '--time-field',
      't',
      '--speed',
      '1000',
      '--loop',
      '--limit',
      '6',
    ]);
    expect(doc).toMatchObject({ sent: 6, passes: 3, stoppedBy: 'limit' });
    // Each pass moves on by the span (2 s) plus the mean gap (2 s).
    expect((await values('loop')).map((v) => (JSON.parse(v) as { t: number }).t)).toEqual([
      100, 102, 104, 106, 108, 110,
    ]);
  });

  it('sends records two a second at --rate 2, on absolute deadlines', async () => {
    const lines = (await generate('rate.json', 10, 9)).slice(0, 10);
    const { exitCode, doc } = await replay([path('rate.json'), '--topic', 'rate2', '--rate', '2']);
    expect(exitCode).toBe(0);
    expect(doc.sent).toBe(10);
    const consumed = await consume('rate2');
    expect(consumed.map((r) => r.value)).toEqual(lines);
    const start = consumed[0]!.timestamp;
    // Record k leaves at k/2 s: each is within 150 ms of its deadline, so nothing drifts.
    consumed.forEach((r, k) => expect(Math.abs(r.timestamp - start - k * 500), `record ${k}`).toBeLessThan(150));
    // The summary's rate is the one a consumer measures: 10 records span 9 gaps of 500 ms.
    const measured = (9 * 1000) / (consumed[9]!.timestamp - start);
    expect(doc.achievedRate).toBeCloseTo(measured, 2);
  });

  it('replays at the pace of the records’ own timestamps', async () => {
    const times = [1_700_000_000, 1_700_000_001, 1_700_000_001, 1_700_000_004, 1_700_000_005];
    writeFileSync(path('events.json'), times.map((t, i) => JSON.stringify({ i, t })).join('\n'));
    const { exitCode } = await replay([path('events.json'), '--topic', 'events', '--time-field', 't', '--speed', '2']);
    expect(exitCode).toBe(0);
    const consumed = await consume('events');
    expect(consumed.map((r) => (JSON.parse(r.value) as { i: number }).i)).toEqual([0, 1, 2, 3, 4]);
    const start = consumed[0]!.timestamp;
    consumed.forEach((r, k) =>
      expect(Math.abs(r.timestamp - start - ((times[k]! - times[0]!) * 1000) / 2)).toBeLessThan(150),
    );
  });

  describe('bad input', () => {
    const lines = ['{"id": 1}', '{"id": 2}', '{"id": 3', '{"id": 4}'];
    beforeAll(() => writeFileSync(path('bad.json'), `${lines.join('\n')}\n`));

    it('stops at a malformed record, naming file:line, after delivering what came before', async () => {
      const { exitCode, doc } = await replay([path('bad.json'), '--topic', 'bad-stop']);
      expect(exitCode).toBe(1);
      expect(doc.error).toMatchObject({ code: 'BAD_RECORD' });
      expect(doc.error!.message).toContain(`${path('bad.json')}:3: invalid JSON`);
      expect(doc.error!.message).toContain('Stopped after delivering 2 records');
      expect(await values('bad-stop')).toEqual(lines.slice(0, 2));
    });

    it('hands the live view its last figures when a bad record stops the replay', async () => {
      const sentSeen: number[] = [];
      const stopped = await replayWith({
        config: loadConfig({ file: project.file }),
        source: { path: path('bad.json') },
        topic: 'bad-progress',
        pace: { kind: 'max' },
        signal: new AbortController().signal,
        onProgress: (stats) => sentSeen.push(stats.sent),
      }).catch((error: unknown) => error as Error);
      expect((stopped as Error).message).toContain('Stopped after delivering 2 records');
      expect(sentSeen.at(-1)).toBe(2); // the last frame a terminal shows
    });

    it('skips and counts with --on-error skip', async () => {
      const { exitCode, doc } = await replay([path('bad.json'), '--topic', 'bad-skip', '--on-error', 'skip']);
      expect(exitCode).toBe(0);
      expect(doc).toMatchObject({ sent: 3, skipped: 1 });
      expect(await values('bad-skip')).toEqual([lines[0], lines[1], lines[3]]);
    });

    it('sends bad records to a dead-letter topic with the reason', async () => {
      const { doc } = await replay([
        path('bad.json'),
        '--topic',
        'bad-dl',
        '--on-error',
        'dead-letter',
        '--dead-letter-topic',
        'bad-dl-errors',
      ]);
      expect(doc).toMatchObject({ sent: 3, deadLettered: 1 });
      const [dead, ...rest] = await consume('bad-dl-errors');
      expect(rest).toEqual([]);
      expect(dead!.value).toBe(lines[2]);
      expect(dead!.headers).toContain('pbx-line=3');
      expect(dead!.headers).toContain('pbx-error=invalid JSON');
    });

    it('refuses a missing or empty file and a record without the key field', async () => {
      const missing = await replay([path('nope.json'), '--topic', 'x']);
      expect([missing.exitCode, missing.doc.error?.code]).toEqual([1, 'SOURCE_NOT_FOUND']);
      writeFileSync(path('empty.json'), '');
      const empty = await replay([path('empty.json'), '--topic', 'x']);
      expect([empty.exitCode, empty.doc.error?.code]).toEqual([1, 'SOURCE_EMPTY']);
      const keyless = await replay([path('bad.json'), '--topic', 'keyless', '--key', 'user.id', '--on-error', 'skip']);
      expect(keyless.doc).toMatchObject({ sent: 0, skipped: 4 });
      writeFileSync(path('nullkey.json'), '{"id": null}\n');
      const nullKey = await replay([path('nullkey.json'), '--topic', 'keyless', '--key', 'id']);
      expect(nullKey.doc.error?.message).toContain('nullkey.json:1: field id is null, which is no key.');
    });

    it('says how to put JSON spread over lines one value per line', async () => {
      writeFileSync(path('pretty.json'), '{\n  "a": 1\n}\n');
      const { exitCode, doc } = await replay([path('pretty.json'), '--topic', 'pretty']);
      expect([exitCode, doc.error?.code]).toEqual([1, 'BAD_RECORD']);
      expect(doc.error?.nextSteps[0]).toContain(`jq -c . ${path('pretty.json')} > one-per-line.json`);
    });

    it('says when --from is past the end of the file, and sends nothing', async () => {
      const past = await replay([path('bad.json'), '--topic', 'from-past', '--from', '5', '--on-error', 'skip']);
      expect([past.exitCode, past.doc.error?.code]).toEqual([2, 'USAGE']);
      expect(past.doc.error?.message).toContain('--from 5 is past the end of');
      expect(past.doc.error?.message).toContain('which holds 4 records');
      const atEnd = await replay([path('bad.json'), '--topic', 'from-past', '--from', '4']);
      expect([atEnd.exitCode, atEnd.doc.sent]).toEqual([0, 0]);
    });

    it('says which broker is unreachable and exits 3', async () => {
      const down = testProject('itreplay-down', `services:\n  kafka: {port: ${DOWN_PORT}, mode: kraft}\n`);
      const { exitCode, doc } = await down.json<{ error: { code: string; message: string } }>([
        'replay',
        path('bad.json'),
        '--topic',
        'x',
      ]);
      expect(exitCode).toBe(3);
      expect(doc.error.code).toBe('KAFKA_UNAVAILABLE');
      expect(doc.error.message).toContain(`127.0.0.1:${DOWN_PORT}`);
    });

    it('says when the command it replays fails, after delivering what it printed', async () => {
      const { exitCode, doc } = await replay(['--exec', 'printf "one\\ntwo\\n"; exit 7', '--topic', 'exec-fails']);
      expect([exitCode, doc.error?.code]).toEqual([1, 'SOURCE_COMMAND_FAILED']);
      expect(doc.error?.message).toContain('exited with code 7');
      expect(doc.error?.message).toContain('Stopped after delivering 2 records');
      expect(await values('exec-fails')).toEqual(['one', 'two']);
    });

    it('stops at gzip data cut short, after delivering every whole line before it', async () => {
      await generate('cut.json', 3000);
      const lines = readFileSync(path('cut.json'), 'utf8').trim().split('\n');
      const whole = gzipSync(readFileSync(path('cut.json')));
      writeFileSync(path('cut.json.gz'), whole.subarray(0, Math.floor(whole.length / 2)));
      const { exitCode, doc } = await replay([path('cut.json.gz'), '--topic', 'cut', '--on-error', 'skip']);
      expect([exitCode, doc.error?.code]).toEqual([1, 'SOURCE_MALFORMED']);
      expect(doc.error?.message).toContain('gzip data is cut short');
      const delivered = await values('cut');
      expect(delivered.length).toBeGreaterThan(0);
      expect(delivered).toEqual(lines.slice(0, delivered.length));
      expect(doc.error?.message).toContain(`Stopped after delivering ${delivered.length} records`);
    });

    it('refuses a checkpoint it cannot write, before sending anything', async () => {
      const { exitCode, doc } = await replay([
        path('bad.json'),
        '--topic',
        'no-checkpoint',
        '--checkpoint',
        path('no-such-dir/x.ckpt'),
      ]);
      expect([exitCode, doc.error?.code]).toEqual([1, 'CHECKPOINT_UNWRITABLE']);
      const { topics } = JSON.parse(await sh('kcat', ['-b', BROKER, '-L', '-J'])) as { topics: { topic: string }[] };
      expect(topics.map((t) => t.topic)).not.toContain('no-checkpoint');
    });

    it('refuses --partitions that an existing topic does not have, and accepts the same count', async () => {
      await generate('parts.json', 5);
      const created = await replay([path('parts.json'), '--topic', 'parts', '--partitions', '3']);
      expect(created.exitCode).toBe(0);
      const other = await replay([path('parts.json'), '--topic', 'parts', '--partitions', '2']);
      expect([other.exitCode, other.doc.error?.code]).toEqual([1, 'TOPIC_PARTITIONS_DIFFER']);
      expect(other.doc.error?.message).toContain('already has 3 partition(s)');
      const same = await replay([path('parts.json'), '--topic', 'parts', '--partitions', '3']);
      expect([same.exitCode, same.doc.sent]).toEqual([0, 5]);
      // Kafka's own refusal, by topic: not "Topic creation errors", exit 3, "check the stack".
      const tooMany = await replay([path('parts.json'), '--topic', 'parts-many', '--partitions', '200000']);
      expect([tooMany.exitCode, tooMany.doc.error?.code]).toEqual([1, 'TOPIC_REFUSED']);
      expect(tooMany.doc.error?.message).toMatch(/refused to create topic parts-many: \w/);
    });

    it('refuses a topic whose name differs from an existing one only by "." and "_", naming it', async () => {
      await generate('dots.json', 2);
      expect((await replay([path('dots.json'), '--topic', 'dots_under'])).exitCode).toBe(0);
      const { exitCode, doc } = await replay([path('dots.json'), '--topic', 'dots.under']);
      expect([exitCode, doc.error?.code]).toEqual([1, 'TOPIC_REFUSED']); // was Kafka's "invalid topic", nothing named
      expect(doc.error?.message).toContain('Topic dots.under would collide with topic dots_under, which exists');
    });

    it('refuses a dead-letter topic that is the topic itself', async () => {
      const same = ['--on-error', 'dead-letter', '--dead-letter-topic', 'x'];
      const { exitCode, doc } = await replay([path('bad.json'), '--topic', 'x', ...same]);
      expect([exitCode, doc.error?.code]).toEqual([2, 'USAGE']);
    });

    it('refuses a dead-letter topic without --on-error dead-letter, and an empty --key (both were ignored)', async () => {
      for (const [args, message] of [
        [['--dead-letter-topic', 'dlq'], '--dead-letter-topic is for --on-error dead-letter, which was not given'],
        [['--key', ''], '--key needs a field'],
      ] as const) {
        const { exitCode, doc } = await replay([path('bad.json'), '--topic', 'ignored', ...args]);
        expect([exitCode, doc.error?.code]).toEqual([2, 'USAGE']);
        expect(doc.error?.message).toContain(message);
      }
      const topics = await sh('kcat', ['-b', BROKER, '-L', '-J']);
      expect(topics).not.toContain('"ignored"');
    });

    it('refuses to loop over stdin, which can be read only once', async () => {
      const { exitCode, doc } = await replay(['-', '--topic', 'x', '--loop']);
      expect([exitCode, doc.error?.code]).toEqual([2, 'USAGE']);
      expect(doc.error?.message).toContain('stdin can be read only once');
    });

    it('refuses a name Kafka would refuse for a topic, before connecting', async () => {
      // Where no Kafka answers: a connection first would end in KAFKA_UNAVAILABLE.
      const down = testProject('itreplay-down', `services:\n  kafka: {port: ${DOWN_PORT}, mode: kraft}\n`);
      const { exitCode, doc } = await down.json<{ error?: { code: string; message: string } }>([
        'replay',
        path('bad.json'),
        '--topic',
        'no spaces',
      ]);
      expect([exitCode, doc.error?.code]).toEqual([2, 'USAGE']);
      expect(doc.error?.message).toContain('--topic no spaces: not a Kafka topic name');
    });

    it("refuses Kafka's own topics, which Kafka refused only as an invalid topic, blamed on the stack", async () => {
      const { exitCode, doc } = await replay([path('bad.json'), '--topic', '__consumer_offsets', '--key', 'a']);
      expect([exitCode, doc.error?.code]).toEqual([2, 'USAGE']);
      expect(doc.error?.message).toContain("--topic __consumer_offsets: Kafka's own topic");
    });

    it('says a file is missing or empty, not that Kafka is down, when both are so', async () => {
      const down = testProject('itreplay-down', `services:\n  kafka: {port: ${DOWN_PORT}, mode: kraft}\n`);
      const missing = await down.json<{ error: { code: string } }>(['replay', path('nope.json'), '--topic', 'x']);
      expect([missing.exitCode, missing.doc.error.code]).toEqual([1, 'SOURCE_NOT_FOUND']);
      writeFileSync(path('empty.json'), '');
      const empty = await down.json<{ error: { code: string } }>(['replay', path('empty.json'), '--topic', 'x']);
      expect([empty.exitCode, empty.doc.error.code]).toEqual([1, 'SOURCE_EMPTY']);
    });

    it.each([
      ['header.csv', 'a,b\n', 'holds a header and no rows'],
      ['empty-array.json', '[]\n', 'holds an empty JSON array'],
      ['blank.json', '\n\n  \n', 'holds blank lines only'],
    ])('says %s holds no records before asking Kafka, which is down', async (name, text, holds) => {
      // It was found empty only at the end of its pass, after connecting: Kafka's error came first.
      const down = testProject('itreplay-down', `services:\n  kafka: {port: ${DOWN_PORT}, mode: kraft}\n`);
      writeFileSync(path(name), text);
      const started = Date.now();
      const { exitCode, doc } = await down.json<{ error: { code: string; message: string } }>([
        'replay',
        path(name),
        '--topic',
        'x',
      ]);
      expect([exitCode, doc.error.code]).toEqual([1, 'SOURCE_EMPTY']);
      expect(doc.error.message).toBe(`${path(name)} ${holds}: there is nothing to replay.`);
      expect(Date.now() - started).toBeLessThan(10_000); // no wait for Kafka's retries
    });
  });

  describe('checkpoints', () => {
    it('resumes a replay stopped by --limit without sending anything twice', async () => {
      const lines = await generate('resume.json', 2500, 11);
      const checkpoint = path('resume.ckpt');
      const first = await replay([
        path('resume.json'),
        '--topic',
        'resume',
        '--limit',
        '1000',
        '--checkpoint',
        checkpoint,
      ]);
      expect(first.doc).toMatchObject({ sent: 1000, nextIndex: 1000, stoppedBy: 'limit' });
      const second = await replay([path('resume.json'), '--topic', 'resume', '--checkpoint', checkpoint]);
      expect(second.doc).toMatchObject({ sent: 1500, recovered: 0, nextIndex: 2500, resumedAfter: 1000 });
      expect(await values('resume')).toEqual(lines);
      // Run again, it says where it resumed and that nothing was left, instead of a bare "Sent 0 records".
      const third = await project.pbx(['replay', path('resume.json'), '--topic', 'resume', '--checkpoint', checkpoint]);
      expect(third.exitCode).toBe(0);
      expect(third.stderr).toContain(
        `Resuming from ${checkpoint}: the first 2500 records of ${path('resume.json')} were done by an earlier run.`,
      );
      expect(third.stdout).toContain(`Nothing was left to send: remove ${checkpoint} to replay`);
      expect(await values('resume')).toEqual(lines);
    });

    for (const [signal, exitCode, name] of [
      ['SIGINT', 130, 'sigint'], // Ctrl-C
      ['SIGTERM', 143, 'sigterm'], // docker stop, systemd, kill
    ] as const) {
      it(`resumes after ${signal}: exit ${exitCode}, what was sent, nothing twice`, async () => {
        const lines = await generate(`${name}.json`, 3000, 12);
        const child = binaryReplay(name, 1000);
        const held = await recordsIn(name, 100, ended(child)); // under way: 3 s in all
        child.kill(signal);
        const stopped = await child;
        expect(stopped.exitCode).toBe(exitCode);
        const sent = Number(/Interrupted after delivering (\d+) record/.exec(stopped.stderr)?.[1]);
        expect(sent).toBeGreaterThanOrEqual(held);
        expect(sent).toBeLessThan(3000);
        expect((await values(name)).length).toBe(sent);
        const resumed = await replay([path(`${name}.json`), '--topic', name, '--checkpoint', path(`${name}.ckpt`)]);
        expect(resumed.doc.sent).toBe(3000 - sent);
        expect(await values(name)).toEqual(lines);
      });
    }

    it('resumes after kill -9, finding what was delivered after the last checkpoint', async () => {
      const lines = await generate('crash.json', 6000, 13);
      await killAheadOfCheckpoint('crash', binaryReplay('crash', 2000));
      const before = (await values('crash')).length;
      const saved = JSON.parse(readFileSync(path('crash.ckpt'), 'utf8')) as { nextIndex: number };
      expect(before).toBeGreaterThan(saved.nextIndex);
      expect(before).toBeLessThan(6000);
      const resumed = await replay([path('crash.json'), '--topic', 'crash', '--checkpoint', path('crash.ckpt')]);
      expect(resumed.exitCode, JSON.stringify(resumed.doc)).toBe(0);
      expect(resumed.doc.recovered).toBe(before - saved.nextIndex);
      expect(resumed.doc.resumedAfter).toBe(saved.nextIndex);
      expect(resumed.doc.sent).toBe(6000 - before);
      expect(await values('crash')).toEqual(lines);
    });

    it('refuses a checkpoint written for another file', async () => {
      await generate('other.json', 10, 14);
      const { exitCode, doc } = await replay([
        path('other.json'),
        '--topic',
        'resume',
        '--checkpoint',
        path('resume.ckpt'),
      ]);
      expect(exitCode).toBe(1);
      expect(doc.error).toMatchObject({ code: 'CHECKPOINT_MISMATCH' });
    });

    it('resumes after kill -9 at 100,000 records a second, finding what was delivered after the last checkpoint', async () => {
      const lines = await generate('fast.json', 200_000, 15);
      await killAheadOfCheckpoint('fast', binaryReplay('fast', 100_000));
      const before = (await values('fast')).length;
      const saved = JSON.parse(readFileSync(path('fast.ckpt'), 'utf8')) as { nextIndex: number };
      expect(before).toBeGreaterThan(saved.nextIndex);
      expect(before).toBeLessThan(200_000);
      const resumed = await replay([path('fast.json'), '--topic', 'fast', '--checkpoint', path('fast.ckpt')]);
      expect(resumed.exitCode, JSON.stringify(resumed.doc)).toBe(0);
      expect(resumed.doc.recovered).toBe(before - saved.nextIndex);
      expect(resumed.doc.sent).toBe(200_000 - before);
      expect(await values('fast')).toEqual(lines);
    });
  });

  it('refuses unkeyed records for a compacted topic before sending, and takes keyed ones', async () => {
    await generate('compact.json', 20, 19);
    await createTopic('compact', 'cleanup.policy=compact');
    const unkeyed = await replay([path('compact.json'), '--topic', 'compact']);
    expect([unkeyed.exitCode, unkeyed.doc.error?.code]).toEqual([2, 'USAGE']);
    expect(unkeyed.doc.error?.message).toContain('Topic compact is compacted');
    expect(await endOffset('compact')).toBe(0); // refused before sending
    const deadLetters = await replay([
      path('compact.json'),
      '--topic',
      'x',
      '--on-error',
      'dead-letter',
      '--dead-letter-topic',
      'compact',
    ]);
    expect(deadLetters.doc.error?.message).toContain('Topic compact is compacted');
    const keyed = await replay([path('compact.json'), '--topic', 'compact', '--key', 'user_id']);
    expect([keyed.exitCode, keyed.doc.sent]).toEqual([0, 20]);
  });

  it('keeps its batches under a topic’s smaller max.message.bytes', async () => {
    const lines = await generate('small.json', 3000, 17);
    // Created by an independent client with a 40 kB limit: pbx's usual 1000 KiB batches would be refused.
    await createTopic('small', 'max.message.bytes=40000');
    const { exitCode, doc } = await replay([path('small.json'), '--topic', 'small', '--rate', 'max']);
    expect(exitCode, JSON.stringify(doc)).toBe(0);
    expect(await values('small')).toEqual(lines);

    // One record over the limit is a bad record, found before it is sent: named by line, after what came before
    // it (exit 1), or skipped with the others.
    writeFileSync(path('huge.json'), `{"n":1}\n{"review":"${'x'.repeat(50_000)}"}\n{"n":3}\n`);
    const huge = await replay([path('huge.json'), '--topic', 'small', '--rate', '1000']);
    expect([huge.exitCode, huge.doc.error?.code]).toEqual([1, 'BAD_RECORD']);
    expect(huge.doc.error?.message).toContain(`${path('huge.json')}:2: the record takes 50`);
    expect(huge.doc.error?.message).toContain('its max.message.bytes, 40000');
    expect(huge.doc.error?.message).toContain('Stopped after delivering 1 record');
    const skipped = await replay([path('huge.json'), '--topic', 'small', '--on-error', 'skip']);
    expect(skipped.doc).toMatchObject({ sent: 2, skipped: 1 });
  });

  it('refuses 3,000 random bytes before sending anything, from a file or stdin (it sent 15 "records")', async () => {
    const noise = randomBytes(3000);
    writeFileSync(path('noise.bin'), noise);
    const fromFile = await replay([path('noise.bin'), '--topic', 'noise']);
    expect([fromFile.exitCode, fromFile.doc.error?.code]).toEqual([1, 'SOURCE_NOT_TEXT']);
    expect(fromFile.doc.error?.message).toMatch(/noise\.bin is not text: it looks like binary data/);
    // Stdin is read once Kafka has answered: still refused before the first send.
    const fromStdin = await execa(BINARY, ['replay', '-', '--topic', 'noise', '--json', '--config', project.file], {
      input: noise,
      reject: false,
    });
    expect([fromStdin.exitCode, JSON.parse(fromStdin.stdout).error.code]).toEqual([1, 'SOURCE_NOT_TEXT']);
    expect(await endOffset('noise')).toBe(0);
    // Asked for by name, its lines are what is sent.
    const lines = await replay([path('noise.bin'), '--topic', 'noise', '--format', 'lines']);
    expect([lines.exitCode, lines.doc.sent]).toEqual([0, expect.any(Number)]);
    expect(await endOffset('noise')).toBe(lines.doc.sent);
  });

  it("lists the topics for shell completion, Kafka's own left out, and nothing where no Kafka answers", async () => {
    const listed = await project.pbx(['completion', 'topics']);
    expect(listed.exitCode).toBe(0);
    expect(listed.stdout.split('\n')).toEqual(expect.arrayContaining(['noise', 'resume']));
    expect(listed.stdout).not.toContain('__consumer_offsets');
    const down = testProject('itreplay-down', `services:\n  kafka: {port: ${DOWN_PORT}, mode: kraft}\n`);
    const started = Date.now();
    const none = await down.pbx(['completion', 'topics']);
    expect([none.exitCode, none.stdout, none.stderr]).toEqual([0, '', '']);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('reads stdin in the binary (which re-executes itself first)', async () => {
    const lines = await generate('stdin.json', 500, 18);
    const result = await execa(
      BINARY,
      ['replay', '-', '--topic', 'stdin', '--rate', 'max', '--json', '--config', project.file],
      { input: readFileSync(path('stdin.json')), reject: false },
    );
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ source: 'stdin', sent: 500 });
    expect(await values('stdin')).toEqual(lines);
  });

  it('reads a named pipe and a shell’s <(cmd), which it called empty', async () => {
    await sh('mkfifo', [path('fifo')]);
    // Its open waits until pbx opens the pipe to read: nothing is there before pbx looks.
    const writer = execa('sh', ['-c', `printf '{"p":1}\\n{"p":2}\\n' > ${path('fifo')}`]);
    const piped = await replay([path('fifo'), '--topic', 'fifo']);
    await writer;
    expect([piped.exitCode, piped.doc.sent]).toEqual([0, 2]);
    // The binary, which re-executes itself for its heap setting, keeps the descriptor <(cmd) gives it.
    const substituted = await execa('bash', [
      '-c',
      `${BINARY} replay <(printf '{"s":1}\\n') --topic substituted --json --config ${project.file}`,
    ]);
    expect(JSON.parse(substituted.stdout)).toMatchObject({ sent: 1 });
    expect(await values('fifo')).toEqual(['{"p":1}', '{"p":2}']);
    expect(await values('substituted')).toEqual(['{"s":1}']);
    // A second pass would wait for a writer that may never come.
    const looped = await replay([path('fifo'), '--topic', 'fifo', '--loop']);
    expect([looped.exitCode, looped.doc.error?.code]).toEqual([2, 'USAGE']);
    expect(looped.doc.error?.message).toContain('is a pipe, which can be read only once');
  });

  it('runs in the binary with the smaller heap setting, passed on to an --exec command', async () => {
    const result = await execa(
      BINARY,
      ['replay', '--exec', 'printenv BUN_JSC_forceRAMSize', '--topic', 'heap', '--config', project.file, '--json'],
      { reject: false },
    );
    expect(result.exitCode, result.stderr).toBe(0);
    expect(await values('heap')).toEqual([String(256 * 1024 * 1024)]);
  });

  describe('faults', () => {
    it('rides out a Kafka restart in the middle of a replay: delivered before it, resent after it, nothing twice', async () => {
      const lines = await generate('restart.json', 30_000, 16);
      // In this process, where the produce requests are seen as they are written to the broker's connections.
      const wire = watchProduceRequests(PORT);
      const stop = new AbortController();
      let finished = false;
      const replaying = replayWith({
        config: loadConfig({ file: project.file }),
        source: { path: path('restart.json') },
        topic: 'restart',
        pace: { kind: 'rate', perSecond: 5000 },
        signal: stop.signal,
      }).finally(() => (finished = true));
      try {
        const before = await recordsIn('restart', 2000, () => (finished ? 'the replay ended' : undefined));
        await sh('docker', ['restart', `pbx-${project.name}-kafka`]);
        const restarted = Date.now(); // what is written from now on goes to the broker's new process
        expect(await replaying).toMatchObject({ sent: 30_000, stoppedBy: 'end' });
        expect(before).toBeLessThan(30_000);
        // A batch is known by its partition and sequence number: written before the restart and again after it,
        // it was resent.
        const firstWritten = new Map<string, number>();
        const resent: number[] = [];
        for (const { partition, baseSequence, at } of wire.writes) {
          const batch = `${partition}:${baseSequence}`;
          const first = firstWritten.get(batch);
          if (first === undefined) firstWritten.set(batch, at);
          else if (first < restarted && at >= restarted) resent.push(baseSequence);
        }
        expect(firstWritten.size, 'produce requests seen').toBeGreaterThan(0);
        expect(resent.length, 'batches written before the restart and again after it').toBeGreaterThan(0);
      } finally {
        wire.stop();
        stop.abort();
        await replaying.catch(() => undefined);
      }
      expect(await values('restart')).toEqual(lines);
    });

    const replayInBackground = (name: string) => binaryReplay(name, 2000, true);
    // Longer than kafkajs's own retries, which gave up after about 8 s: what the test is about, not a guess.
    const OUTAGE_MS = 12_000;

    it('rides out Kafka down for 12 s, longer than kafkajs’s own retries (which gave up after about 8 s)', async () => {
      const lines = await generate('outage.json', 30_000, 22);
      const child = replayInBackground('outage');
      expect(await recordsIn('outage', 1000, ended(child))).toBeLessThan(30_000); // stopped in the middle
      await sh('docker', ['stop', `pbx-${project.name}-kafka`]);
      await sleep(OUTAGE_MS);
      expect(child.exitCode).toBeNull();
      await sh('docker', ['start', `pbx-${project.name}-kafka`]);
      const result = await child;
      expect(result.exitCode, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ sent: 30_000, stoppedBy: 'end' });
      expect(await values('outage')).toEqual(lines);
    });

    it('says why Ctrl-C waits while Kafka is down; a second one stops at once, and the resume sends nothing twice', async () => {
      const lines = await generate('twice.json', 30_000, 24);
      const child = binaryReplay('twice', 2000);
      const stderr = gather(child.stderr);
      await recordsIn('twice', 1000, ended(child));
      await sh('docker', ['stop', `pbx-${project.name}-kafka`]);
      child.kill('SIGINT');
      await waitFor(() => stderr.text().includes('Waiting for Kafka to acknowledge the records in flight'), {
        what: 'the replay to say why the first Ctrl-C waits',
        timeout: 30_000,
        giveUpIf: ended(child),
      });
      expect(child.exitCode).toBeNull(); // still delivering what is in flight
      child.kill('SIGINT');
      const result = await child;
      expect(result.exitCode).toBe(130);
      expect(result.stderr).toContain('Waiting for Kafka to acknowledge the records in flight');
      const delivered = Number(/Stopped at once after delivering (\d+) record/.exec(result.stderr)?.[1]);
      expect(delivered).toBeGreaterThan(0);
      expect((await project.pbx(['up', 'kafka'])).exitCode).toBe(0);
      const resumed = await replay([path('twice.json'), '--topic', 'twice', '--checkpoint', path('twice.ckpt')]);
      expect(resumed.exitCode).toBe(0);
      expect(await values('twice')).toEqual(lines);
    });

    it('gives up on a Kafka that stays down after 30 s with what it delivered, and resumes once it is back', async () => {
      const lines = await generate('down.json', 30_000, 23);
      const child = replayInBackground('down');
      await recordsIn('down', 1000, ended(child));
      await sh('docker', ['stop', `pbx-${project.name}-kafka`]);
      const result = await child;
      const { error } = JSON.parse(result.stdout) as { error: { code: string; message: string } };
      expect([result.exitCode, error.code]).toEqual([3, 'KAFKA_UNAVAILABLE']);
      const delivered = Number(/Delivered before that: (\d+) record/.exec(error.message)?.[1]);
      expect(delivered).toBeGreaterThan(0);
      expect((await project.pbx(['up', 'kafka'])).exitCode).toBe(0);
      // What it delivered is what Kafka acknowledged: a batch the broker wrote as it stopped may have lost its
      // answer (14 records of 1499, once). The resume finds those in Kafka and sends only the rest.
      const held = (await values('down')).length;
      expect(held).toBeGreaterThanOrEqual(delivered);
      const resumed = await replay([path('down.json'), '--topic', 'down', '--checkpoint', path('down.ckpt')]);
      expect(resumed.doc).toMatchObject({ sent: 30_000 - held, recovered: held - delivered, resumedAfter: delivered });
      expect(await values('down')).toEqual(lines);
    });
  });
});
