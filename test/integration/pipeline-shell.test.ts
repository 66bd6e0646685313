// Shell commands as pipeline operators against a real Kafka: each output checked against a result computed here,
// independently of the command and of pbx's operators.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/cli/errors';
import { pipeline, tumbling, type HasSpec, type KeyedStream, type Stream } from '../../src/pipelines/api';
import { runPipeline, type RunOptions } from '../../src/pipelines/runtime/run';
import { lastByKey, replayGenerated, runLiveThenStop, runOptions } from '../support/pipelines';
import { purge, sh, startStack, testProject } from '../support/stack';
import { readTopic, topicValues, withAdmin } from '../support/topics';
import { rejectionOf, waitFor } from '../support/wait';

const PORT = 29431;
const BROKER = `127.0.0.1:${PORT}`;
const project = testProject('itshell', `services:\n  kafka: {port: ${PORT}, mode: kraft}\n`);
const COUNT = 3000;

interface Sentence {
  id: number;
  text: string;
}
let sentences: Sentence[];
let words: string[];

/** Replays a generated file of sentences into `topic` (3 partitions, keyed by id). */
const replaySentences = (file: string, count: number, seed: number, topic: string) =>
  replayGenerated<Sentence>(project, { kind: 'sentences', file, count, seed, topic, key: 'id' });

beforeAll(async () => {
  await startStack(project, 'kafka');
  sentences = await replaySentences(join(project.dir, 'sentences.json'), COUNT, 5, 'sentences');
  words = sentences.flatMap((s) => s.text.split(' '));
}, 300_000);
afterAll(() => purge(project.name));

const options = (built: HasSpec, extra: Partial<RunOptions> = {}) => runOptions(project, built, extra);
const values = (topic: string) => topicValues(BROKER, topic);

/** Word → count, from `uniq -c`'s lines ("   12 word"), added up over the lines of a word. */
function uniqCounts(lines: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) {
    const [count, word] = line.trim().split(/\s+/);
    counts.set(word!, (counts.get(word!) ?? 0) + Number(count));
  }
  return counts;
}
function countOf(list: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const w of list) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

describe('shell per batch', () => {
  it('splits sentences into words with tr, as a split done here does', async () => {
    const spec = pipeline('itsplit')
      .from('sentences')
      .map((s: Sentence) => s.text)
      .shell("tr ' ' '\\n'")
      .to('split-words');
    const summary = await runPipeline(options(spec));
    expect(summary.records).toBe(COUNT);
    expect((await values('split-words')).sort()).toEqual([...words].sort());
  });

  it('takes the exit codes it is told are success: grep with [0, 1] that matches nothing, or some', async () => {
    const none = pipeline('itgrepnone')
      .from('sentences')
      .map((s: Sentence) => s.text)
      .shell('grep zzzzzz', { okExitCodes: [0, 1] })
      .to('grep-none');
    expect((await runPipeline(options(none))).records).toBe(COUNT);
    expect(await values('grep-none')).toEqual([]);
    const some = pipeline('itgrepsome')
      .from('sentences')
      .map((s: Sentence) => s.text)
      .shell("grep -w 'ka'", { okExitCodes: [0, 1] })
      .to('grep-some');
    await runPipeline(options(some));
    const expected = sentences.map((s) => s.text).filter((t) => t.split(' ').includes('ka'));
    expect(expected.length).toBeGreaterThan(0);
    expect((await values('grep-some')).sort()).toEqual(expected.sort());
  });
});

describe('shell failures', () => {
  const failing = (name: string, command = 'echo "no good" >&2; exit 3', okExitCodes?: number[]) =>
    pipeline(name)
      .from('sentences')
      .map((s: Sentence) => s.text)
      .shell(command, okExitCodes ? { okExitCodes } : {})
      .to(`${name}-out`);

  it('--on-error stop names the command, its exit, its stderr and the batch, and commits nothing of it', async () => {
    const error = await rejectionOf(runPipeline(options(failing('itstop'))));
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).code).toBe('RECORD_FAILED');
    const message = (error as Error).message;
    expect(message).toContain('exited with code 3');
    expect(message).toContain('no good');
    expect(message).toMatch(/Batch sentences\/\d offsets \d+–\d+/);
    expect(await values('itstop-out')).toEqual([]);
    const committed = await withAdmin(BROKER, (admin) =>
      admin.fetchOffsets({ groupId: 'pbx-itstop', topics: ['sentences'] }),
    );
    // Partitions done before the failing one may be committed (their batches failed too: none is).
    for (const p of committed[0]!.partitions) expect(p.offset).toBe('-1');
  });

  it('grep that matches nothing without [0, 1] fails the batch', async () => {
    const error = await rejectionOf(runPipeline(options(failing('itgrepstop', 'grep zzzzzz'))));
    expect((error as Error).message).toContain('exited with code 1');
  });

  it('--on-error skip skips every record of a failed batch and goes on', async () => {
    const summary = await runPipeline(options(failing('itskip'), { onError: 'skip' }));
    expect(summary.records).toBe(COUNT);
    expect(summary.errors).toBe(COUNT);
    expect(await values('itskip-out')).toEqual([]);
  });

  it('--on-error dead-letter keeps every record of a failed batch aside, with the stderr tail and the batch', async () => {
    const summary = await runPipeline(
      options(failing('itdead'), { onError: 'dead-letter', deadLetterTopic: 'itdead-letters' }),
    );
    expect(summary.deadLetters).toBe(COUNT);
    const letters = await readTopic(BROKER, 'itdead-letters');
    expect(letters.length).toBe(COUNT);
    expect(letters.map((l) => (JSON.parse(l.value) as Sentence).id).sort((a, b) => a - b)).toEqual(
      sentences.map((s) => s.id).sort((a, b) => a - b),
    );
    expect(letters[0]!.headers['pbx-error']).toContain('no good');
    expect(letters[0]!.headers['pbx-error']).toMatch(/batch sentences\/\d offsets \d+–\d+/);
  });
});

