import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { UserError } from '../../cli/errors';

/** Where a source's bytes come from: a file path or "-" for stdin, or a shell command. */
export interface InputOptions {
  /** A file path, or "-" for stdin. */
  path?: string;
  /** A shell command whose output lines are the records. */
  exec?: string;
  /** Aborted when the replay is interrupted: a command that ends with it has not failed. */
  signal?: AbortSignal;
}

/** The raw bytes of a file, of stdin, of a command's output or of a pipe. */
export interface Input {
  name: string;
  /** Stdin, a command or a pipe, which may pause between records. */
  live: boolean;
  totalBytes?: number;
  chunks: AsyncIterable<Buffer>;
  bytesRead: () => number;
  close: () => void;
  /** Whether a file's chunks may be read into the same buffers in turn (set once the format is known). */
  reuseChunks: boolean;
  /** Settles once the input has ended; throws when a command ended in failure. */
  finished: () => Promise<void>;
}

/** Opens a file (checked readable and not empty), stdin or a command's output. */
export async function openInput(options: InputOptions): Promise<Input> {
  if (options.path && options.path !== '-') {
    const totalBytes = await checkFile(options.path);
    if (totalBytes === undefined) return streamInput(options.path, createReadStream(options.path), options);
    let bytes = 0;
    const file = await open(options.path, 'r');
    const input: Input = {
      name: options.path,
      live: false,
      totalBytes,
      chunks: fileChunks(
        file,
        (n) => (bytes += n),
        () => input.reuseChunks,
      ),
      bytesRead: () => bytes,
      close: () => void file.close().catch(() => undefined),
      reuseChunks: false,
      finished: () => Promise.resolve(),
    };
    return input;
  }
  // In pbx's own session and process group, so that it may still prompt on the terminal (ssh asking for a
  // password) and a Ctrl-C there reaches it too.
  const child = options.exec ? spawn('sh', ['-c', options.exec], { stdio: ['ignore', 'pipe', 'inherit'] }) : undefined;
  return streamInput(options.exec ? `\`${options.exec}\`` : 'stdin', child?.stdout ?? process.stdin, options, child);
}

/** Stdin, a command's output, a pipe: read as they come, for as long as they last. */
function streamInput(name: string, stream: Readable, options: InputOptions, child?: ChildProcess): Input {
  let bytes = 0;
  return {
    name,
    live: true,
    chunks: (async function* () {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        yield chunk;
      }
    })(),
    finished: async () => {
      if (!child) return;
      const [code, signal] =
        child.exitCode !== null || child.signalCode !== null
          ? [child.exitCode, child.signalCode]
          : ((await once(child, 'exit')) as [number | null, NodeJS.Signals | null]);
      // Ended by a Ctrl-C (it reaches the command too) or by pbx when the replay was interrupted: not a failure.
      if (code === 0 || signal === 'SIGINT' || options.signal?.aborted) return;
      throw commandFailed(options.exec!, code, signal);
    },
    bytesRead: () => bytes,
    close: () => {
      // All of it: `sh -c "a | b"` ended alone would leave a and b running, and the replay's pipe open.
      if (child?.pid !== undefined) {
        for (const pid of [child.pid, ...descendantsOf(child.pid)]) {
          try {
            process.kill(pid, 'SIGTERM');
          } catch {
            // ended already
          }
        }
      }
      stream.destroy();
    },
    reuseChunks: false,
  };
}

/** The processes below `pid` (its children, theirs…), from /proc, all found before any is ended. */
function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    // "pid (command) state ppid …": the command may hold spaces and parentheses.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const siblings = children.get(parent);
    if (siblings) siblings.push(Number(entry));
    else children.set(parent, [Number(entry)]);
  }
  const found = [...(children.get(pid) ?? [])];
  for (let i = 0; i < found.length; i++) found.push(...(children.get(found[i]!) ?? []));
  return found;
}

const CHUNK_BYTES = 256 * 1024;

/**
 * A file's bytes, a chunk at a time, each read when it is asked for. While `reuse()` says so, every chunk is
 * read into the same buffer, so that a file of any size allocates nothing more; a chunk is then overwritten once
 * the next one is asked for. The reads are synchronous: from the page cache a read is a copy, and an
 * asynchronous one (a thread pool's hand-off) cost 0.11 s of CPU per 1M reviews against 0.065 s; waiting for a
 * slow disk holds up nothing else the replay could do meanwhile but its progress line. Against a read stream (a
 * new buffer per chunk and its machinery), reading this way took the source's CPU for 1M reviews down by about
 * 0.25 s and a 1 GiB replay's peak memory by 15 MiB.
 */
async function* fileChunks(
  file: FileHandle,
  counted: (bytes: number) => void,
  reuse: () => boolean,
): AsyncGenerator<Buffer> {
  const shared = Buffer.allocUnsafeSlow(CHUNK_BYTES);
  try {
    for (;;) {
      const buffer = reuse() ? shared : Buffer.allocUnsafeSlow(CHUNK_BYTES);
      const bytesRead = readSync(file.fd, buffer, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) return;
      counted(bytesRead);
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await file.close().catch(() => undefined);
  }
}

/**
 * A file's size, checked readable before Kafka is asked; undefined for a pipe or a device (`<(zcat f)`, a FIFO,
 * /dev/stdin), which is read as a stream and opened only then: opened and closed here, a pipe's writer would lose
 * its reader.
 */
async function checkFile(path: string): Promise<number | undefined> {
  let size: number;
  try {
    const info = await stat(path);
    if (info.isDirectory())
      throw new UserError(`${path} is a directory, not a dataset.`, { code: 'SOURCE_UNREADABLE' });
    if (!info.isFile()) return undefined;
    size = info.size;
    const handle = await open(path, 'r');
    await handle.close();
  } catch (error) {
    if (error instanceof UserError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(
      code === 'ENOENT' ? `${path} does not exist.` : `Cannot read ${path}: ${(error as Error).message}`,
      {
        code: code === 'ENOENT' ? 'SOURCE_NOT_FOUND' : 'SOURCE_UNREADABLE',
        nextSteps: ['Check the path (relative paths start from the current directory), or use - for stdin.'],
      },
    );
  }
  if (size === 0) throw emptySource(path);
  return size;
}

function commandFailed(command: string, code: number | null, signal: NodeJS.Signals | null): UserError {
  // The shell's own codes for a command it could not run.
  const meaning = code === 127 ? ' (no such command)' : code === 126 ? ' (not executable)' : '';
  const how = code !== null ? `exited with code ${code}${meaning}` : `was killed (${signal})`;
  return new UserError(`\`${command}\` ${how}; its own error output, if any, is above`, {
    code: 'SOURCE_COMMAND_FAILED',
    nextSteps: ['Run the command by itself to see why it fails.'],
  });
}

/** A source with nothing to replay: empty, or holding no records (what it holds says which). */
export function emptySource(name: string, holds?: string): UserError {
  const what = holds ? `holds ${holds}` : 'is empty';
  return new UserError(`${name} ${what}: there is nothing to replay.`, {
    code: 'SOURCE_EMPTY',
    nextSteps: ['Generate a sample with `pbx data gen reviews --count 1000 --out reviews.json`.'],
  });
}

/** A FIFO, the shell's <(cmd), a device: not a file to read again. (A path that is not there is the source's to say.) */
export function isPipe(path: string): boolean {
  try {
    const info = statSync(path);
    return !info.isFile() && !info.isDirectory();
  } catch {
    return false;
  }
}
