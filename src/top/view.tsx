// A placeholder for pbx top's full-screen Ink view (top-view's part replaces this file): until it lands, the
// terminal gets the plain-text snapshot, redrawn every second at the top of the screen.
import { interruptSignal } from '../cli/interrupt';
import { makeStyler } from '../cli/output';
import type { Collector } from './collect';
import { snapshotsEvery } from './collect-every';
import { snapshotText } from './plain';

export interface TopViewOptions {
  collector: Collector;
  stdout: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
}

/** Draws snapshots on the terminal until Ctrl-C. */
export async function runTopView({ collector, stdout }: TopViewOptions): Promise<void> {
  const style = makeStyler(true);
  for await (const snapshot of snapshotsEvery(collector, { signal: interruptSignal })) {
    stdout.write(`\u001B[H\u001B[2J${snapshotText(snapshot, style)}\n`);
  }
}