describe('shell long-running', () => {
  it('feeds one process batch by batch, its output awaited up to the marker', async () => {
    const spec = pipeline('itlong')
      .from('sentences')
      .map((s: Sentence) => s.text)
      .shell("sed -u 's/ /\\n/g'", { mode: 'long-running' })
      .to('long-words');
    expect((await runPipeline(options(spec))).records).toBe(COUNT);
    expect((await values('long-words')).sort()).toEqual([...words].sort());
  });
});

describe('shell per key partition', () => {
  it('after keyBy, runs one process per repartition partition: every record of a key meets the same one', async () => {
    // Each line comes back behind the pid of the shell that read it; the marker as it is.
    const echo = 'while IFS= read -r l; do if [ "$l" = pbx:batch-end ]; then echo "$l"; else echo "$$ $l"; fi; done';
    const spec = pipeline('itkeyed')
      .from('sentences')
      .flatMap((s: Sentence) => s.text.split(' '))
      .keyBy((w: string) => w)
      .shell(echo, { mode: 'long-running' })
      .to('keyed-words');
    await runPipeline(options(spec));
    const got = await values('keyed-words');
    const pids = new Map<string, Set<string>>();
    for (const line of got) {
      const [pid, word] = line.split(' ');
      pids.set(word!, (pids.get(word!) ?? new Set()).add(pid!));
    }
    expect(countOf(got.map((l) => l.split(' ')[1]!))).toEqual(countOf(words));
    for (const [word, seen] of pids) expect(seen.size, word).toBe(1);
    expect(new Set(got.map((l) => l.split(' ')[0])).size).toBeLessThanOrEqual(3);
  });

  it('counts per batch of a key partition add up to a count done here', async () => {
    const spec = pipeline('itkeyedcount')
      .from('sentences')
      .flatMap((s: Sentence) => s.text.split(' '))
      .keyBy((w: string) => w)
      .shell('sort | uniq -c')
      .to('keyed-counts');
    await runPipeline(options(spec));
    expect(uniqCounts(await values('keyed-counts'))).toEqual(countOf(words));
  });
});

describe('shell after an aggregate', () => {
  it("runs over the aggregate's results in stage B, its outputs keyed by options.key", async () => {
    const spec = pipeline('itaftercount')
      .from('sentences')
      .flatMap((s: Sentence) => s.text.split(' '))
      .keyBy((w: string) => w)
      .count()
      .shell('cat', { key: 'key' })
      .to('after-count');
    await runPipeline(options(spec));
    expect(await lastByKey(BROKER, 'after-count', 'count')).toEqual(countOf(words));
  });
});

describe('shell over windows', () => {
  it("feeds a window's records per key partition when it closes: sort | uniq -c per day equals a count done here", async () => {
    const spec = pipeline('itwindow')
      // Event time one second per sentence id: every sentence on the first day of 1970.
      .from('sentences', { time: (s: Sentence) => s.id * 1000 })
      .flatMap((s: Sentence) => s.text.split(' '))
      .keyBy((w: string) => w)
      .window(tumbling('1d'))
      .shell('sort | uniq -c')
      .to('window-counts');
    await runPipeline(options(spec));
    const lines = await values('window-counts');
    const counts = uniqCounts(lines);
    expect(counts).toEqual(countOf(words));
    // One line per word: a word's records are all in one partition's window, fed at once.
    expect(lines.length).toBe(counts.size);
  });
});

describe('shell over windows, restarted', () => {
  it("restores a window's records from the changelog: a live run stopped, then --until-end, counts as here", async () => {
    const build = () =>
      pipeline('itwindowlive')
        .from('sentences', { time: (s: Sentence) => s.id * 1000 })
        .flatMap((s: Sentence) => s.text.split(' '))
        .keyBy((w: string) => w)
        .window(tumbling('1d'))
        .shell('sort | uniq -c')
        .to('window-live-counts');
    await runLiveThenStop(options(build()), COUNT, 'sentence');
    // The day is still open: nothing was fed to the command yet.
    expect(await values('window-live-counts')).toEqual([]);
    const summary = await runPipeline(options(build()));
    expect(summary.records).toBe(0);
    expect(uniqCounts(await values('window-live-counts'))).toEqual(countOf(words));
  });
});

