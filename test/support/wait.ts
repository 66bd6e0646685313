import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions<T> {
  /** What is awaited, as the message says when it does not come: "Kafka to hold 100 records of topic x". */
  what: string;
  timeout: number;
  /** Whether what `look` saw is what is awaited; by default, whether it is truthy. */
  until?: (seen: T) => boolean;
  /** Between two looks. */
  interval?: number;
  /** Why what is awaited can no longer come (a process that ended), to stop at once; undefined while it can. */
  giveUpIf?: () => string | undefined;
}

/**
 * Looks at something (`look`) until it is as awaited, and returns what was seen then. A test waits for the
 * condition a pause would only guess at; when it does not come, the error names what was awaited and what was
 * seen last (the value, or the error the look threw).
 */
export async function waitFor<T>(look: () => T | Promise<T>, options: WaitOptions<T>): Promise<T> {
  const { what, timeout, until = Boolean, interval = 100, giveUpIf } = options;
  const deadline = Date.now() + timeout;
  let last = 'nothing yet';
  for (;;) {
    try {
      const seen = await look();
      if (until(seen)) return seen;
      last = JSON.stringify(seen) ?? String(seen);
    } catch (error) {
      last = `an error: ${(error as Error).message}`;
    }
    const reason = giveUpIf?.();
    if (reason !== undefined)
      throw new Error(`Stopped waiting for ${what}: ${reason}; last seen: ${last.slice(0, 2000)}`);
    if (Date.now() >= deadline) throw new Error(`Waited ${timeout} ms for ${what}; last seen: ${last.slice(0, 2000)}`);
    await sleep(interval);
  }
}

/** Everything `stream` has said so far, gathered as it comes (for waiting on a child's output). */
export function gather(stream: NodeJS.ReadableStream | null | undefined): { text: () => string } {
  const chunks: string[] = [];
  stream?.on('data', (chunk: Buffer | string) => chunks.push(chunk.toString()));
  return { text: () => chunks.join('') };
}

/** What `promise` rejected with, or undefined if it resolved (for a test that expects a failure and looks at it). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}
