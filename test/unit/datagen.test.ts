import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateReviews } from '../../src/datagen/reviews';

const FIELDS = ['user_id', 'product_id', 'review', 'summary', 'profile_name', 'helpfulness', 'time', 'score'];
type Review = Record<string, string | number>;

function reviews(count: number, seed: number): Review[] {
  return [...generateReviews({ count, seed })].map((line) => JSON.parse(line) as Review);
}

describe('generateReviews', () => {
  it('gives the same bytes for the same count and seed, and other bytes for another seed', () => {
    const digest = (seed: number) =>
      createHash('sha256')
        .update([...generateReviews({ count: 2000, seed })].join('\n'))
        .digest('hex');
    expect(digest(7)).toBe(digest(7));
    expect(digest(7)).not.toBe(digest(8));
  });

  it('writes the eight peachbox fields, sorted by a whole-day time', () => {
    const all = reviews(5000, 42);
    expect(all).toHaveLength(5000);
    for (const r of all) {
      expect(Object.keys(r)).toEqual(FIELDS);
      expect((r.time as number) % 86400).toBe(0);
      expect(String(r.score)).toMatch(/^[1-5]\.0$/);
      const [helpful, total] = String(r.helpfulness).split('/').map(Number);
      expect(helpful).toBeLessThanOrEqual(total!);
    }
    const times = all.map((r) => r.time as number);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(new Set(times).size).toBeLessThan(times.length); // many reviews share a day
  });

  it('has a few very popular movies and prolific users and a long tail', () => {
    const all = reviews(20_000, 1);
    for (const field of ['product_id', 'user_id']) {
      const counts = new Map<string | number, number>();
      for (const r of all) counts.set(r[field]!, (counts.get(r[field]!) ?? 0) + 1);
      const sorted = [...counts.values()].sort((a, b) => b - a);
      const top1 = sorted.slice(0, Math.ceil(sorted.length / 100)).reduce((a, b) => a + b, 0);
      expect(top1 / all.length, `${field}: top 1% share`).toBeGreaterThan(0.1);
      expect(sorted.filter((n) => n === 1).length / sorted.length, `${field}: seen once`).toBeGreaterThan(0.3);
    }
  });

  it('keeps HTML entities in the text as the original did', () => {
    const text = reviews(2000, 3)
      .map((r) => `${r.review} ${r.profile_name}`)
      .join(' ');
    expect(text).toMatch(/&quot;|&amp;|&#39;|&#34;/);
    expect(text).not.toMatch(/<[a-z]/);
  });
});
