import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { UserError } from '../../cli/errors';
import type { Format, Source, SourceItem } from '../records';
import { notText } from './binary';
import { detectFormat, readItems } from './formats';
import { emptySource, openInput, type InputOptions } from './inputs';

export interface SourceOptions extends InputOptions {
  format?: Format;
  /** NDJSON lines are only checked to be JSON, not parsed: several times faster, for when no field is read. */
  checkOnly?: boolean;
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
  // Bytes that are not text would be replayed as lines of garbage, unless plain lines were asked for by name.
  const binary = options.format === 'lines' ? undefined : notText(peeked.head.subarray(0, 64 * 1024));
  if (binary) {
    input.close();
    throw new UserError(`${input.name} is not text: it looks like ${binary.looksLike} (${binary.because})`, {
      code: 'SOURCE_NOT_TEXT',
      nextSteps: [binary.howToRead(input.name), 'To replay its lines as they are anyway, give --format lines.'],
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
  const batches = (async function* () {
    let items = 0;
    for await (const batch of readItems(chunks, format, input.name, options.checkOnly ?? false)) {
      items += batch.length;
      yield batch;
    }
    await input.finished(); // after every record: what a failing command printed is delivered first
    // A file of no records is a mistake, as an empty one is; a command or a pipe may well print nothing.
    if (items === 0 && input.totalBytes !== undefined) throw emptySource(input.name, NOTHING_BUT[format]);
  })();
  return {
    name: gzipped ? `${input.name} (gzip)` : input.name,
    format,
    gzipped,
    // A file's first records are read now: one of none is said on opening, before Kafka is asked. Stdin and a
    // command are not waited for, as they may say nothing for a while.
    batches: input.live ? batches : await readFirstBatch(batches, input.close),
    totalBytes: input.totalBytes,
    live: input.live,
    bytesRead: input.bytesRead,
    close: input.close,
  };
}

/**
 * The batches with the first record read already. Only a source of no records is refused here; any other problem
 * of the first batch comes when it is asked for, as it would have.
 */
async function readFirstBatch(
  batches: AsyncGenerator<SourceItem[]>,
  close: () => void,
): Promise<AsyncGenerator<SourceItem[]>> {
  const next = () =>
    batches.next().catch((error: unknown) => {
      if ((error as { code?: string }).code !== 'SOURCE_EMPTY') return { error };
      close();
      throw error;
    });
  let first = await next();
  // A chunk of blank lines makes an empty batch: what comes before the first record holds nothing to keep.
  while (!('error' in first) && !first.done && first.value.length === 0) first = await next();
  return (async function* () {
    if ('error' in first) throw first.error;
    if (first.done) return;
    yield first.value;
    yield* batches;
  })();
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

/** What a file that is not empty holds when it holds no records. */
const NOTHING_BUT: Record<Format, string> = {
  ndjson: 'blank lines only',
  json: 'an empty JSON array',
  csv: 'a header and no rows',
  lines: 'no lines', // every line is a record, a blank one too
};
