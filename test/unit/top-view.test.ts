// pbx top's Ink view on a fake terminal: it draws the collector's snapshots in the alternate screen, follows a resize,
// holds still when paused, says when the collector fails, and q or Ctrl-C end it with the terminal given back.
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { stripAnsi } from '../../src/cli/errors';
import type { Snapshot } from '../../src/top/snapshot';
import { runTopView } from '../../src/top/view';
import { FakeTerminal } from '../support/terminal';
import { fixedSnapshot } from '../support/top-snapshot';
import { waitFor } from '../support/wait';

// Ink reads CI when it loads, and view.tsx loads it with this file: hoisted above the imports, so that a CI's
// setting does not make Ink draw only the last frame and follow no resize (pbx itself never picks Ink in a CI).
vi.hoisted(() => {
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
});

/** A keyboard as Ink reads one: a TTY stream whose raw mode can be set. */
function fakeKeyboard() {
  const stdin = new PassThrough();
  return Object.assign(stdin, { isTTY: true, setRawMode: () => stdin, ref: () => stdin, unref: () => stdin });
}

/** The terminal takes a new size, as a window resized does. */
function resize(terminal: FakeTerminal, columns: number, rows: number) {
  Object.assign(terminal, { columns, rows });
  terminal.emit('resize');
}

let running: Promise<void> | undefined;
afterEach(async () => {
  await running?.catch(() => undefined);
});

function start(collect: () => Promise<Snapshot>) {
  const stdout = new FakeTerminal(80, 24);
  const stdin = fakeKeyboard();
  const view = runTopView({
    collector: { collect },
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    everyMs: 50,
  });
  running = view;
  /** The text written since `from`, colours taken out. */
  const since = (from: number) => stripAnsi(stdout.writes.slice(from).join(''));
  return { stdout, stdin, view, since };
}

describe('pbx top on a terminal', () => {
  it('quits at once, without waiting for a refresh that hangs', async () => {
    let calls = 0;
    const { stdin, view, since } = start(() =>
      ++calls === 1 ? Promise.resolve(fixedSnapshot()) : new Promise<Snapshot>(() => undefined),
    );
    await waitFor(() => since(0).includes('reviews-reader') && calls >= 2, {
      what: 'a refresh hanging',
      timeout: 5000,
    });
    stdin.write('q');
    await view;
  });

  it('draws the snapshot in the alternate screen, and q leaves it', async () => {
    let calls = 0;
    const { stdout, stdin, view, since } = start(() => Promise.resolve({ ...fixedSnapshot(), collectMs: ++calls }));
    await waitFor(() => since(0).includes('reviews-reader'), { what: 'the first frame', timeout: 5000 });
    expect(stdout.writes[0]).toBe('\u001B[?1049h\u001B[H\u001B[2J');
    expect(since(0)).toMatch(/reviews\s+500\s+98 KiB/);
    await waitFor(() => calls >= 3, { what: 'refreshes', timeout: 5000 });
    stdin.write('q');
    await view;
    expect(stdout.writes.at(-1)).toBe('\u001B[?1049l');
  });

  it('opens a group on Enter and goes back on Esc', async () => {
    const { stdout, stdin, view, since } = start(() => Promise.resolve(fixedSnapshot()));
    await waitFor(() => since(0).includes('reviews-reader'), { what: 'the first frame', timeout: 5000 });
    // One key a write, as a person types: Ink reads a write as one key press.
    for (const key of ['\t', '\r']) {
      stdin.write(key);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await waitFor(() => since(0).includes('GROUP stuck-app · stalled'), { what: 'details', timeout: 5000 });
    const opened = stdout.writes.length;
    stdin.write('\u001B');
    await waitFor(() => /GROUPS 5 /.test(since(opened)), { what: 'the panels again', timeout: 5000 });
    stdin.write('\u0003');
    await view;
  });

  it('follows a resize', async () => {
    const { stdout, stdin, view, since } = start(() => Promise.resolve(fixedSnapshot()));
    await waitFor(() => since(0).includes('reviews-reader'), { what: 'the first frame', timeout: 5000 });
    const before = stdout.writes.length;
    resize(stdout, 200, 60);
    await waitFor(() => /TOPICS 23 /.test(since(before)), { what: 'the large layout', timeout: 5000 });
    stdin.write('q');
    await view;
  });

  it('says when the collector fails, since when, and keeps the last rows; p holds the screen still', async () => {
    let fail = false;
    const { stdout, stdin, view, since } = start(() =>
      fail ? Promise.reject(new Error('connect ECONNREFUSED')) : Promise.resolve(fixedSnapshot()),
    );
    await waitFor(() => since(0).includes('reviews-reader'), { what: 'the first frame', timeout: 5000 });
    fail = true;
    await waitFor(() => since(0).includes('refresh failing since'), {
      what: 'the banner',
      timeout: 5000,
    });
    expect(since(0)).toContain('rows as last seen: connect ECONNREFUSED');
    stdin.write('p');
    await waitFor(() => since(0).includes('PAUSED'), { what: 'paused', timeout: 5000 });
    const held = stdout.writes.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(stdout.writes.length).toBe(held);
    stdin.write('q');
    await view;
  });
});
