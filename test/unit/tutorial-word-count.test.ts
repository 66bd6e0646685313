// The word-count tutorial without services: its checks' words (what they expect and find when counts are wrong),
// its solution as a pipeline, and the replay check movie-reviews and redis-cache share with it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSentences } from '../../src/datagen/sentences';
import { loadPipeline } from '../../src/pipelines/load';
import { shapeOf } from '../../src/pipelines/shape';
import { describeAction } from '../../src/tutorials/actions';
import { findTutorial } from '../../src/tutorials/catalog';
import { replayedOnce } from '../../src/tutorials/checks';
import { tutorialFile } from '../../src/tutorials/files';
import type { Services } from '../../src/tutorials/services';
import type { StepContext } from '../../src/tutorials/types';
import { compareWordCounts, countOf, countsProblem, uniqCounts } from '../../src/tutorials/word-count';

const tutorial = findTutorial('word-count')!;
const step = (id: string) => tutorial.steps.find((s) => s.id === id)!;
const made: string[] = [];
const temp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'pbx-word-count-unit-'));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

describe('the last check (word-counts against the check’s own count)', () => {
  const want = countOf('ka lo ka mi ka lo'.split(' '));

  it('passes when the counts of uniq -c, added up over windows, equal the count of the sentences', () => {
    const result = compareWordCounts(want, ['      2 ka', '      2 lo', '      1 mi', '      1 ka']);
    expect(result).toEqual({
      ok: true,
      expected: 'word-counts to count every word as the check counts the sentences (3 words)',
      found: 'word-counts counts all 3 words right (6 in all)',
    });
  });

  it('fails on a wrong count, a missing word and a word not in the sentences, saying which', () => {
    const result = compareWordCounts(want, ['      3 ka', '      4 ka', '      2 lo', '      1 xu']);
    expect(result.ok).toBe(false);
    expect(result.found).toBe(
      'word-counts holds counts for 1 of 3 words; "ka": 7 counted, 3 in the sentences; "mi": 0 counted, 1 in the sentences; 1 more wrong',
    );
    expect(countsProblem(want, countOf(['ka', 'ka', 'ka', 'lo', 'lo', 'mi', 'xu']))).toBe(
      '"xu": 1 counted, not in the sentences',
    );
  });

  it('says an empty topic is empty, and a line that is not a count is not one', () => {
    expect(compareWordCounts(want, []).found).toBe('word-counts is empty');
    expect(compareWordCounts(want, ['ka']).found).toBe('word-counts holds "ka", not a count as uniq -c prints it');
    expect(uniqCounts(['  12 ka', '3 ka']).counts).toEqual(new Map([['ka', 15]]));
  });
});

describe('the word-count steps', () => {
  it('check sentences.json against the generator: missing, cut short, another seed, right', async () => {
    const dir = temp();
    const context = { dir, memo: new Map() } as unknown as StepContext;
    const check = step('generate').check;
    expect((await check(context)).found).toBe(`no sentences.json in ${dir}`);
    const lines = [...generateSentences({ count: 1000, seed: 7 })];
    writeFileSync(join(dir, 'sentences.json'), `${lines.slice(0, 10).join('\n')}\n`);
    expect((await check(context)).found).toBe('sentences.json holds 10 lines, not 1,000 (--count 1000)');
    writeFileSync(join(dir, 'sentences.json'), `${[...generateSentences({ count: 1000, seed: 8 })].join('\n')}\n`);
    expect((await check(context)).found).toMatch(/^sentences.json's line 1 is ".*", --seed 7 gives ".*"$/);
    writeFileSync(join(dir, 'sentences.json'), `${lines.join('\n')}\n`);
    expect(await check(context)).toMatchObject({ ok: true, found: 'sentences.json holds the sentences of --seed 7' });
  });

  it('show the command-line pipeline as the learner types it, quoted for the shell', () => {
    expect(step('count').solution.map(describeAction)).toEqual([
      "$ pbx run --from words --key-by . --window 1d --shell 'sort | uniq -c' --to word-counts --until-end",
    ]);
    expect(step('count').todo[0]).toBe(describeAction(step('count').solution[0]!));
  });

  it('solve the split with a module: its text through tr, to words (the starter writes nowhere yet)', async () => {
    const load = async (from: string) => {
      const dir = temp();
      mkdirSync(join(dir, 'pipelines'));
      writeFileSync(join(dir, 'pipelines/split.ts'), tutorialFile('word-count', from));
      const { spec, file } = await loadPipeline('split', dir);
      return shapeOf(spec, file);
    };
    const solution = await load('solution/pipelines/split.ts');
    expect(solution.steps.map((s) => s.kind)).toEqual(['map', 'shell']);
    expect(solution.sinks).toEqual(['topic words']);
    expect((await load('starters/pipelines/split.ts')).sinks).toEqual([]);
  });
});

describe('replayedOnce (the check of a replayed file, shared by the tutorials)', () => {
  const services = (records: number | undefined) =>
    ({ topicRecords: () => Promise.resolve(records) }) as unknown as Services;
  const options = { topic: 't', total: 780, expected: 'all 780 in t', twice: 'why' };

  it('passes when the topic holds each record once, and says what it holds otherwise', async () => {
    expect(await replayedOnce(services(780), options)).toEqual({
      ok: true,
      expected: 'all 780 in t',
      found: 't holds 780 of 780 records',
    });
    expect((await replayedOnce(services(undefined), options)).found).toBe('t holds 0 of 780 records');
    expect((await replayedOnce(services(1560), options)).found).toBe(
      't holds 1,560 of 780 records: some were sent twice (why)',
    );
  });
});
