import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError, UserError } from '../../src/cli/errors';
import { loadConfig } from '../../src/config/load';
import { checkReplay, planReplay, type ReplayOptions } from '../../src/replay/plan';

const dir = mkdtempSync(join(tmpdir(), 'pbx-plan-'));
const dataset = join(dir, 'reviews.json');
writeFileSync(dataset, '{"id": 1}\n');
const config = loadConfig({ cwd: dir });

type Options = Omit<ReplayOptions, 'signal'>;
const base: Options = { config, source: { path: dataset }, topic: 'reviews', pace: { kind: 'max' } };
const refusal = (change: Partial<Options>): unknown => {
  try {
    checkReplay({ ...base, ...change });
  } catch (error) {
    return error;
  }
  return undefined;
};

describe('checkReplay', () => {
  it.each<[string, Partial<Options>, string]>([
    ['a file and --exec', { source: { path: dataset, exec: 'true' } }, 'Give a file or --exec, not both.'],
    [
      'neither a file nor --exec',
      { source: {} },
      'Missing the dataset: give a file, - for stdin, or --exec "command".',
    ],
    [
      'a topic name Kafka refuses',
      { topic: 'a b' },
      '--topic a b: not a Kafka topic name (up to 249 letters, digits, ".", "_" and "-").',
    ],
    [
      "Kafka's own topic",
      { topic: '__consumer_offsets' },
      "--topic __consumer_offsets: Kafka's own topic (consumer groups' offsets or transactions), not one for data.",
    ],
    [
      'a dead-letter topic name Kafka refuses',
      { onError: 'dead-letter', deadLetterTopic: 'bad/letters' },
      '--dead-letter-topic bad/letters: not a Kafka topic name',
    ],
    ['dead letters with no topic', { onError: 'dead-letter' }, '--on-error dead-letter needs --dead-letter-topic.'],
    [
      'a dead-letter topic with no dead letters',
      { deadLetterTopic: 'errors' },
      '--dead-letter-topic is for --on-error dead-letter, which was not given (bad records would stop).',
    ],
    [
      'a dead-letter topic with --on-error skip',
      { deadLetterTopic: 'errors', onError: 'skip' },
      '(bad records would skip).',
    ],
    ['an empty --key', { key: ' ' }, '--key needs a field (a dotted path), got "".'],
    [
      'dead letters into the records’ topic',
      { onError: 'dead-letter', deadLetterTopic: 'reviews' },
      '--dead-letter-topic must not be --topic: bad records would land among the good ones.',
    ],
    [
      '--loop over stdin',
      { source: { path: '-' }, loop: true },
      '--loop needs a file or --exec: stdin can be read only once.',
    ],
    [
      '--loop over a pipe or a device',
      { source: { path: '/dev/null' }, loop: true },
      '--loop needs a file or --exec: /dev/null is a pipe, which can be read only once.',
    ],
    [
      '--key with plain lines',
      { source: { path: dataset, format: 'lines' }, key: 'id' },
      '--key needs structured records (JSON or CSV), not plain lines.',
    ],
  ])('refuses %s as a usage error', (_, change, message) => {
    const error = refusal(change);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain(message);
  });

  it('says the first of several problems, in the order the user reads the flags', () => {
    const error = refusal({ source: {}, topic: 'a b', key: '' });
    expect((error as Error).message).toMatch(/^Missing the dataset/);
  });

  it('takes --loop over a file or a command', () => {
    expect(refusal({ loop: true })).toBeUndefined();
    expect(refusal({ source: { exec: 'seq 3' }, loop: true })).toBeUndefined();
  });

  it('resolves what the stages need, as data', () => {
    const plan = checkReplay({
      ...base,
      key: 'id',
      headers: { origin: 'test' },
      onError: 'dead-letter',
      deadLetterTopic: 'errors',
      source: { path: dataset, signal: new AbortController().signal },
    });
    expect(plan).toMatchObject({
      source: { path: dataset, checkOnly: false },
      opensBeforeKafka: true,
      topics: ['reviews', 'errors'],
      unkeyedTopics: ['errors'], // dead letters carry no key
      headers: [['origin', 'test']],
      loop: false,
      onError: 'dead-letter',
    });
    expect(plan.source).not.toHaveProperty('signal'); // the run's own
  });

  it('only checks NDJSON lines when no field is read (no key, no time field)', () => {
    expect(checkReplay(base).source.checkOnly).toBe(true);
    expect(checkReplay({ ...base, pace: { kind: 'rate', perSecond: 5 } }).source.checkOnly).toBe(true);
    expect(checkReplay({ ...base, pace: { kind: 'event-time', field: 't', speed: 1 } }).source.checkOnly).toBe(false);
    expect(checkReplay({ ...base, key: 'id' }).source.checkOnly).toBe(false);
  });

  it('opens a file before Kafka is asked, but not stdin or a command', () => {
    expect(checkReplay(base)).toMatchObject({ opensBeforeKafka: true, unkeyedTopics: ['reviews'], onError: 'stop' });
    expect(checkReplay({ ...base, source: { path: '-' } }).opensBeforeKafka).toBe(false);
    expect(checkReplay({ ...base, source: { exec: 'seq 3' } }).opensBeforeKafka).toBe(false);
  });
});

describe('planReplay', () => {
  it('refuses a checkpoint in a directory it cannot write to, before anything is opened', async () => {
    const error = await planReplay({ ...base, checkpoint: join(dir, 'nowhere', 'run.ckpt') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect(error).toMatchObject({ code: 'CHECKPOINT_UNWRITABLE' });
    expect((error as Error).message).toContain(`Cannot write checkpoint ${join(dir, 'nowhere', 'run.ckpt')}`);
  });

  it.skipIf(process.getuid?.() === 0)('refuses a checkpoint in a read-only directory', async () => {
    const readOnly = join(dir, 'read-only');
    mkdirSync(readOnly);
    chmodSync(readOnly, 0o500);
    await expect(planReplay({ ...base, checkpoint: join(readOnly, 'run.ckpt') })).rejects.toMatchObject({
      code: 'CHECKPOINT_UNWRITABLE',
    });
  });

  it('takes a checkpoint in a writable directory', async () => {
    const plan = await planReplay({ ...base, checkpoint: join(dir, 'run.ckpt') });
    expect(plan.checkpoint).toBe(join(dir, 'run.ckpt'));
  });
});
