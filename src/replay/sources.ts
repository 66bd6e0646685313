import { spawn } from 'node:child_process';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { extname } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { UserError, UsageError } from '../cli/errors';
import { isJson } from './json-check';

export const FORMATS = ['ndjson', 'json', 'csv', 'lines'] as const;
export type Format = (typeof FORMATS)[number];

/**
 * One entry of the source, in order. `index` counts every entry, bad ones included, so resuming is exact.
 * `raw` is the line's exact bytes for NDJSON and plain lines, the entry's text for CSV and JSON arrays. A line
 * is a view of the chunk read from the file, valid until the next batch of entries is asked for.
 * `value` is the parsed record; undefined when the source was opened with `checkOnly`.
 */
export type SourceItem =
  | { kind: 'record'; index: number; line: number; value: unknown; raw: Buffer | string }
  | { kind: 'bad'; index: number; line: number; raw: Buffer | string; reason: string };

export interface Source {
  /** What to call the source in messages ("reviews.json", "stdin", "`vmstat 1`"). */
  name: string;
  format: Format;
  /** Compressed: progress then goes by the compressed bytes read, the only size known up front. */
  gzipped: boolean;
  /** The entries, a chunk's worth at a time: one await per chunk, not per record. */
  batches: AsyncGenerator<SourceItem[]>;
  /** Compressed size on disk, when known, for progress and ETA. */
  totalBytes?: number;
  bytesRead(): number;
  /** Stops reading (and ends an --exec command). */
  close(): void;
}

export interface SourceOptions {
  /** A file path, or "-" for stdin. */
  path?: string;
  /** A shell command whose output lines are the records. */
  exec?: string;
  format?: Format;
  /** NDJSON lines are only checked to be JSON, not parsed: several times faster, for when no field is read. */
  checkOnly?: boolean;
}

/** Opens a dataset as a stream of records: memory stays flat whatever its size. */
export async function openSource(options: SourceOptions): Promise<Source> {
  const input = await openInput(options);
  const compressed = await peek(input.chunks, 2);
  const gzipped = compressed.head.length >= 2 && compressed.head[0] === 0x1f && compressed.head[1] === 0x8b;
  const decompressed = gzipped
    ? Readable.from(compressed.chunks, { objectMode: false }).pipe(createGunzip())
    : compressed.chunks;
  const { head: headBytes, chunks } = await peek(decompressed, 64);
  const head = headBytes.toString('utf8');
  if (head.length === 0 && input.totalBytes !== undefined) throw emptySource(input.name);
  const format = options.format ?? detectFormat(options.path, head);
  // Lines are handled a chunk at a time and copied before the next is asked for; gunzip and the CSV and JSON
  // parsers may still hold a chunk after asking for the next one.
  input.reuseChunks = !gzipped && (format === 'ndjson' || format === 'lines');
  return {
    name: gzipped ? `${input.name} (gzip)` : input.name,
    format,
    gzipped,
    batches: readItems(chunks, format, input.name, options.checkOnly ?? false),
    totalBytes: input.totalBytes,
    bytesRead: input.bytesRead,
    close: input.close,
  };
}

/** The raw bytes of a file, of stdin or of a command's output. */
interface Input {
  name: string;
  totalBytes?: number;
  chunks: AsyncIterable<Buffer>;
  bytesRead: () => number;
  close: () => void;
  /** Whether a file's chunks may be read into the same buffers in turn (set once the format is known). */
  reuseChunks: boolean;
}

async function openInput(options: SourceOptions): Promise<Input> {
  let bytes = 0;
  const bytesRead = () => bytes;
  if (options.path && options.path !== '-') {
    const totalBytes = await checkFile(options.path);
    const file = await open(options.path, 'r');
    const input: Input = {
      name: options.path,
      totalBytes,
      chunks: fileChunks(
        file,
        (n) => (bytes += n),
        () => input.reuseChunks,
      ),
      bytesRead,
      close: () => void file.close().catch(() => undefined),
      reuseChunks: false,
    };
    return input;
  }
  const child = options.exec ? spawn('sh', ['-c', options.exec], { stdio: ['ignore', 'pipe', 'inherit'] }) : undefined;
  const stream: Readable = child?.stdout ?? process.stdin;
  return {
    name: options.exec ? `\`${options.exec}\`` : 'stdin',
    chunks: (async function* () {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        yield chunk;
      }
    })(),
    bytesRead,
    close: () => {
      child?.kill('SIGTERM');
      stream.destroy();
    },
    reuseChunks: false,
  };
}

const CHUNK_BYTES = 256 * 1024;

