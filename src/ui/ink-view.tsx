import { Box, Static, Text, render } from 'ink';
import { FRAME_MS, throttleFrames, type LiveView, type TerminalOptions } from './live-view';

interface ScreenProps {
  notes: readonly string[];
  live: readonly string[];
}

/** Finished lines written once above, the live region redrawn in place below, one terminal row per line. */
export function LiveScreen({ notes, live }: ScreenProps) {
  return (
    <>
      <Static items={[...notes]}>{(note, i) => <Text key={i}>{note}</Text>}</Static>
      <Box flexDirection="column">
        {live.map((line, i) => (
          <Text key={i} wrap="truncate-end">
            {line}
          </Text>
        ))}
      </Box>
    </>
  );
}

/**
 * The live region cut to the terminal's height, less a row: a frame as tall as the terminal makes Ink clear the
 * whole screen and its scrollback at every redraw.
 */
function fitRows(text: string, rows: number): string[] {
  const lines = text === '' ? [] : text.split('\n');
  const room = Math.max(1, rows - 1);
  if (lines.length <= room) return lines;
  const hidden = lines.length - room + 1;
  return [...lines.slice(0, room - 1), `… ${hidden} more line${hidden > 1 ? 's' : ''}`];
}

/** The terminal renderer of the live-view contract: the view's text in Ink, at most one frame per FRAME_MS. */
export function inkView<S>({ spec, stream, style }: TerminalOptions<S>): Promise<LiveView<S>> {
  const notes: string[] = [];
  let live = spec.waiting ?? '';
  const screen = () => <LiveScreen notes={notes} live={fitRows(live, stream.rows)} />;
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
