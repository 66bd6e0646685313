import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';

/** A stream that keeps what is written to it, as text. */
export function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

/** A terminal of a given size, as Ink and listr2 see one: it records every write. */
export class FakeTerminal extends EventEmitter {
  readonly isTTY = true;
  readonly writes: string[] = [];
  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {
    super();
  }
  write(chunk: string | Uint8Array, ...rest: unknown[]): boolean {
    this.writes.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    const callback = rest.at(-1);
    if (typeof callback === 'function') (callback as () => void)();
    return true;
  }
  get text(): string {
    return this.writes.join('');
  }
  /** The terminal as Output takes it. */
  get stream(): PassThrough {
    return this as unknown as PassThrough;
  }
}
