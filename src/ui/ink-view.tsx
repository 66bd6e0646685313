import { Static, Text, render } from 'ink';
import { FRAME_MS, throttleFrames, type LiveView, type TerminalOptions } from './live-view';

interface ScreenProps {
  notes: readonly string[];
  live: string;
}

/** Finished lines written once above, the live region redrawn in place below. */
export function LiveScreen({ notes, live }: ScreenProps) {
  return (
    <>
      <Static items={[...notes]}>{(note, i) => <Text key={i}>{note}</Text>}</Static>
      {live ? <Text>{live}</Text> : null}
    </>
  );
}

/** The terminal renderer of the live-view contract: the view's text in Ink, at most one frame per FRAME_MS. */
export function inkView<S>({ spec, stream, style }: TerminalOptions<S>): Promise<LiveView<S>> {
  const notes: string[] = [];
  let live = spec.waiting ?? '';
  const screen = () => <LiveScreen notes={notes} live={live} />;
  // Ctrl-C belongs to the command (it stops cleanly, then reports); the console is not patched.
  const app = render(screen(), { stdout: stream, exitOnCtrlC: false, patchConsole: false });
  const frames = throttleFrames((state: S) => {
    live = spec.render(state, style);
    app.rerender(screen());
  }, FRAME_MS);
  return Promise.resolve({
    update: frames.update,
    note: (text) => {
      notes.push(text);
      app.rerender(screen());
    },
    stop: () => {
      frames.flush();
      app.unmount();
      return Promise.resolve();
    },
  });
}
