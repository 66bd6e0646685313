/**
 * One AbortSignal for the whole run: the first Ctrl-C (or SIGTERM) aborts it so long work can stop
 * cleanly and report what it did; a second one exits at once, with 130 (or 143 for SIGTERM).
 */
const controller = new AbortController();
let installed = false;
let received: NodeJS.Signals | undefined;
let forceNote: (() => string) | undefined;

/** What a second Ctrl-C, which stops at once, leaves said: set by long work that knows where it stands. */
export function setForceNote(note: (() => string) | undefined): void {
  forceNote = note;
}

/** The signal that interrupted the run, if one did. */
export function receivedSignal(): NodeJS.Signals | undefined {
  return received;
}

export function installInterruptHandlers(onForce: () => void): void {
  if (installed) return;
  installed = true;
  const handle = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      if (forceNote) process.stderr.write(`\n${forceNote()}\n`);
      onForce();
      return;
    }
    received = signal;
    controller.abort(new Error(`received ${signal}`));
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
}

export const interruptSignal: AbortSignal = controller.signal;
