import { execFileSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { stripAnsi } from '../../src/cli/errors';
import { colorEnabled, detectOutputMode, formatDuration, Output, renderTable, shellQuote } from '../../src/cli/output';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

describe('output mode', () => {
  it('is json whenever --json is given', () => {
    expect(detectOutputMode({ json: true, isTTY: true, env: {} })).toBe('json');
  });
  it('is tty only on a terminal outside CI', () => {
    expect(detectOutputMode({ json: false, isTTY: true, env: {} })).toBe('tty');
    expect(detectOutputMode({ json: false, isTTY: false, env: {} })).toBe('plain');
    expect(detectOutputMode({ json: false, isTTY: true, env: { CI: 'true' } })).toBe('plain');
    expect(detectOutputMode({ json: false, isTTY: true, env: { CI: 'false' } })).toBe('tty');
    // As Ink counts a CI, which then draws only the last frame: present, even empty.
    expect(detectOutputMode({ json: false, isTTY: true, env: { CI: '' } })).toBe('plain');
    expect(detectOutputMode({ json: false, isTTY: true, env: { CONTINUOUS_INTEGRATION: '1' } })).toBe('plain');
    expect(detectOutputMode({ json: false, isTTY: true, env: { TERM: 'dumb' } })).toBe('plain');
  });
  it('colours a TTY unless NO_COLOR, and plain output only with FORCE_COLOR', () => {
    expect(colorEnabled({ mode: 'tty', env: {} })).toBe(true);
    expect(colorEnabled({ mode: 'tty', env: { NO_COLOR: '1' } })).toBe(false);
    expect(colorEnabled({ mode: 'plain', env: {} })).toBe(false);
    expect(colorEnabled({ mode: 'plain', env: { FORCE_COLOR: '1' } })).toBe(true);
    expect(colorEnabled({ mode: 'json', env: { FORCE_COLOR: '1' } })).toBe(false);
  });
});

describe('Output', () => {
  it('prints exactly one JSON document in json mode and suppresses human lines', () => {
    const out = capture();
    const err = capture();
    const o = new Output('json', false, out.stream, err.stream);
    o.line('hello');
    o.note('progress');
    o.result({ a: 1 }, (x) => x.line('human'));
    expect(JSON.parse(out.text())).toEqual({ a: 1 });
    expect(err.text()).toBe('');
  });
  it('prints the human rendering in plain mode, without colour codes', () => {
    const out = capture();
    const o = new Output('plain', false, out.stream, capture().stream);
    o.result({ a: 1 }, (x, d) => x.line(x.style.green(`a=${d.a}`)));
    expect(out.text()).toBe('a=1\n');
  });
  it('colours when asked', () => {
    const out = capture();
    new Output('tty', true, out.stream, capture().stream).line(new Output('tty', true).style.red('x'));
    expect(out.text()).toBe('\u001B[31mx\u001B[39m\n');
  });
  it('aligns table columns', () => {
    const table = renderTable(
      [
        { name: 'kafka', port: 9092 },
        { name: 'zookeeper', port: 2181 },
      ],
      [
        ['name', 'SERVICE'],
        ['port', 'PORT'],
      ],
    );
    expect(table.split('\n')).toEqual(['SERVICE    PORT', 'kafka      9092', 'zookeeper  2181']);
  });
  it('aligns coloured cells by what shows on the screen', () => {
    const { green, red } = new Output('tty', true).style;
    const table = renderTable(
      [
        { ready: green('yes'), port: 9092 },
        { ready: red('no'), port: 2181 },
      ],
      [
        ['ready', 'READY'],
        ['port', 'PORT'],
      ],
    );
    const shown = stripAnsi(table).split('\n');
    expect(shown).toEqual(['READY  PORT', 'yes    9092', 'no     2181']);
  });
});

describe('formatDuration', () => {
  it('says milliseconds, seconds, minutes or hours, whichever reads best', () => {
    expect([350, 4210, 59_940, 156_400, 3_600_000 + 5 * 60_000 + 20_000].map(formatDuration)).toEqual([
      '350 ms',
      '4.2 s',
      '59.9 s',
      '2 min 36 s',
      '1 h 5 min',
    ]);
  });
});

describe('shellQuote', () => {
  it('leaves plain words alone and quotes the rest so that a shell reads them back as they were', () => {
    expect(shellQuote('127.0.0.1:9092')).toBe('127.0.0.1:9092');
    for (const text of ['/tmp/My Project!', "it's $HOME", '', 'a"b`c`\\']) {
      expect(execFileSync('sh', ['-c', `printf %s ${shellQuote(text)}`], { encoding: 'utf8' })).toBe(text);
    }
  });
});
