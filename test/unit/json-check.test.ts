import { describe, expect, it } from 'vitest';
import { generateReviews } from '../../src/datagen/reviews';
import { isJson } from '../../src/replay/json-check';

const parses = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};
const check = (text: string) => isJson(Buffer.from(text));

describe('isJson', () => {
  it('agrees with JSON.parse on hand-picked valid and invalid texts', () => {
    const texts = [
      '{}',
      '[]',
      '""',
      '0',
      '-0',
      '1.5e-3',
      '2E+10',
      'true',
      'false',
      'null',
      ' {"a" : [1, {"b": null}] } ',
      '"\\u00e9\\n\\"\\\\\\/"',
      '{"a":1,"b":[true,false,null,"x"]}',
      '[[[[[]]]]]',
      '"é ✓"',
      '',
      ' ',
      '{',
      '}',
      '[1,]',
      '{"a":1,}',
      '{"a" 1}',
      '{a:1}',
      "{'a':1}",
      '01',
      '-',
      '1.',
      '.5',
      '1e',
      '+1',
      'tru',
      'nulls',
      '"abc',
      '"\\x"',
      '"\\u12"',
      '"tab\there"',
      '{"a":1}{"b":2}',
      '[1 2]',
      'NaN',
      'Infinity',
      '{"a":1]',
      '[1}',
      '"\u0001"',
      '\u00a0{}',
      '{}\u00a0',
      '["a",]',
    ];
    for (const text of texts) expect([text, check(text)]).toEqual([text, parses(text)]);
  });

  it('agrees with JSON.parse on every review and on thousands of one-byte corruptions of them', () => {
    const lines = [...generateReviews({ count: 300, seed: 3 })].map((line) => line.trimEnd());
    const alphabet = ['"', '\\', '{', '}', '[', ']', ',', ':', ' ', '0', '-', '.', 'e', 'x', '\t', '\u0007', 'n'];
    let disagreements = 0;
    let corrupted = 0;
    let state = 12345;
    const random = (n: number) => (state = (state * 1103515245 + 12345) % 2 ** 31) % n;
    for (const line of lines) {
      expect(check(line)).toBe(true);
      for (let k = 0; k < 30; k++) {
        const at = random(line.length);
        const mutated = line.slice(0, at) + alphabet[random(alphabet.length)]! + line.slice(at + random(2));
        if (!parses(mutated)) corrupted++;
        if (check(mutated) !== parses(mutated)) disagreements++;
      }
    }
    expect(corrupted).toBeGreaterThan(1000); // the corruptions mostly do break the JSON
    expect(disagreements).toBe(0);
  });

  it('leaves nesting deeper than its stack to JSON.parse (says no)', () => {
    expect(check('['.repeat(600) + ']'.repeat(600))).toBe(false);
    expect(check('['.repeat(500) + ']'.repeat(500))).toBe(true);
  });
});
