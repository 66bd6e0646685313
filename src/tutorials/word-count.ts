// word-count (after shellstreaming): generated sentences replayed into Kafka, split into words by `tr` in a pipeline
// module, and counted by `sort | uniq -c` per key partition and window in a pipeline written on the command line.
// The checks read the topics back (read_committed) and count the sentences' words themselves, with no shell and no
// pipeline of pbx's: the last one compares that count with every count the pipeline wrote.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSentences } from '../datagen/sentences';
import { pbxCommandLine } from './actions';
import { count, plural, replayedOnce } from './checks';
import type { CheckResult, StepContext, Tutorial } from './types';

const SENTENCES = 1000;
const SEED = 7;
const TOPICS = ['sentences', 'words', 'word-counts'] as const;
const GENERATE = ['data', 'gen', 'sentences', '--count', String(SENTENCES), '--seed', String(SEED)];
const COUNT = [
  ...['run', '--from', 'words', '--key-by', '.', '--window', '1d', '--shell', 'sort | uniq -c'],
  ...['--to', 'word-counts', '--until-end'],
];
/** More than any partition of the tutorial's topics holds: read them whole. */
const WHOLE = 10_000_000;

/** A line of sentences.json. */
interface Sentence {
  text: string;
}

let generated: string | undefined;
/** sentences.json as `pbx data gen sentences --count 1000 --seed 7` writes it. */
const sentencesFile = () => (generated ??= `${[...generateSentences({ count: SENTENCES, seed: SEED })].join('\n')}\n`);

