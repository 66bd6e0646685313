// The live-view contract: which renderer a run gets, and what each renderer writes.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { stripAnsi } from '../../src/cli/errors';
import { Output } from '../../src/cli/output';
import { FRAME_MS, startLiveView, throttleFrames, type ViewSpec } from '../../src/ui/live-view';
import { capture, FakeTerminal } from '../support/terminal';

// Ink reads CI when it loads, lazily inside startLiveView, and in a CI draws only the last frame: these tests are
// of a terminal's frames wherever they run (pbx itself never picks Ink in a CI: output.ts).
delete process.env.CI;
delete process.env.CONTINUOUS_INTEGRATION;

const counter: ViewSpec<number> = {
  to: 'stderr',
  render: (n, style) => `count ${style.bold(String(n))}`,
  waiting: 'counting…',
  plainEveryMs: 1000,
};

afterEach(() => vi.useRealTimers());

describe('startLiveView', () => {
  it('writes nothing with --json: stdout stays the one document', async () => {
    const out = capture();
    const err = capture();
    const view = await startLiveView(new Output('json', false, out.stream, err.stream), counter);
    view.note('a note');
    view.update(1);
    await view.stop();
    expect([out.text(), err.text()]).toEqual(['', '']);
  });

  it('without a terminal, writes notes as they come and the live region once per interval, on its stream', async () => {
    vi.useFakeTimers({ now: 0 });
    const out = capture();
    const err = capture();
    const view = await startLiveView(new Output('plain', false, out.stream, err.stream), counter);
    view.note('connected');
    view.update(1); // at 0 ms: not yet an interval since the start
    vi.setSystemTime(1000);
    view.update(2);
    vi.setSystemTime(1500);
    view.update(3); // half an interval after the last line
    vi.setSystemTime(2100);
    view.update(4);
    await view.stop();
    expect(err.text()).toBe('connected\ncount 2\ncount 4\n');
    expect(out.text()).toBe('');
  });

  it('without a terminal, writes every update when the command sets the pace (plainEveryMs 0), to stdout if asked', async () => {
    const out = capture();
    const err = capture();
    const view = await startLiveView(new Output('plain', false, out.stream, err.stream), {
      ...counter,
      to: 'stdout',
      plainEveryMs: 0,
    });
    view.update(1);
    view.update(2);
    await view.stop();
    expect(out.text()).toBe('count 1\ncount 2\n');
    expect(err.text()).toBe('');
  });

  it('without a terminal, writes what the view’s plain renderer says when it has one (a line for a table)', async () => {
    const err = capture();
    const view = await startLiveView(new Output('plain', false, capture().stream, err.stream), {
      ...counter,
      render: (n) => `COUNT\n${n}`,
      plain: (n) => `count ${n}`,
      plainEveryMs: 0,
    });
    view.update(1);
    await view.stop();
    expect(err.text()).toBe('count 1\n');
  });

  it('colours plain lines only when the output is coloured (FORCE_COLOR)', async () => {
    const err = capture();
    const view = await startLiveView(new Output('plain', true, capture().stream, err.stream), {
      ...counter,
      plainEveryMs: 0,
    });
    view.update(7);
    expect(err.text()).toBe('count \u001B[1m7\u001B[22m\n');
  });

  it('on a pseudo-terminal that reports no size, writes plain lines instead of drawing', async () => {
    for (const [columns, rows] of [
      [0, 0],
      [80, 0],
      [0, 24],
    ] as const) {
      const terminal = new FakeTerminal(columns, rows);
      const view = await startLiveView(new Output('tty', false, capture().stream, terminal.stream), {
        ...counter,
        plainEveryMs: 0,
      });
      view.update(5);
      await view.stop();
      expect(terminal.text).toBe('count 5\n');
    }
  });

  it('on a terminal with a size, hands the view to its own terminal renderer when it names one', async () => {
    const terminal = new FakeTerminal(100, 30);
    const seen: number[] = [];
    const view = await startLiveView(new Output('tty', false, capture().stream, terminal.stream), {
      ...counter,
      terminal: ({ stream }) => {
        expect(stream).toBe(terminal);
        return Promise.resolve({ update: (n) => seen.push(n), note: () => undefined, stop: () => Promise.resolve() });
      },
    });
    view.update(1);
    expect(seen).toEqual([1]);
  });
});

describe('throttleFrames', () => {
  it('draws the first state at once, then at most one frame per interval, always ending on the newest state', () => {
    vi.useFakeTimers({ now: 0 });
    const drawn: Array<[number, number]> = [];
    const frames = throttleFrames((n: number) => drawn.push([Date.now(), n]), FRAME_MS);
    frames.update(1);
    for (let n = 2; n <= 10; n++) frames.update(n); // a burst within the first frame
    expect(drawn).toEqual([[0, 1]]);
    vi.advanceTimersByTime(FRAME_MS);
    expect(drawn).toEqual([
      [0, 1],
      [FRAME_MS, 10],
    ]);
    vi.advanceTimersByTime(10 * FRAME_MS); // nothing new: nothing drawn
    frames.update(11); // long after the last frame: at once
    expect(drawn.at(-1)).toEqual([11 * FRAME_MS, 11]);
    frames.update(12);
    frames.flush(); // the view ends: the pending state is drawn now
    expect(drawn.at(-1)).toEqual([11 * FRAME_MS, 12]);
    vi.advanceTimersByTime(FRAME_MS);
    expect(drawn).toHaveLength(4);
  });
});

describe('the Ink renderer', () => {
  it('writes each note once above the live region, and leaves the last state drawn', async () => {
    const terminal = new FakeTerminal(100, 30);
    const view = await startLiveView(new Output('tty', false, capture().stream, terminal.stream), counter);
    view.note('first note');
    for (let n = 1; n <= 50; n++) view.update(n);
    view.note('second note');
    view.update(51);
    await view.stop();
    const text = stripAnsi(terminal.text);
    expect(text.split('first note')).toHaveLength(2);
    expect(text.split('second note')).toHaveLength(2);
    expect(text.indexOf('first note')).toBeLessThan(text.indexOf('second note'));
    expect(text).toContain('counting…');
    // The burst was throttled: far fewer frames than updates, and the last one shows the last state.
    expect(text.split('count ').length - 1).toBeLessThan(10);
    expect(text.match(/count \d+/g)?.at(-1)).toBe('count 51');
  });
});

describe('the Ink renderer on a small terminal', () => {
  it('cuts a live region taller than the terminal, instead of clearing the screen at every frame', async () => {
    const terminal = new FakeTerminal(40, 6);
    const view = await startLiveView(new Output('tty', false, capture().stream, terminal.stream), {
      ...counter,
      render: (n: number) => Array.from({ length: 10 }, (_, i) => `row ${i} of frame ${n}`).join('\n'),
    });
    view.update(1);
    await view.stop();
    const text = stripAnsi(terminal.text);
    expect(text).toContain('row 3 of frame 1');
    expect(text).not.toContain('row 4 of frame 1');
    expect(text).toContain('… 6 more lines');
    expect(terminal.text).not.toContain('\u001B[2J');
  });

  it('gives each line of the live region one row, cutting what is wider than the terminal', async () => {
    const terminal = new FakeTerminal(20, 10);
    const view = await startLiveView(new Output('tty', false, capture().stream, terminal.stream), {
      ...counter,
      render: () => `${'a'.repeat(30)}\nshort`,
    });
    view.update(1);
    await view.stop();
    const text = stripAnsi(terminal.text);
    expect(text).toContain(`${'a'.repeat(19)}…\nshort`);
  });
});
