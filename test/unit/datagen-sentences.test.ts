import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { VOCABULARY_SIZE, generateSentences, wordOfRank } from '../../src/datagen/sentences';

interface Sentence {
  id: number;
  text: string;
}

const sentences = (count: number, seed: number): Sentence[] =>
  [...generateSentences({ count, seed })].map((line) => JSON.parse(line) as Sentence);

describe('generateSentences', () => {
  it('gives the same bytes for the same count and seed, and other bytes for another seed', () => {
    const digest = (seed: number) =>
      createHash('sha256')
        .update([...generateSentences({ count: 2000, seed })].join('\n'))
        .digest('hex');
    expect(digest(7)).toBe(digest(7));
    expect(digest(7)).not.toBe(digest(8));
  });

  it('writes count lines of {id, text}, ids in order, 4 to 16 lower-case words split by single spaces', () => {
    const all = sentences(3000, 42);
    expect(all).toHaveLength(3000);
    all.forEach((s, i) => {
      expect(Object.keys(s)).toEqual(['id', 'text']);
      expect(s.id).toBe(i);
      expect(s.text).toMatch(/^[a-z]+( [a-z]+)*$/);
      const words = s.text.split(' ').length;
      expect(words).toBeGreaterThanOrEqual(4);
      expect(words).toBeLessThanOrEqual(16);
    });
  });

  it('draws words with Zipf-like skew: the top word about twice the second, a long tail of rare words', () => {
    const counts = new Map<string, number>();
    for (const s of sentences(20_000, 1)) for (const w of s.text.split(' ')) counts.set(w, (counts.get(w) ?? 0) + 1);
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const first = counts.get(wordOfRank(0))!;
    const second = counts.get(wordOfRank(1))!;
    expect(first / second).toBeGreaterThan(1.7);
    expect(first / second).toBeLessThan(2.3);
    // Zipf over 50,000 words: the top word is about 1/H(50,000) ≈ 9% of all words.
    expect(first / total).toBeGreaterThan(0.08);
    expect(first / total).toBeLessThan(0.1);
    const seenOnce = [...counts.values()].filter((n) => n === 1).length;
    expect(seenOnce).toBeGreaterThan(counts.size / 3);
  });

  it('gives every rank of the vocabulary its own word, the frequent ones the shortest', () => {
    const words = Array.from({ length: VOCABULARY_SIZE }, (_, rank) => wordOfRank(rank));
    expect(new Set(words).size).toBe(VOCABULARY_SIZE);
    expect(words[0]).toHaveLength(2);
    expect(words.at(-1)!.length).toBeGreaterThan(words[0]!.length);
  });
});