/**
 * A file's bytes, a chunk at a time, read one chunk ahead: the next read is asked for before this chunk is
 * handled. While `reuse()` says so, two buffers take turns, so that a file of any size
 * allocates nothing more; a chunk is then overwritten once the chunk after it has been asked for. Against a
 * read stream (a new buffer per chunk and its machinery), this took the source's CPU for 1M reviews down by
 * about 0.2 s and a 1 GiB replay's peak memory by 15 MiB.
 */
async function* fileChunks(
  file: FileHandle,
  counted: (bytes: number) => void,
  reuse: () => boolean,
): AsyncGenerator<Buffer> {
  const buffers = [Buffer.allocUnsafeSlow(CHUNK_BYTES), Buffer.allocUnsafeSlow(CHUNK_BYTES)];
  let turn = 0;
  const read = async () => {
    const buffer = reuse() ? buffers[turn++ % 2]! : Buffer.allocUnsafeSlow(CHUNK_BYTES);
    const { bytesRead } = await file.read(buffer, 0, CHUNK_BYTES, null);
    return buffer.subarray(0, bytesRead);
  };
  let next = read();
  next.catch(() => undefined); // a failed read is thrown where it is awaited, not reported as unhandled
  try {
    for (;;) {
      const chunk = await next;
      if (chunk.length === 0) return;
      counted(chunk.length);
      next = read();
      next.catch(() => undefined);
      yield chunk;
    }
  } finally {
    await file.close().catch(() => undefined);
  }
}

