// `pbx top` on a terminal: a full-screen Ink dashboard, a snapshot a second from the collector. What it shows is
// layout.ts's (pure) and what the keys do is keys.ts's (pure); here are only the loop that refreshes, the store the
// screen reads, and the drawing of the lines in colour. The alternate screen keeps the user's scrollback as it was.
import { Box, render, Text, useInput } from 'ink';
import { useSyncExternalStore } from 'react';
import { applyKey, initialUiState, type Key, type UiState } from './keys';
import { layoutScreen, type Screen, type ScreenInput, type TerminalSize } from './layout';
import { interruptSignal } from '../cli/interrupt';
import type { Collector } from './collect';
import { REFRESH_MS } from './collect-every';
import type { ScreenLine } from './columns';
import type { Snapshot } from './snapshot';

export interface TopViewOptions {
  /** Only its collect() is called: the command closes it. */
  collector: Pick<Collector, 'collect'>;
  stdout: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  /** Between the starts of two refreshes (default REFRESH_MS). */
  everyMs?: number;
  now?: () => number;
  /** Ends the view as q does: SIGINT or SIGTERM from outside (Ctrl-C on the keyboard is a key in raw mode). */
  signal?: AbortSignal;
}

const ENTER_ALTERNATE_SCREEN = '\u001B[?1049h\u001B[H\u001B[2J';
const LEAVE_ALTERNATE_SCREEN = '\u001B[?1049l';

/** Runs the dashboard until `q` or Ctrl-C; the terminal is left as it was found. */
export async function runTopView(options: TopViewOptions): Promise<void> {
  const { stdout, stdin, collector, signal = interruptSignal } = options;
  const now = options.now ?? Date.now;
  const store = new TopStore({ size: sizeOf(stdout), ui: initialUiState(), now: now() });
  const onResize = () => store.set({ size: sizeOf(stdout) });
  stdout.write(ENTER_ALTERNATE_SCREEN);
  stdout.on('resize', onResize);
  const app = render(<TopScreen store={store} />, {
    stdout,
    stdin,
    // Ctrl-C is a key like q: the view ends and the command returns, nothing is killed half-way.
    exitOnCtrlC: false,
    patchConsole: false,
  });
  // Ink ends the app itself when drawing throws: the loop stops then, and the error is the view's.
  let crash: { error: unknown } | undefined;
  const exited = app.waitUntilExit().then(
    () => store.end(),
    (error: unknown) => {
      crash = { error };
      store.end();
    },
  );
  const onAbort = () => store.end();
  signal.addEventListener('abort', onAbort);
  if (signal.aborted) store.end();
  try {
    await refreshUntilQuit({ store, collector, everyMs: options.everyMs ?? REFRESH_MS, now });
  } finally {
    app.unmount();
    await exited;
    signal.removeEventListener('abort', onAbort);
    stdout.off('resize', onResize);
    stdout.write(LEAVE_ALTERNATE_SCREEN);
  }
  if (crash) throw crash.error;
}

/**
 * Collects a snapshot each `everyMs` (from the start of one to the start of the next) until the user quits. While
 * paused it keeps collecting, so rates and the minute's history stay whole, and only the screen holds still.
 */
async function refreshUntilQuit(options: {
  store: TopStore;
  collector: Pick<Collector, 'collect'>;
  everyMs: number;
  now: () => number;
}): Promise<void> {
  const { store, collector, everyMs, now } = options;
  while (!store.ui.quit) {
    const started = now();
    const refresh = collector.collect().then(
      (snapshot) => store.collected({ snapshot, now: now() }),
      (error: unknown) => store.failed(error instanceof Error ? error.message : String(error), now()),
    );
    // q does not wait for a refresh that waits for Kafka (up to seconds when it is away): the command closes the
    // collector, which lets that refresh end.
    await Promise.race([refresh, store.ended]);
    if (store.ui.quit) return;
    await store.nextRefresh(Math.max(0, everyMs - (now() - started)));
  }
}

/** The view's state, outside React so the loop and the keys both reach it; the screen is laid out once per change. */
class TopStore {
  private input: ScreenInput;
  private screen: Screen;
  /** Held back while paused. */
  private latest?: { snapshot: Snapshot; now: number };
  private readonly listeners = new Set<() => void>();
  private wake?: () => void;
  private endNow!: () => void;
  /** Settles when the user quits. */
  readonly ended = new Promise<void>((resolve) => (this.endNow = resolve));

  constructor(input: ScreenInput) {
    this.input = input;
    this.screen = layoutScreen(input);
  }

  get ui(): UiState {
    return this.input.ui;
  }

  set(change: Partial<ScreenInput>): void {
    this.input = { ...this.input, ...change };
    this.screen = layoutScreen(this.input);
    for (const listener of this.listeners) listener();
  }

  collected(latest: { snapshot: Snapshot; now: number }): void {
    if (this.ui.quit) return;
    this.latest = latest;
    if (!this.ui.paused) this.set({ ...latest, failure: undefined });
  }

  failed(message: string, at: number): void {
    if (this.ui.paused || this.ui.quit) return;
    this.set({ failure: { message, since: this.input.failure?.since ?? at }, now: at });
  }

  /** Ends the loop as `q` does. */
  end(): void {
    if (!this.ui.quit) this.set({ ui: { ...this.ui, quit: true } });
    this.wake?.();
    this.endNow();
  }

  key(key: Key): void {
    const ui = applyKey(this.ui, key, this.screen.onScreen);
    if (ui === this.ui) return;
    const resumed = this.ui.paused && !ui.paused;
    this.set({ ui, ...(resumed && this.latest ? this.latest : {}) });
    if (ui.quit) this.end();
  }

  /** Waits `ms`, or less when the user quits. */
  nextRefresh(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  readonly subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly lines = (): ScreenLine[] => this.screen.lines;
}

function TopScreen({ store }: { store: TopStore }) {
  const lines = useSyncExternalStore(store.subscribe, store.lines);
  useInput((input, key) => store.key({ ...key, input }));
  return (
    <Box flexDirection="column">
      {lines.map((line, i) => (
        <Text key={i} wrap="truncate-end">
          {line.length === 0
            ? ' '
            : line.map((s, j) => (
                <Text key={j} color={s.color} dimColor={s.dim} bold={s.bold} inverse={s.inverse}>
                  {s.text}
                </Text>
              ))}
        </Text>
      ))}
    </Box>
  );
}

function sizeOf(stdout: NodeJS.WriteStream): TerminalSize {
  return { columns: stdout.columns || 80, rows: stdout.rows || 24 };
}
