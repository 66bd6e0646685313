import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, readdirSync, readFileSync, readSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { extname } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { UserError, UsageError } from '../cli/errors';
import type { ByteRange } from '../clients/record-batch';
import { LineKind, scanLines } from './json-check';

export const FORMATS = ['ndjson', 'json', 'csv', 'lines'] as const;
export type Format = (typeof FORMATS)[number];

/**
 * One entry of the source, in order. `index` counts every entry, bad ones included, so resuming is exact.
 * Its exact bytes are `bytes[start, end)`: for NDJSON and plain lines, the line in the chunk read from the file
 * (no copy, and no view made: a million views cost a tenth of a second), valid until the next batch of entries
 * is asked for; for CSV and JSON arrays, the entry's text. `value` is the parsed record; undefined when the
 * source was opened with `checkOnly`.
 */
export type SourceItem = ByteRange &
  (
    | { kind: 'record'; index: number; line: number; value: unknown }
    | { kind: 'bad'; index: number; line: number; reason: string }
  );

/** An entry's bytes as text. */
export function textOf(item: ByteRange): string {
  return item.bytes.toString('utf8', item.start, item.end);
}

/** Text as the bytes of an entry. */
function bytesOf(text: string): ByteRange {
  const bytes = Buffer.from(text);
  return { bytes, start: 0, end: bytes.length };
}

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
  /** Stdin, a command or a pipe: it may pause between records for as long as it likes; a file is read at once. */
  live: boolean;
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
  /** Aborted when the replay is interrupted: a command that ends with it has not failed. */
  signal?: AbortSignal;
}

/** Opens a dataset as a stream of records: memory stays flat whatever its size. */
export async function openSource(options: SourceOptions): Promise<Source> {
  const input = await openInput(options);
  const compressed = await peek(input.chunks, (head) => head.length >= 2);
  const gzipped = compressed.head.length >= 2 && compressed.head[0] === 0x1f && compressed.head[1] === 0x8b;
  const decompressed = gzipped ? gunzip(compressed.chunks, input.name) : compressed.chunks;
  // Enough to tell the format: 64 bytes, or the first line (a live source may say no more for a while).
  const peeked = await peek(decompressed, (head) => head.length >= 64 || /\S.*\n/.test(head.toString('latin1')));
  // A UTF-8 byte-order mark (Windows editors and exports write one) says how the text is encoded: it is no
  // part of the first record.
  const bom = peeked.head[0] === 0xef && peeked.head[1] === 0xbb && peeked.head[2] === 0xbf;
  // UTF-16's marks ("Unicode" in Windows' save dialogs): every other byte a zero, no record would read.
  if ((peeked.head[0] === 0xff && peeked.head[1] === 0xfe) || (peeked.head[0] === 0xfe && peeked.head[1] === 0xff)) {
    input.close();
    throw new UserError(`${input.name} is UTF-16 text; pbx reads UTF-8.`, {
      code: 'SOURCE_MALFORMED',
      nextSteps: [`Convert it: \`iconv -f UTF-16 -t UTF-8 ${input.name} > utf8.json\`, then replay utf8.json.`],
    });
  }
  const chunks = bom ? skipBytes(peeked.chunks, 3) : peeked.chunks;
  const head = peeked.head.subarray(bom ? 3 : 0).toString('utf8');
  if (head.length === 0 && input.totalBytes !== undefined) throw emptySource(input.name);
  const format = options.format ?? detectFormat(options.path, head);
  const first = head.trimStart()[0];
  if (format === 'json' && first !== undefined && first !== '[') {
    input.close();
    throw new UserError(`${input.name} is not a JSON array (it starts with ${JSON.stringify(first)}).`, {
      code: 'SOURCE_MALFORMED',
      nextSteps: [
        first === '{'
          ? 'For one JSON value per line, give --format ndjson, or leave --format out.'
          : 'Give the --format the data is in, or leave --format out.',
      ],
    });
  }
  // Lines are handled a chunk at a time and copied before the next is asked for; gunzip and the CSV and JSON
  // parsers may still hold a chunk after asking for the next one.
  input.reuseChunks = !gzipped && (format === 'ndjson' || format === 'lines');
  return {
    name: gzipped ? `${input.name} (gzip)` : input.name,
    format,
    gzipped,
    batches: (async function* () {
      let items = 0;
      for await (const batch of readItems(chunks, format, input.name, options.checkOnly ?? false)) {
        items += batch.length;
        yield batch;
      }
      await input.finished(); // after every record: what a failing command printed is delivered first
      // A file of no records is a mistake, as an empty one is; a command or a pipe may well print nothing.
      if (items === 0 && input.totalBytes !== undefined) throw emptySource(input.name, NOTHING_BUT[format]);
    })(),
    totalBytes: input.totalBytes,
    live: input.live,
    bytesRead: input.bytesRead,
    close: input.close,
  };
}