async function checkFile(path: string): Promise<number> {
  let size: number;
  try {
    const info = await stat(path);
    if (info.isDirectory())
      throw new UserError(`${path} is a directory, not a dataset.`, { code: 'SOURCE_UNREADABLE' });
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

function emptySource(name: string): UserError {
  return new UserError(`${name} is empty: there is nothing to replay.`, {
    code: 'SOURCE_EMPTY',
    nextSteps: ['Generate a sample with `pbx data gen reviews --count 1000 --out reviews.json`.'],
  });
}

/**
 * Reads the first `count` bytes (or all, if fewer) and returns them with the chunks, which still start at byte 0.
 */
async function peek(
  source: AsyncIterable<Buffer>,
  count: number,
): Promise<{ head: Buffer; chunks: AsyncIterable<Buffer> }> {
  const iterator = source[Symbol.asyncIterator]();
  const first: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < count) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    first.push(next.value);
    length += next.value.length;
  }
  async function* all(): AsyncGenerator<Buffer> {
    yield* first;
    if (done) return;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  return { head: Buffer.concat(first), chunks: all() };
}

/** The format from an explicit extension, else from the first character of the content. */
export function detectFormat(path: string | undefined, head: string): Format {
  const extension = extname((path ?? '').replace(/\.gz$/i, '')).toLowerCase();
  if (extension === '.csv') return 'csv';
  if (extension === '.ndjson' || extension === '.jsonl') return 'ndjson';
  const first = head.trimStart()[0];
  if (first === '[') return 'json';
  if (first === '{' || extension === '.json') return 'ndjson';
  return 'lines';
}

function readItems(
  chunks: AsyncIterable<Buffer>,
  format: Format,
  name: string,
  checkOnly: boolean,
): AsyncGenerator<SourceItem[]> {
  switch (format) {
    case 'ndjson':
    case 'lines':
      return readLines(chunks, format, checkOnly);
    case 'csv':
      return readCsv(Readable.from(chunks, { objectMode: false }), name);
    case 'json':
      return readJsonArray(Readable.from(chunks, { objectMode: false }), name);
  }
}

async function* readLines(
  chunks: AsyncIterable<Buffer>,
  format: 'ndjson' | 'lines',
  checkOnly: boolean,
): AsyncGenerator<SourceItem[]> {
  let line = 0;
  let index = 0;
  const toItem = (raw: Buffer): SourceItem | undefined => {
    line++;
    if (format === 'lines')
      return { kind: 'record', index: index++, line, value: checkOnly ? undefined : raw.toString(), raw };
    if (isBlank(raw)) return undefined; // blank lines between JSON records are not records
    if (checkOnly && isJson(raw)) return { kind: 'record', index: index++, line, value: undefined, raw };
    try {
      const value: unknown = JSON.parse(raw.toString());
      return { kind: 'record', index: index++, line, value: checkOnly ? undefined : value, raw };
    } catch (error) {
      return { kind: 'bad', index: index++, line, raw, reason: `invalid JSON: ${(error as Error).message}` };
    }
  };
  const toItems = (lines: Buffer[]) => {
    const items: SourceItem[] = [];
    for (const raw of lines) {
      const item = toItem(raw);
      if (item) items.push(item);
    }
    return items;
  };
  const splitter = new LineSplitter();
  for await (const chunk of chunks) yield toItems(splitter.push(chunk));
  yield toItems(splitter.end());
}

function isBlank(bytes: Buffer): boolean {
  for (const c of bytes) if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  return true;
}

/** Cuts a byte stream into lines (without \n or \r\n), chunk by chunk, keeping a line split across chunks. */
export class LineSplitter {
  private rest: Buffer | undefined;

  /** The lines this chunk completes. They are views of the chunk: no copy. */
  push(chunk: Buffer): Buffer[] {
    const lines: Buffer[] = [];
    let start = 0;
    if (this.rest) {
      const newline = chunk.indexOf(0x0a);
      if (newline === -1) {
        this.rest = Buffer.concat([this.rest, chunk]);
        return lines;
      }
      const joined = Buffer.concat([this.rest, chunk.subarray(0, newline)]);
      this.rest = undefined;
      lines.push(withoutReturn(joined, 0, joined.length));
      start = newline + 1;
    }
    for (let newline = chunk.indexOf(0x0a, start); newline !== -1; newline = chunk.indexOf(0x0a, start)) {
      lines.push(withoutReturn(chunk, start, newline));
      start = newline + 1;
    }
    if (start < chunk.length) this.rest = Buffer.from(chunk.subarray(start)); // a copy: the chunk can go
    return lines;
  }

  /** The last line, when the stream does not end with a newline. */
  end(): Buffer[] {
    const rest = this.rest;
    this.rest = undefined;
    return rest ? [withoutReturn(rest, 0, rest.length)] : [];
  }
}

function withoutReturn(bytes: Buffer, start: number, end: number): Buffer {
  return bytes.subarray(start, end > start && bytes[end - 1] === 0x0d ? end - 1 : end);
}

async function* readCsv(stream: Readable, name: string): AsyncGenerator<SourceItem[]> {
  const { parse } = await import('csv-parse');
  // Rows of any width come through, so a short or long row is reported at its line instead of ending the file.
  const parser = stream.pipe(parse({ relax_column_count: true, info: true, skip_empty_lines: true, bom: true }));
  let header: string[] | undefined;
  let index = 0;
  try {
    for await (const entry of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const { record, info } = entry;
      if (!header) {
        header = record;
        continue;
      }
      const raw = record.join(',');
      if (record.length !== header.length) {
        yield [
          {
            kind: 'bad',
            index: index++,
            line: info.lines,
            raw,
            reason: `expected ${header.length} columns, got ${record.length}`,
          },
        ];
        continue;
      }
      const value = Object.fromEntries(header.map((column, i) => [column, record[i]]));
      yield [{ kind: 'record', index: index++, line: info.lines, value, raw }];
    }
  } catch (error) {
    const e = error as Error & { lines?: number };
    // A broken quote cannot be resynchronised: the rest of the file is unreadable.
    throw new UserError(`${name}:${e.lines ?? '?'}: invalid CSV: ${e.message}`, {
      code: 'SOURCE_MALFORMED',
      nextSteps: ['Fix the quoting at that line: everything after it cannot be read.'],
    });
  }
}

async function* readJsonArray(stream: Readable, name: string): AsyncGenerator<SourceItem[]> {
  const [{ default: chain }, { parser }, { streamArray }] = await Promise.all([
    import('stream-chain'),
    import('stream-json'),
    import('stream-json/streamers/stream-array.js'),
  ]);
  const pipeline = chain([stream, parser(), streamArray()]);
  let index = 0;
  try {
    for await (const { value } of pipeline as AsyncIterable<{ key: number; value: unknown }>) {
      yield [{ kind: 'record', index: index++, line: 0, value, raw: JSON.stringify(value) }];
    }
  } catch (error) {
    // Inside one JSON document there is no next line to resume at: the rest cannot be read.
    throw new UserError(`${name}: invalid JSON after ${index} element(s): ${(error as Error).message}`, {
      code: 'SOURCE_MALFORMED',
      nextSteps: ['Fix the file, or convert it to one JSON object per line (NDJSON) so bad records can be skipped.'],
    });
  }
}

/** A value at a dotted path ("user.id"), or undefined. */
export function getPath(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

export function checkFormat(format: string | undefined): Format | undefined {
  if (format === undefined) return undefined;
  if ((FORMATS as readonly string[]).includes(format)) return format as Format;
  throw new UsageError(`Unknown format ${format}.`, { nextSteps: [`Use one of: ${FORMATS.join(', ')}.`] });
}
