// The stdout sink (`stdout()`, and `pbx run --from T` without --to): each value one line on the process's standard
// output, written before the batch commits, as Cassandra's and Redis's writes are. stdout cannot take part in a Kafka
// transaction, so this is at least once: a run stopped in the middle of a batch prints that batch again.
import type { Writable } from 'node:stream';
import { claimBrokenPipe } from '../../cli/broken-pipe';
import { UserError } from '../../cli/errors';
import { encodeLine } from '../shell/lines';
import type { SinkWrite, SinkWriter } from './types';

/** The reader of stdout went away (EPIPE: `| head` exited). The run ends cleanly; the batch is not committed. */
export class StdoutClosed extends Error {
  constructor(options: { cause?: unknown } = {}) {
    super('stdout was closed by its reader', options);
    this.name = 'StdoutClosed';
  }
}

/** How much text is handed to stdout at a time: a pipe takes 64 KiB; fewer, larger writes cost less. */
const CHUNK_CHARS = 16 * 1024;

/**
 * Prints a batch's values one a line (encodeLine: a string as it is, anything else as compact JSON, a string with a
 * newline in it as JSON so that a value stays one line). `write` resolves once the stream took every line (for a pipe:
 * once it is in the pipe), so a reader that stops reading holds the pipeline back instead of filling memory.
 */
export function openStdoutSink(stream: Writable): SinkWriter {
  let failed: NodeJS.ErrnoException | undefined;
  // Without a listener an error on stdout is thrown from nowhere; it is reported by the next write instead.
  const onError = (error: NodeJS.ErrnoException) => (failed ??= error);
  stream.on('error', onError);
  const release = claimBrokenPipe();
  const send = (text: string) =>
    new Promise<void>((resolve, reject) => {
      if (failed || stream.destroyed) reject(failed ?? new StdoutClosed());
      else stream.write(text, (error) => (error ? reject(error) : resolve()));
    });
  return {
    name: 'stdout',
    async write(batch: SinkWrite[]): Promise<void> {
      let chunk = '';
      try {
        for (const { value } of batch) {
          chunk += `${encodeLine(value)}\n`;
          if (chunk.length < CHUNK_CHARS) continue;
          await send(chunk);
          chunk = '';
        }
        if (chunk !== '') await send(chunk);
      } catch (error) {
        throw stdoutFailure(error);
      }
    },
    takeWarnings: () => [],
    close(): Promise<void> {
      stream.off('error', onError);
      release();
      return Promise.resolve();
    },
  };
}

/** EPIPE (and a stream already destroyed by it) is the reader gone; anything else (ENOSPC, EIO) a failure to say. */
function stdoutFailure(error: unknown): Error {
  if (error instanceof StdoutClosed) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED') return new StdoutClosed({ cause: error });
  return new UserError(`Printing to stdout failed: ${(error as Error).message}.`, {
    code: 'STDOUT_FAILED',
    hint: 'Nothing of the batch being printed was committed: the next run prints it again from its first value.',
    cause: error,
  });
}