async function* skipBytes(chunks: AsyncIterable<Buffer>, count: number): AsyncGenerator<Buffer> {
  let left = count;
  for await (const chunk of chunks) {
    const skip = Math.min(left, chunk.length);
    left -= skip;
    if (skip < chunk.length) yield skip > 0 ? chunk.subarray(skip) : chunk;
  }
}

/** Decompressed bytes; gzip data that is cut short or damaged is the source's fault, said as such. */
async function* gunzip(chunks: AsyncIterable<Buffer>, name: string): AsyncGenerator<Buffer> {
  try {
    yield* Readable.from(chunks, { objectMode: false }).pipe(createGunzip());
  } catch (error) {
    if (!(error as NodeJS.ErrnoException).code?.startsWith('Z_')) throw error;
    throw new UserError(`${name}: its gzip data is cut short or damaged (${(error as Error).message})`, {
      code: 'SOURCE_MALFORMED',
      nextSteps: [`Check it with \`gzip -t ${name}\`; a copy still being written is cut short.`],
    });
  }
}

/** The raw bytes of a file, of stdin, of a command's output or of a pipe. */
interface Input {
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

async function openInput(options: SourceOptions): Promise<Input> {
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
function streamInput(name: string, stream: Readable, options: SourceOptions, child?: ChildProcess): Input {
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

/** What a file that is not empty holds when it holds no records. */
const NOTHING_BUT: Record<Format, string> = {
  ndjson: 'blank lines only',
  json: 'an empty JSON array',
  csv: 'a header and no rows',
  lines: 'no lines', // every line is a record, a blank one too
};

function emptySource(name: string, holds?: string): UserError {
  const what = holds ? `holds ${holds}` : 'is empty';
  return new UserError(`${name} ${what}: there is nothing to replay.`, {
    code: 'SOURCE_EMPTY',
    nextSteps: ['Generate a sample with `pbx data gen reviews --count 1000 --out reviews.json`.'],
  });
}

/**
 * Reads the first `count` bytes (or all, if fewer) and returns them with the chunks, which still start at byte 0.
 */
async function peek(
  source: AsyncIterable<Buffer>,
  enough: (head: Buffer) => boolean,
): Promise<{ head: Buffer; chunks: AsyncIterable<Buffer> }> {
  const iterator = source[Symbol.asyncIterator]();
  const first: Buffer[] = [];
  let done = false;
  while (!enough(Buffer.concat(first))) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    first.push(next.value);
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
      return readJsonArray(chunks, name);
  }
}

async function* readLines(
  chunks: AsyncIterable<Buffer>,
  format: 'ndjson' | 'lines',
  checkOnly: boolean,
): AsyncGenerator<SourceItem[]> {
  let line = 0;
  let index = 0;
  let items: SourceItem[] = [];
  const toItem = (bytes: Buffer, start: number, end: number, kind: LineKind) => {
    line++;
    if (kind === LineKind.TooLong) {
      const why = bytes.subarray(start, end).includes(0x0d)
        ? `its lines seem to end in \\r alone (old Mac text), which \`tr '\\r' '\\n'\` turns into \\n`
        : 'no line end in it: binary data?';
      const reason = `a line longer than ${MAX_LINE_BYTES / 1024 / 1024} MiB (${why})`;
      items.push({ kind: 'bad', index: index++, line, reason, bytes, start, end });
      return;
    }
    if (format === 'lines') {
      const value = checkOnly ? undefined : bytes.toString('utf8', start, end);
      items.push({ kind: 'record', index: index++, line, value, bytes, start, end });
      return;
    }
    if (kind === LineKind.Blank) return; // blank lines between JSON records are not records
    if (kind === LineKind.Json) {
      items.push({ kind: 'record', index: index++, line, value: undefined, bytes, start, end });
      return;
    }
    try {
      const value: unknown = JSON.parse(bytes.toString('utf8', start, end));
      items.push({ kind: 'record', index: index++, line, value: checkOnly ? undefined : value, bytes, start, end });
    } catch (error) {
      const reason = `invalid JSON: ${(error as Error).message}`;
      items.push({ kind: 'bad', index: index++, line, reason, bytes, start, end });
    }
  };
  // Only checked, NDJSON lines need no parse; else each is parsed (and the scan only finds the lines).
  const splitter = new LineSplitter(format === 'ndjson' && checkOnly);
  const taken = () => {
    const batch = items;
    items = [];
    return batch;
  };
  for await (const chunk of chunks) {
    splitter.push(chunk, toItem);
    yield taken();
  }
  splitter.end(toItem);
  yield taken();
}

/**
 * A line longer than this is no record Kafka would take (its requests are at most 100 MiB by default, its records
 * 1 MiB): it is a bad record, and only its first KiB is held, so that a file with no line ends in it (binary data,
 * old Mac text with \r alone) cannot fill the memory.
 */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

/**
 * Cuts a byte stream into lines (without \n or \r\n), chunk by chunk, keeping a line split across chunks, and
 * says of each whether it is blank and, when asked, whether it is one JSON value.
 */
export class LineSplitter {
  /** The unfinished line, piece by piece, joined once its newline comes (joining at each piece is quadratic). */
  private pieces: Buffer[] = [];
  private pieceBytes = 0;
  /** The first bytes of a line too long to hold, which is dropped until its newline. */
  private overlong: Buffer | undefined;

  constructor(private readonly checkJson: boolean) {}

  /** Hands on the lines this chunk completes: where each lies in the chunk (no copy), and its kind. */
  push(chunk: Buffer, each: EachLine): void {
    let bytes = chunk;
    if (this.overlong || this.pieces.length > 0) {
      const newline = chunk.indexOf(0x0a);
      if (newline === -1) {
        this.hold(Buffer.from(chunk)); // a copy: the chunk's buffer is read into again
        return;
      }
      this.hold(chunk.subarray(0, newline + 1));
      this.finishLine(each);
      bytes = chunk.subarray(newline + 1);
    }
    const rest = this.scan(bytes, each);
    if (rest < bytes.length) this.hold(Buffer.from(bytes.subarray(rest)));
  }

  /** Hands on the last line, when the stream does not end with a newline. */
  end(each: EachLine): void {
    if (!this.overlong && this.pieces.length === 0) return;
    this.hold(NEWLINE);
    this.finishLine(each);
  }

  private hold(piece: Buffer): void {
    if (this.overlong) return;
    this.pieces.push(piece);
    this.pieceBytes += piece.length;
    if (this.pieceBytes <= MAX_LINE_BYTES) return;
    this.overlong = Buffer.concat(this.pieces, Math.min(1024, this.pieceBytes)); // (a copy of the first KiB)
    this.pieces = [];
    this.pieceBytes = 0;
  }

  private finishLine(each: EachLine): void {
    if (this.overlong) {
      each(this.overlong, 0, this.overlong.length, LineKind.TooLong);
    } else {
      this.scan(Buffer.concat(this.pieces), each);
    }
    this.overlong = undefined;
    this.pieces = [];
    this.pieceBytes = 0;
  }

  private scan(bytes: Buffer, each: EachLine): number {
    return scanLines(bytes, this.checkJson, (start, end, kind) =>
      each(bytes, start, end > start && bytes[end - 1] === 0x0d ? end - 1 : end, kind),
    );
  }
}

/** A line: `bytes[start, end)`, without its newline (\n or \r\n). */
type EachLine = (bytes: Buffer, start: number, end: number, kind: LineKind) => void;

const NEWLINE = Buffer.from('\n');

async function* readCsv(stream: Readable, name: string): AsyncGenerator<SourceItem[]> {
  const { parse } = await import('csv-parse');
  // Rows of any width come through, so a short or long row is reported at its line instead of ending the file.
  const parser = stream.pipe(
    parse({ relax_column_count: true, info: true, skip_empty_lines: true, bom: true, max_record_size: MAX_LINE_BYTES }),
  );
  let header: string[] | undefined;
  let index = 0;
  // csv-parse counts each \r inside a quoted field as a line break of its own (\r\n as two); editors count \n.
  let carriageReturns = 0;
  try {
    for await (const entry of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const { record } = entry;
      carriageReturns += occurrences(record, '\r');
      // The line the record starts on (csv-parse gives the one it ends on).
      const line = entry.info.lines - carriageReturns - occurrences(record, '\n');
      if (!header) {
        // Two columns of one name would make one field of a record, and the first value would be lost.
        const twice = record.find((column, i) => record.indexOf(column) !== i);
        if (twice !== undefined) {
          throw new UserError(`${name}:${line}: the header names column "${twice}" twice`, {
            code: 'SOURCE_MALFORMED',
            nextSteps: ['Give each column its own name in the first line.'],
          });
        }
        header = record;
        continue;
      }
      const text = bytesOf(record.join(','));
      if (record.length !== header.length) {
        yield [
          {
            kind: 'bad',
            index: index++,
            line,
            ...text,
            reason: `expected ${header.length} columns, got ${record.length}`,
          },
        ];
        continue;
      }
      const value = Object.fromEntries(header.map((column, i) => [column, record[i]]));
      yield [{ kind: 'record', index: index++, line, value, ...text }];
    }
  } catch (error) {
    if (error instanceof UserError) throw error;
    const e = error as Error & { lines?: number; code?: string };
    if (e.code === 'CSV_MAX_RECORD_SIZE') {
      throw new UserError(`${name}:${e.lines ?? '?'}: a record longer than ${MAX_LINE_BYTES / 1024 / 1024} MiB`, {
        code: 'SOURCE_MALFORMED',
        nextSteps: ['Look for a quote that is not closed there: it makes the rest of the file one field.'],
      });
    }
    // A broken quote cannot be resynchronised: the rest of the file is unreadable.
    throw new UserError(`${name}:${e.lines ?? '?'}: invalid CSV: ${e.message}`, {
      code: 'SOURCE_MALFORMED',
      nextSteps: ['Fix the quoting at that line: everything after it cannot be read.'],
    });
  }
}

function occurrences(fields: string[], char: string): number {
  let count = 0;
  for (const field of fields) for (let i = field.indexOf(char); i !== -1; i = field.indexOf(char, i + 1)) count++;
  return count;
}

async function* readJsonArray(chunks: AsyncIterable<Buffer>, name: string): AsyncGenerator<SourceItem[]> {
  const [{ default: chain }, { parser }, { streamArray }] = await Promise.all([
    import('stream-chain'),
    import('stream-json'),
    import('stream-json/streamers/stream-array.js'),
  ]);
  let index = 0;
  // An element is assembled whole before it comes out: bytes read since the last one bound its size, and memory.
  let assembled = 0;
  let unread = 0;
  async function* bounded() {
    for await (const chunk of chunks) {
      unread += chunk.length;
      if (unread > MAX_LINE_BYTES) {
        throw new UserError(`${name}: element ${assembled + 1} is longer than ${MAX_LINE_BYTES / 1024 / 1024} MiB`, {
          code: 'SOURCE_MALFORMED',
          nextSteps: ['A record cannot be that large: look for a bracket or a quote that is not closed before it.'],
        });
      }
      yield chunk;
    }
  }
  const counted = (element: { key: number; value: unknown }) => {
    assembled = element.key + 1;
    unread = 0;
    return element;
  };
  const pipeline = chain([Readable.from(bounded(), { objectMode: false }), parser(), streamArray(), counted]);
  try {
    for await (const { value } of pipeline as AsyncIterable<{ key: number; value: unknown }>) {
      yield [{ kind: 'record', index: index++, line: 0, value, ...bytesOf(JSON.stringify(value)) }];
    }
  } catch (error) {
    if (error instanceof UserError) throw error;
    // Inside one JSON document there is no next line to resume at: the rest cannot be read.
    throw new UserError(`${name}: invalid JSON after ${index} element(s): ${(error as Error).message}`, {
      code: 'SOURCE_MALFORMED',
      nextSteps: ['Fix the file, or convert it to one JSON object per line (NDJSON) so bad records can be skipped.'],
    });
  }
}

/** What to say when `a[0].b` finds no field: a path gives a list position as a part of its own (`a.0.b`). */
export function bracketHint(path: string): string {
  return /\[\d+\]/.test(path) ? ` (a list position is a part of its own: ${path.replace(/\[(\d+)\]/g, '.$1')})` : '';
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
