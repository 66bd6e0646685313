import { settlesWithin } from '../../async';

/**
 * A live source's chunks, calling `onPause` when the next is not there within `windowMs`: what was read before
 * the source fell silent leaves then, not when it next says something. An interrupt ends the wait for it: a
 * silent pipe or command would hold the flow for ever.
 */
export async function* withPauses<T>(
  chunks: AsyncGenerator<T>,
  onPause: () => Promise<void>,
  signal: AbortSignal,
  windowMs: number,
): AsyncGenerator<T> {
  for (;;) {
    const next = chunks.next();
    if (!(await settlesWithin(next, windowMs))) {
      await onPause();
      if (!(await settlesWithin(next, Infinity, signal))) {
        next.catch(() => undefined); // the source is closed after the interrupt, which may end the read in an error
        return;
      }
    }
    const result = await next;
    if (result.done) return;
    yield result.value;
  }
}
