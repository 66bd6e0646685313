/**
 * A deterministic text dataset for word counts: one JSON object per line, `{"id":n,"text":"..."}`, the text a
 * sentence of 4–16 lower-case words separated by single spaces (no punctuation: splitting on ' ' gives the words).
 * Words are drawn from a fixed vocabulary with Zipf's law (the word of rank r has a weight of 1/r), so a few words
 * are in most sentences and most words are rare, as in text. Same count and seed → the same bytes.
 */
import { prng } from './reviews';

/** How many distinct words the vocabulary has: the most a word count can hold as state. */
export const VOCABULARY_SIZE = 50_000;

// Two-letter syllables: a word is the bijective base-20 numeral of its rank written in them, so every rank has its
// own word, and the frequent ranks have the short ones.
const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ne',
  'ru',
  'ta',
  'po',
  'si',
  'de',
  'fa',
  'gu',
  'ho',
  'ji',
  'be',
  'zo',
  'wa',
  'ce',
  'vi',
  'xu',
  'ye',
];

/** The word of a rank (0 is the most frequent). */
export function wordOfRank(rank: number): string {
  let word = '';
  for (let n = rank + 1; n > 0; n = Math.floor((n - 1) / SYLLABLES.length))
    word = SYLLABLES[(n - 1) % SYLLABLES.length]! + word;
  return word;
}

/** Cumulative Zipf weights of the vocabulary (s = 1), normalised to end at 1. */
function zipfTable(size: number): Float64Array {
  const table = new Float64Array(size);
  let total = 0;
  for (let r = 0; r < size; r++) table[r] = total += 1 / (r + 1);
  for (let r = 0; r < size; r++) table[r]! /= total;
  return table;
}

/** The first rank whose cumulative weight reaches u (a binary search). */
function rankOf(table: Float64Array, u: number): number {
  let low = 0;
  let high = table.length - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (table[middle]! < u) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The sentences as JSON lines (without newline). */
export function* generateSentences(options: { count: number; seed: number }): Generator<string> {
  const random = prng(options.seed);
  const table = zipfTable(VOCABULARY_SIZE);
  const words = Array.from({ length: VOCABULARY_SIZE }, (_, rank) => wordOfRank(rank));
  for (let id = 0; id < options.count; id++) {
    const length = 4 + Math.floor(random() * 13);
    const sentence: string[] = [];
    for (let i = 0; i < length; i++) sentence.push(words[rankOf(table, random())]!);
    yield JSON.stringify({ id, text: sentence.join(' ') });
  }
}