/** How many times each item comes. */
export function countOf(items: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

/** A topic's values as text (read_committed); undefined when there is no such topic. */
async function topicValues({ services }: StepContext, topic: string): Promise<string[] | undefined> {
  if ((await services.topicRecords(topic)) === undefined) return undefined;
  return (await services.readRecords(topic, WHOLE)).map((m) => m.value?.toString() ?? '');
}

/** The words of the sentences in the topic sentences, split here; read again only when the topic has grown. */
async function sentenceWords(context: StepContext): Promise<string[]> {
  const key = `words of ${(await context.services.topicRecords('sentences')) ?? 0} sentences`;
  let words = context.memo.get(key) as string[] | undefined;
  if (!words) {
    words = ((await topicValues(context, 'sentences')) ?? []).flatMap((value) => {
      try {
        return (JSON.parse(value) as Sentence).text.split(' ');
      } catch {
        return [];
      }
    });
    context.memo.set(key, words);
  }
  return words;
}

/** A value in a finding: quoted, cut short. */
const quote = (text: string) => `"${text.length > 40 ? `${text.slice(0, 40)}…` : text}"`;

async function stackCheck({ services }: StepContext): Promise<CheckResult> {
  const expected = `Kafka with the topics ${TOPICS.join(', ')}`;
  const missing: string[] = [];
  for (const topic of TOPICS) if ((await services.topicRecords(topic)) === undefined) missing.push(topic);
  if (missing.length > 0) return { ok: false, expected, found: `Kafka answers but has no topic ${missing.join(', ')}` };
  return { ok: true, expected, found: `Kafka has ${TOPICS.join(', ')}` };
}

function generateCheck({ dir }: StepContext): Promise<CheckResult> {
  const expected = `sentences.json with the ${count(SENTENCES)} sentences of --seed ${SEED}`;
  let text: string;
  try {
    text = readFileSync(join(dir, 'sentences.json'), 'utf8');
  } catch {
    return Promise.resolve({ ok: false, expected, found: `no sentences.json in ${dir}` });
  }
  const want = sentencesFile();
  if (text === want)
    return Promise.resolve({ ok: true, expected, found: `sentences.json holds the sentences of --seed ${SEED}` });
  const lines = text.trimEnd().split('\n');
  const wanted = want.trimEnd().split('\n');
  const at = wanted.findIndex((line, i) => lines[i] !== line);
  const found =
    lines.length !== SENTENCES
      ? `sentences.json holds ${plural(lines.length, 'line')}, not ${count(SENTENCES)} (--count ${SENTENCES})`
      : `sentences.json's line ${at + 1} is ${quote(lines[at] ?? '')}, --seed ${SEED} gives ${quote(wanted[at]!)}`;
  return Promise.resolve({ ok: false, expected, found });
}

const replayCheck = ({ services }: StepContext) =>
  replayedOnce(services, {
    topic: 'sentences',
    total: SENTENCES,
    expected: `all ${count(SENTENCES)} sentences of sentences.json in the topic sentences, each once`,
    twice: 'a second replay sends every sentence again',
  });

async function splitCheck(context: StepContext): Promise<CheckResult> {
  const want = await sentenceWords(context);
  const expected = `each word of the sentences as a record of words (${count(want.length)} words)`;
  if (want.length === 0) return { ok: false, expected, found: 'the topic sentences is empty: replay them first' };
  const got = (await topicValues(context, 'words')) ?? [];
  const wanted = countOf(want);
  const stranger = got.find((word) => !wanted.has(word));
  if (stranger !== undefined) {
    const why = stranger.includes('"text"') ? ': .map each sentence to its text before the command' : '';
    const found = `words holds ${plural(got.length, 'record')}, one of them ${quote(stranger)}, not a word${why}`;
    return { ok: false, expected, found };
  }
  const problem = countsProblem(wanted, countOf(got));
  const found = `words holds ${count(got.length)} of the ${count(want.length)} words of the sentences`;
  return { ok: problem === undefined, expected, found: problem === undefined ? found : `${found}; ${problem}` };
}

/** Counts as `uniq -c` prints them ("    412 ka"), added up per word (a word's count may come in several windows). */
export function uniqCounts(lines: string[]): { counts: Map<string, number>; bad?: string } {
  const counts = new Map<string, number>();
  for (const line of lines) {
    const [, n, word] = /^\s*(\d+) (\S+)$/.exec(line) ?? [];
    if (word === undefined) return { counts, bad: line };
    counts.set(word, (counts.get(word) ?? 0) + Number(n));
  }
  return { counts };
}

/** What is wrong with counts `got` against `want`, the first two of it in words; undefined when they are equal. */
export function countsProblem(want: Map<string, number>, got: Map<string, number>): string | undefined {
  const wrong = [...new Set([...want.keys(), ...got.keys()])].filter((w) => want.get(w) !== got.get(w));
  if (wrong.length === 0) return undefined;
  const say = (w: string) =>
    `${quote(w)}: ${got.get(w) ?? 0} counted, ${want.has(w) ? `${want.get(w)} in the sentences` : 'not in the sentences'}`;
  const more = wrong.length > 2 ? `; ${count(wrong.length - 2)} more wrong` : '';
  return `${wrong.slice(0, 2).map(say).join('; ')}${more}`;
}

/** The last check: word-counts against the check's own count of the sentences' words. */
export function compareWordCounts(want: Map<string, number>, lines: string[]): CheckResult {
  const expected = `word-counts to count every word as the check counts the sentences (${plural(want.size, 'word')})`;
  if (lines.length === 0) return { ok: false, expected, found: 'word-counts is empty' };
  const { counts, bad } = uniqCounts(lines);
  if (bad !== undefined)
    return { ok: false, expected, found: `word-counts holds ${quote(bad)}, not a count as uniq -c prints it` };
  const problem = countsProblem(want, counts);
  if (problem === undefined) {
    const words = [...want.values()].reduce((a, b) => a + b, 0);
    return {
      ok: true,
      expected,
      found: `word-counts counts all ${count(want.size)} words right (${count(words)} in all)`,
    };
  }
  const right = [...want].filter(([word, n]) => counts.get(word) === n).length;
  return {
    ok: false,
    expected,
    found: `word-counts holds counts for ${count(right)} of ${plural(want.size, 'word')}; ${problem}`,
  };
}

async function countCheck(context: StepContext): Promise<CheckResult> {
  const want = countOf(await sentenceWords(context));
  if (want.size === 0) return compareWordCounts(want, []);
  return compareWordCounts(want, (await topicValues(context, 'word-counts')) ?? []);
}

export const wordCount: Tutorial = {
  name: 'word-count',
  title: 'Word count with shell operators',
  after: 'shellstreaming',
  summary: 'Sentences split by `tr` in a pipeline module, counted by `sort | uniq -c` on the command line.',
  minutes: 15,
  projectFiles: ['pbx.yaml', 'README.md'],
  steps: [
    {
      id: 'stack',
      title: 'Kafka alone',
      teaches:
        'A word count needs a stream and nothing else: pbx.yaml runs Kafka in KRaft mode (no ZooKeeper), and its profile `default`, what `pbx up` starts, is Kafka alone. `pbx up` returns once a record has made the round trip, then creates the topics sentences, words and word-counts.',
      todo: ['$ pbx up', 'then `pbx status` shows what runs'],
      expects: `Kafka with the topics ${TOPICS.join(', ')}`,
      check: stackCheck,
      hint: 'Run `pbx up` in this directory, where pbx.yaml is.',
      solution: [{ kind: 'run', argv: ['up'] }],
      solveTimeoutMs: 60_000,
    },
    {
      id: 'generate',
      title: 'Sentences to count',
      teaches:
        "shellstreaming's examples read random text. `pbx data gen sentences` writes sentences of 4 to 16 words drawn as in real text (a few words in most sentences, most words rare), and the same --count and --seed always give the same bytes: the check makes them too and compares.",
      todo: [`$ ${pbxCommandLine([...GENERATE, '--out', 'sentences.json'])}`, 'then look: `head -3 sentences.json`'],
      expects: `sentences.json with the ${count(SENTENCES)} sentences of --seed ${SEED}`,
      check: generateCheck,
      hint: `Give it --count ${SENTENCES} --seed ${SEED} and --out sentences.json, in this directory.`,
      solution: [{ kind: 'run', argv: [...GENERATE, '--out', 'sentences.json'] }],
    },
    {
      id: 'replay',
      title: 'The sentences into Kafka',
      teaches:
        '`pbx replay` sends a file’s lines as records; `--rate max` as fast as Kafka takes them. With no --key the records spread over the 3 partitions of sentences, so three workers could split them later.',
      todo: ['$ pbx replay sentences.json --topic sentences --rate max'],
      expects: `all ${count(SENTENCES)} sentences in the topic sentences, each once`,
      check: replayCheck,
      hint: 'Replay it once: a second replay sends every sentence again (then `pbx down --volumes`, `pbx up` and start this step over).',
      solution: [{ kind: 'run', argv: ['replay', 'sentences.json', '--topic', 'sentences', '--rate', 'max'] }],
    },
    {
      id: 'split',
      title: 'A shell command as an operator',
      teaches:
        "`.shell(command)` runs a command over each batch of records: a fresh process gets the batch on its stdin, one record a line, and every line it prints becomes a record. Its output and the batch's offsets commit in one Kafka transaction, so a run stopped at any moment goes on with no word lost or written twice. A command that fails stops the run with its stderr (grep's exit 1 is success only when declared: `okExitCodes: [0, 1]`).",
      todo: ['write pipelines/split.ts (the file is there, with a TODO)', '$ pbx run split --until-end'],
      starters: { 'pipelines/split.ts': 'starters/pipelines/split.ts' },
      expects: 'each word of the sentences as a record of words',
      check: splitCheck,
      hint: ".map((sentence) => sentence.text) → .shell(\"tr ' ' '\\\\n'\") → .to('words'). `pbx run split --check` shows the stages without running; `pbx run --from words --until-end | head` shows the words.",
      solution: [
        { kind: 'write', path: 'pipelines/split.ts', from: 'solution/pipelines/split.ts' },
        { kind: 'run', argv: ['run', 'split', '--until-end'] },
      ],
    },
    {
      id: 'count',
      title: 'Counted on the command line',
      teaches:
        "A pipeline can be written on the command line, run by the same runtime: `--key-by .` keys each word by itself, so every occurrence of a word meets in one key partition; `--window 1d` gathers a day of them (by their time in Kafka); the `--shell` after it runs once per key partition and window, so `sort | uniq -c` sees all of a word's occurrences and prints its count. `--until-end` closes the window once every word is read. The check counts the sentences' words itself and compares.",
      todo: [
        `$ ${pbxCommandLine(COUNT)}`,
        'then the most frequent: `pbx run --from word-counts --until-end | sort -rn | head`',
      ],
      expects: 'word-counts to count every word as the check counts the sentences',
      check: countCheck,
      hint: 'Without --until-end the day’s window stays open and word-counts stays empty. Each line of word-counts is what uniq -c printed ("    412 ka"); a word counted in two windows has two lines, which the check adds up. Counts an earlier command wrote stay in word-counts: to start over, `pbx down --volumes`, `pbx up` and the steps again.',
      solution: [{ kind: 'run', argv: COUNT }],
    },
  ],
};
