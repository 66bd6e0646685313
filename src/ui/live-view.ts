// The one way a command shows what it is doing while it works. Ink is imported only when a terminal needs it:
// loading it at start-up would slow every command.
//
// A command describes its view once (a ViewSpec: props in, text out) and feeds it:
//   const view = await startLiveView(out, { to: 'stderr', render: (s, style) => renderTable(rows(s), COLUMNS),
//                                           plainEveryMs: 5000 });
//   try { for await (const state of states) view.update(state); } finally { await view.stop(); }
// and `view.note(text)` for a line that stays (a warning, a stage that finished).
import type { Writable } from 'node:stream';
import type { Output, Styler } from '../cli/output';

/** What a command shows while it works: a live region fed by `update(state)`, finished lines above it. */
export interface LiveView<S> {
  /** The newest state of the live region; a renderer draws it when its turn comes, not at every call. */
  update(state: S): void;
  /** A finished line: it scrolls above the live region and is written once. */
  note(text: string): void;
  /** Ends the view: a terminal is left showing the last state given; plain lines just stop (a summary follows). */
  stop(): Promise<void>;
}

/** Props in, text out: the one description of a view's content that every renderer draws. */
export type RenderText<S> = (state: S, style: Styler) => string;

/** A view: what it shows, where, and how often as plain lines. */
export interface ViewSpec<S> {
  /** Progress goes to stderr so piping stdout keeps only the result; a view that is the result uses stdout. */
  to: 'stdout' | 'stderr';
  /** The live region (a line, a few lines or a table) from the state. */
  render: RenderText<S>;
  /** Without a terminal, what each plain line says instead of `render` (one line where the terminal shows a table). */
  plain?: RenderText<S>;
  /** What the terminal shows before the first update. */
  waiting?: string;
  /**
   * Without a terminal: the live region is written as plain lines once this many ms have passed since the view
   * started or since the last lines; 0 writes every update (a view whose command sets the pace itself).
   */
  plainEveryMs: number;
  /** A renderer of its own for the terminal (`up`'s listr2 tree); Ink draws `render` otherwise. */
  terminal?: TerminalRenderer<S>;
}

/** Draws a view on a terminal that reports its size. */
export type TerminalRenderer<S> = (options: TerminalOptions<S>) => Promise<LiveView<S>>;

export interface TerminalOptions<S> {
  spec: ViewSpec<S>;
  stream: TerminalStream;
  style: Styler;
}

/** A stream that is a terminal: what Ink and listr2 need to draw on it. */
export type TerminalStream = NodeJS.WriteStream;

/** How often a terminal's live region may be redrawn: a few times a second reads well and costs little. */
export const FRAME_MS = 250;

/**
 * Starts a view the way this run's output calls for: on a terminal the view's terminal renderer (Ink unless it
 * names another), plain lines without one, nothing with --json (stdout stays one document).
 */
export async function startLiveView<S>(out: Output, spec: ViewSpec<S>): Promise<LiveView<S>> {
  if (out.mode === 'json') return silentView();
  const stream = spec.to === 'stdout' ? out.stdoutStream : out.stderrStream;
  if (out.mode === 'tty' && hasSize(stream)) {
    const terminal = spec.terminal ?? (await import('./ink-view')).inkView;
    return terminal({ spec, stream, style: out.style });
  }
  return plainView(out, spec);
}

/**
 * A pseudo-terminal that reports no size (script, some CI runners) would make Ink wrap every character (no
 * width) or clear the whole screen and its scrollback at every frame (no height): plain lines serve it better.
 */
function hasSize(stream: Writable): stream is TerminalStream {
  const terminal = stream as Partial<TerminalStream>;
  return (terminal.columns ?? 0) > 0 && (terminal.rows ?? 0) > 0;
}

/** Notes and the live region as lines, the region at most every `plainEveryMs`. */
function plainView<S>(out: Output, spec: ViewSpec<S>, now: () => number = Date.now): LiveView<S> {
  const write = (text: string) => (spec.to === 'stdout' ? out.line(text) : out.note(text));
  const render = spec.plain ?? spec.render;
  let last = now();
  return {
    update: (state) => {
      if (spec.plainEveryMs > 0 && now() - last < spec.plainEveryMs) return;
      last = now();
      write(render(state, out.style));
    },
    note: write,
    stop: () => Promise.resolve(),
  };
}

/** --json: the command's one document is all that is written. */
function silentView<S>(): LiveView<S> {
  return { update: () => undefined, note: () => undefined, stop: () => Promise.resolve() };
}

/**
 * Calls `draw` with the newest state at most once per `frameMs`: the first update at once, later ones at the end
 * of the frame they fall in, so a burst of updates costs one draw and the last state is never lost.
 */
export function throttleFrames<S>(draw: (state: S) => void, frameMs: number, now: () => number = Date.now) {
  let pending: { state: S } | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let drawnAt = -Infinity;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!pending) return;
    const { state } = pending;
    pending = undefined;
    drawnAt = now();
    draw(state);
  };
  return {
    update: (state: S): void => {
      pending = { state };
      if (timer) return;
      const wait = drawnAt + frameMs - now();
      if (wait <= 0) flush();
      else timer = setTimeout(flush, wait);
    },
    /** Draws what is pending now (before the view ends). */
    flush,
  };
}
