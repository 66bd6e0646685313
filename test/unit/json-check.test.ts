import { describe, expect, it } from 'vitest';
import { generateReviews } from '../../src/datagen/reviews';
import { resolve } from 'node:path';
import { isJson } from '../../src/replay/json-check';
import { JSON_SCAN_WASM } from '../../src/replay/json-scan-wasm';
import { compileJsonScan } from '../../scripts/wasm';

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

  it('finds a quote, a backslash or a control character at every place in the 16-byte steps and the tail', () => {
    for (let length = 0; length <= 40; length++) {
      const plain = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP'.slice(0, length);
      expect(check(`"${plain}"`)).toBe(true);
      for (let at = 0; at < length; at++) {
        const withChar = (c: string) => `"${plain.slice(0, at)}${c}${plain.slice(at + 1)}"`;
        expect([length, at, check(withChar('\u0001'))]).toEqual([length, at, false]);
        expect([length, at, check(withChar('\t'))]).toEqual([length, at, false]);
        expect([length, at, check(withChar('"'))]).toEqual([length, at, false]); // the string ends early
        expect([length, at, check(withChar('\\"'))]).toEqual([length, at, true]);
        expect([length, at, check(withChar('\\q'))]).toEqual([length, at, false]);
      }
    }
  });

  it('checks texts of any size, also after a larger one made it grow its memory', () => {
    const big = JSON.stringify({ text: 'x'.repeat(300_000), list: Array.from({ length: 5000 }, (_, i) => i) });
    expect(check(big)).toBe(true);
    expect(check(big.slice(0, -1))).toBe(false);
    expect(check('{"a":1}')).toBe(true);
    expect(isJson(Buffer.from(`xx${big}yy`).subarray(2, 2 + big.length))).toBe(true); // a view, as lines are
  });

  it('runs the WebAssembly compiled from assembly/json-scan.ts (run scripts/build-wasm.ts after editing)', async () => {
    const wasm = await compileJsonScan(resolve(import.meta.dirname, '../..'));
    expect(wasm.toString('base64')).toBe(JSON_SCAN_WASM);
  });

  it('leaves nesting deeper than its stack to JSON.parse (says no)', () => {
    expect(check('['.repeat(600) + ']'.repeat(600))).toBe(false);
    expect(check('['.repeat(500) + ']'.repeat(500))).toBe(true);
  });
});
