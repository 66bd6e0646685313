import type { SourceItem } from '../records';
import { LineKind, scanLines } from './json-check';

/** NDJSON or plain lines: one entry per line, with its exact bytes in the chunk. */
export async function* readLines(
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
