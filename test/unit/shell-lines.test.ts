import { describe, expect, it } from 'vitest';
import { decodeLine, encodeLine } from '../../src/pipelines/shell';
import { ByteTail, OutputLines, type OutputProblem } from '../../src/pipelines/shell/lines';

describe('encodeLine and decodeLine', () => {
  it('write a string as it is, a string with a newline and anything else as JSON', () => {
    expect(encodeLine('the cat sat')).toBe('the cat sat');
    expect(encodeLine('two\nlines')).toBe('"two\\nlines"');
    expect(encodeLine({ word: 'cat', n: 2 })).toBe('{"word":"cat","n":2}');
    expect(encodeLine(42)).toBe('42');
    expect(encodeLine(null)).toBe('null');
    expect(encodeLine(undefined)).toBe('null');
  });

  it('read a line as JSON where it parses, else as the string', () => {
    expect(decodeLine('{"word":"cat"}')).toEqual({ word: 'cat' });
    expect(decodeLine('3')).toBe(3);
    expect(decodeLine('"two\\nlines"')).toBe('two\nlines');
    expect(decodeLine('      3 cat')).toBe('      3 cat');
    expect(decodeLine('')).toBe('');
    expect(decodeLine('true story')).toBe('true story');
  });

  it('read every line as a parse would, those told apart by their first character included', () => {
    const parsedOrLine = (line: string): unknown => {
      try {
        return JSON.parse(line) as unknown;
      } catch {
        return line;
      }
    };
    const lines = [
      'the',
      'true',
      ' true ',
      '\tnull\r',
      'false',
      'nulls',
      'fa',
      'n',
      ' -1',
      '-',
      '[1,2]',
      '[1',
      ' {"a":1}',
    ];
    lines.push('"x"', '"x', '0', '007', 'word', ' \t', '\u00a0true', '1e3', 'Infinity', 'NaN', '{}', '  ', 'é');
    // Every ASCII character first, alone and before what would make a JSON text of it.
    for (let code = 0; code < 128; code++) {
      const first = String.fromCharCode(code);
      lines.push(first, `${first}1`, `${first}"a"`, `${first}[]`, `${first}rue`, `${first}ull`);
    }
    for (const line of lines) expect(decodeLine(line), JSON.stringify(line)).toEqual(parsedOrLine(line));
  });
});

describe('OutputLines', () => {
  const reader = (maxLineBytes = 10) => {
    const lines: string[] = [];
    return { lines, output: new OutputLines({ maxLineBytes, maxOutputBytes: 30 }, (line) => lines.push(line)) };
  };

  it('splits chunks into lines wherever the chunks end, a character cut in two included', () => {
    const { lines, output } = reader(100);
    const bytes = Buffer.from('one\ntwo\ncafé\n\nlast');
    const cut = bytes.indexOf(0xa9); // inside é
    for (const chunk of [bytes.subarray(0, 2), bytes.subarray(2, cut), bytes.subarray(cut)]) {
      expect(output.push(chunk)).toBeUndefined();
    }
    expect(lines).toEqual(['one', 'two', 'café', '']);
    expect(output.end()).toBeUndefined();
    expect(lines).toEqual(['one', 'two', 'café', '', 'last']);
  });

  it('reports a line longer than the limit as soon as a chunk passes it, holding no more than the limit', () => {
    const { lines, output } = reader(10);
    expect(output.push(Buffer.from('ok\n123456'))).toBeUndefined();
    const problem: OutputProblem = { reason: 'line-too-long', line: 2, maxLineBytes: 10 };
    expect(output.push(Buffer.from('78901'))).toEqual(problem);
    expect(lines).toEqual(['ok']);
    // A line of exactly the limit is fine.
    const exact = reader(10);
    expect(exact.output.push(Buffer.from('1234567890\n'))).toBeUndefined();
    expect(exact.lines).toEqual(['1234567890']);
  });

  it('reports a NUL byte or invalid UTF-8 with the line it is in', () => {
    expect(reader().output.push(Buffer.from('a\nb\0c\n'))).toEqual({
      reason: 'binary-output',
      line: 2,
      what: 'a NUL byte',
    });
    expect(reader().output.push(Buffer.from([0x61, 0x0a, 0xff, 0x0a]))).toEqual({
      reason: 'binary-output',
      line: 2,
      what: 'invalid UTF-8',
    });
    // Lines read a chunk at a time count too.
    const { lines, output } = reader(100);
    expect(output.push(Buffer.from('a\nb\nc'))).toBeUndefined();
    expect(output.push(Buffer.from('\nd\n\0\n'))).toEqual({ reason: 'binary-output', line: 5, what: 'a NUL byte' });
    expect(lines).toEqual(['a', 'b', 'c', 'd']);
  });

  it('reports more output than maxOutputBytes for a batch, counted again from the start of each', () => {
    const { lines, output } = reader(100);
    expect(output.push(Buffer.from('0123456789\n0123456789\n'))).toBeUndefined();
    output.startBatch();
    expect(output.push(Buffer.from('0123456789\n0123456789\n'))).toBeUndefined();
    expect(output.push(Buffer.from('0123456789\n'))).toEqual({
      reason: 'output-too-large',
      line: 5,
      maxOutputBytes: 30,
    });
    expect(lines).toHaveLength(4);
  });
});

describe('ByteTail', () => {
  it('keeps the last bytes of what it was given', () => {
    const tail = new ByteTail(8);
    expect(tail.text()).toBe('');
    for (const part of ['abc', 'defgh', 'ijklmnopqr', 'st']) tail.push(Buffer.from(part));
    expect(tail.text()).toBe('mnopqrst');
  });
});
