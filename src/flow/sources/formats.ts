import { extname } from 'node:path';
import { Readable } from 'node:stream';
import { UserError, UsageError } from '../../cli/errors';
import type { ByteRange } from '../../clients/record-batch';
import { FORMATS, type Format, type SourceItem } from '../records';
import { MAX_LINE_BYTES, readLines } from './lines';

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

/** The entries of a source in the given format, a chunk's worth at a time. */
export function readItems(
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
/** Text as the bytes of an entry. */
function bytesOf(text: string): ByteRange {
  const bytes = Buffer.from(text);
  return { bytes, start: 0, end: bytes.length };
}

/** The format given (--format), checked. */
export function checkFormat(format: string | undefined): Format | undefined {
  if (format === undefined) return undefined;
  if ((FORMATS as readonly string[]).includes(format)) return format as Format;
  throw new UsageError(`Unknown format ${format}.`, { nextSteps: [`Use one of: ${FORMATS.join(', ')}.`] });
}
