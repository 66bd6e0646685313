import { describe, expect, it } from 'vitest';
import { settable } from '../../src/async';
import { withPauses } from '../../src/flow/sources/pauses';

/** A live source whose chunks come when the test says. */
function liveSource() {
  const waiting: ((chunk: IteratorResult<string>) => void)[] = [];
  const chunks: AsyncGenerator<string> = {
    next: () => new Promise((resolve) => waiting.push(resolve)),
    return: () => Promise.resolve({ done: true, value: undefined }),
    throw: (error: Error) => Promise.reject(error),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  const say = (chunk: string) => waiting.shift()!({ done: false, value: chunk });
  const end = () => waiting.shift()!({ done: true, value: undefined });
  return { chunks, say, end, asked: () => waiting.length };
}

describe('withPauses', () => {
  it('passes chunks that come at once without a pause', async () => {
    const source = liveSource();
    let pauses = 0;
    const read = withPauses(source.chunks, () => Promise.resolve(void pauses++), new AbortController().signal, 1000);
    const first = read.next();
    source.say('a');
    expect(await first).toEqual({ done: false, value: 'a' });
    const last = read.next();
    source.end();
    expect(await last).toEqual({ done: true, value: undefined });
    expect(pauses).toBe(0);
  });

  it('pauses once when the next chunk is late, then goes on with it', async () => {
    const source = liveSource();
    const paused = settable<void>();
    const read = withPauses(source.chunks, () => Promise.resolve(paused.resolve()), new AbortController().signal, 0);
    const next = read.next();
    await paused.promise; // the window passed with nothing said
    source.say('late');
    expect(await next).toEqual({ done: false, value: 'late' });
  });

  it('ends when interrupted during a pause: a silent source would hold the flow for ever', async () => {
    const source = liveSource();
    const interrupt = new AbortController();
    const read = withPauses(source.chunks, () => Promise.resolve(interrupt.abort()), interrupt.signal, 0);
    expect(await read.next()).toEqual({ done: true, value: undefined });
    expect(source.asked()).toBe(1); // the read in flight is left to the source's close
  });
});
