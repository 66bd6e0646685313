import { describe, expect, it } from 'vitest';
import { generateReviews } from '../../src/datagen/reviews';
import { resolve } from 'node:path';
import { LineKind, scanLines } from '../../src/flow/sources/json-check';
import { JSON_SCAN_WASM } from '../../src/flow/sources/json-scan-wasm';
import { compileJsonScan } from '../../scripts/wasm';

const parses = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};
/** The kinds of the lines of `text` that newlines end, and where the unfinished rest starts. */
const scan = (bytes: Uint8Array, checkJson = true) => {
  const lines: { start: number; end: number; kind: LineKind }[] = [];
  const rest = scanLines(bytes, checkJson, (start, end, kind) => lines.push({ start, end, kind }));
  return { lines, rest };
};
/** Whether one line of text (no newline in it) is JSON, as the scan says. */
const check = (text: string) => {
  const { lines } = scan(Buffer.from(`${text}\n`));
  expect(lines).toHaveLength(1);
  return lines[0]!.kind === LineKind.Json;
};

describe('scanLines', () => {
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
    const view = Buffer.from(`xx${big}\nyy`).subarray(2, 3 + big.length); // a view, as chunks are
    expect(scan(view).lines).toEqual([{ start: 0, end: big.length, kind: LineKind.Json }]);
  });

  it('runs the WebAssembly compiled from assembly/json-scan.ts (run scripts/build-wasm.ts after editing)', async () => {
    const wasm = await compileJsonScan(resolve(import.meta.dirname, '../..'));
    expect(wasm.toString('base64')).toBe(JSON_SCAN_WASM);
  });

  it('leaves nesting deeper than its stack to JSON.parse (says no)', () => {
    expect(check('['.repeat(600) + ']'.repeat(600))).toBe(false);
    expect(check('['.repeat(500) + ']'.repeat(500))).toBe(true);
  });

  it('cuts lines at every place in the 16-byte steps and the tail, and says which are blank', () => {
    for (let length = 0; length <= 40; length++) {
      for (let at = 0; at <= length; at++) {
        const text = `${'x'.repeat(at)}\n${' \t\r'.repeat(length).slice(0, length - at)}`;
        const { lines, rest } = scan(Buffer.from(text), false);
        expect([length, at, lines]).toEqual([
          length,
          at,
          [{ start: 0, end: at, kind: at === 0 ? LineKind.Blank : LineKind.Text }],
        ]);
        expect(rest).toBe(at + 1); // the blank tail has no newline: not a line yet
      }
    }
    const { lines } = scan(Buffer.from('{"a":1}\r\n\r\n  \n{"a":\n[1]\nnull\n'));
    expect(lines.map((line) => line.kind)).toEqual([
      LineKind.Json,
      LineKind.Blank,
      LineKind.Blank,
      LineKind.Text, // a value cut by a newline is not JSON
      LineKind.Json,
      LineKind.Json,
    ]);
  });

  it('reports every line of a text with more lines than one scan call holds', () => {
    const count = 50_000;
    const text = Array.from({ length: count }, (_, i) => (i % 7 === 0 ? '' : `{"i":${i}}`)).join('\n');
    const { lines, rest } = scan(Buffer.from(`${text}\n{"last":`));
    expect(lines).toHaveLength(count);
    expect(lines.every((line, i) => line.kind === (i % 7 === 0 ? LineKind.Blank : LineKind.Json))).toBe(true);
    expect(lines.every((line, i) => i === 0 || line.start === lines[i - 1]!.end + 1)).toBe(true);
    expect(rest).toBe(text.length + 1);
  });
});