describe('shell after keyBy() over a topic partitioned by its key (sentences replayed with --key id)', () => {
  // keyBy() keeps each word under its sentence's Kafka key: a key partition is a source partition, so a word's
  // records may meet up to 3 processes, and the lines of a word add up to its count.
  const byKey = (name: string, output: string, keyed: (words: KeyedStream<string>) => Stream<unknown>) =>
    keyed(
      pipeline(name)
        .from('sentences', { time: (s: Sentence) => s.id * 1000 })
        .flatMap((s: Sentence) => s.text.split(' '))
        .keyBy(),
    ).to(output);
  const overDays = (words: KeyedStream<string>) => words.window(tumbling('1d')).shell('sort | uniq -c');

  it('counts per batch of a source partition add up to a count done here, with no repartition topic', async () => {
    const summary = await runPipeline(
      options(byKey('itbykeyshell', 'by-key-shell-counts', (w) => w.shell('sort | uniq -c'))),
    );
    expect(summary.records).toBe(COUNT);
    expect(uniqCounts(await values('by-key-shell-counts'))).toEqual(countOf(words));
    const names = await withAdmin(BROKER, async (admin) =>
      (await admin.fetchTopicMetadata()).topics.map((t) => t.name),
    );
    expect(names).not.toContain('pbx-itbykeyshell-repartition');
  });

  it("feeds a day's window per source partition when it closes: the lines add up to a count done here", async () => {
    await runPipeline(options(byKey('itbykeywindow', 'by-key-window-counts', overDays)));
    const lines = await values('by-key-window-counts');
    expect(uniqCounts(lines)).toEqual(countOf(words));
    // One line per word and partition: a partition's window is fed at once, when the end closes it.
    expect(lines.length).toBeLessThanOrEqual(3 * countOf(words).size);
  });

  it('a live run stopped with the day open, then --until-end: the window restored from the changelog and closed at the end', async () => {
    const build = () => byKey('itbykeywindowlive', 'by-key-window-live-counts', overDays);
    await runLiveThenStop(options(build()), COUNT, 'sentence');
    expect(await values('by-key-window-live-counts')).toEqual([]);
    const summary = await runPipeline(options(build()));
    expect(summary.records).toBe(0);
    expect(uniqCounts(await values('by-key-window-live-counts'))).toEqual(countOf(words));
  });
});

describe('shell long-running, pbx killed with -9', () => {
  const TOKEN = 'pbx-shell-crash-token';
  const BIG = 60_000;
  let big: Sentence[];

  beforeAll(async () => {
    big = await replaySentences(join(project.dir, 'big.json'), BIG, 9, 'big');
    mkdirSync(join(project.dir, 'pipelines'), { recursive: true });
    // sed -u answers each line at once, so the marker comes back; the -e with the token names its processes.
    writeFileSync(
      join(project.dir, 'pipelines', 'long-split.ts'),
      `import { pipeline } from 'pbx';
export default pipeline('long-split')
  .from('big')
  .map((s) => s.text)
  .shell("sed -u -e 's/ /\\\\n/g' -e '/${TOKEN}/d'", { mode: 'long-running' })
  .to('big-words');
`,
    );
  }, 300_000);

  const run = () => project.binary(['run', 'long-split', '--until-end', '--json']);
  const leftover = () =>
    sh('pgrep', ['-f', TOKEN]).then(
      (out) => out.split('\n').filter(Boolean),
      () => [],
    );

  it('resumes with output equal to a recomputation, and leaves no process behind', async () => {
    const expected = big.flatMap((s) => s.text.split(' '));
    // Killed while its commands work on the input (a fetch holds it all: one transaction, left open), twice: each
    // next run fences the last one's transaction and starts over from the committed offsets.
    for (let round = 0; round < 2; round++) {
      const child = run();
      await waitFor(async () => (await leftover()).length > 0 || child.exitCode !== null, {
        timeout: 120_000,
        what: 'the run’s commands to start',
      });
      expect(child.exitCode, 'the run ended before it could be killed: give it more input').toBeNull();
      child.kill('SIGKILL');
      await child.catch(() => undefined);
      await waitFor(leftover, {
        what: 'the killed run’s commands to end',
        timeout: 10_000,
        until: (l) => l.length === 0,
      });
    }
    const last = await run();
    expect(last.exitCode, String(last.stdout) + String(last.stderr)).toBe(0);
    expect(await leftover()).toEqual([]);
    const got = await values('big-words');
    expect(got.length).toBe(expected.length);
    expect(got.sort()).toEqual(expected.sort());
  });
});
