/**
 * One AbortSignal for the whole run: the first Ctrl-C (or SIGTERM) aborts it so long work can stop
 * cleanly and report what it did; a second Ctrl-C exits at once with 130.
 */
const controller = new AbortController();
let installed = false;

export function installInterruptHandlers(onForce: () => void): void {
  if (installed) return;
  installed = true;
  const handle = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      onForce();
      return;
    }
    controller.abort(new Error(`received ${signal}`));
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
}

export const interruptSignal: AbortSignal = controller.signal;
