// The line protocol of a shell operator: records in as lines, lines out as records, and the output read as
// bytes so that a binary or endless line is caught at once instead of being buffered.
import { encodeValue } from '../runtime/messages';

/** The default longest output line: a longer one fails the batch ('line-too-long'). */
export const MAX_LINE_BYTES = 1024 * 1024;
/** The default most output of one batch: a batch's lines are held until it completes, so `yes` must not run on. */
export const MAX_OUTPUT_BYTES = 256 * 1024 * 1024;

/** A record as one input line: a string as it is (as JSON when it holds a newline, to stay one line), anything else compact JSON. */
export function encodeLine(value: unknown): string {
  if (typeof value === 'string') return value.includes('\n') ? JSON.stringify(value) : value;
  return encodeValue(value);
}

/** An output line as a record: its JSON value where it parses, else the line as a string. */
export function decodeLine(line: string): unknown {
  // Most lines of text cannot be JSON: they are told by their first character, without the cost of a parse's throw
  // (and most without a regular expression's run: a word starts with a letter JSON cannot start with).
  if (!MAY_START_JSON[line.charCodeAt(0)]) return line;
  const start = JSON_START.exec(line);
  if (!start) return line;
  if (start[1] === undefined) return JSON_LITERAL.test(line) ? (JSON.parse(line) as unknown) : line;
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return line;
  }
}

/** What a JSON text may start with after JSON's whitespace: group 1 when not a literal (true, false, null). */
const JSON_START = /^[ \t\r\n]*(?:([[{"\-0-9])|[tfn])/;
const JSON_LITERAL = /^[ \t\r\n]*(?:true|false|null)[ \t\r\n]*$/;
/** The ASCII characters a JSON text may start with (JSON's whitespace included), by character code. */
const MAY_START_JSON = Array.from({ length: 128 }, (_, code) =>
  ' \t\r\n[{"-0123456789tfn'.includes(String.fromCharCode(code)),
);

/** Why a command's output is not lines of text. */
export type OutputProblem =
  | { reason: 'binary-output'; line: number; what: 'a NUL byte' | 'invalid UTF-8' }
  | { reason: 'line-too-long'; line: number; maxLineBytes: number }
  | { reason: 'output-too-large'; line: number; maxOutputBytes: number };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Splits a command's stdout into lines as chunks come. It holds at most one partial line, never more than
 * maxLineBytes of it, and counts the batch's bytes up to maxOutputBytes: push() reports a problem as soon as a chunk
 * shows one, and the caller stops the command.
 */
export class OutputLines {
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** Lines seen, for messages ("line 12"). */
  private count = 0;
  /** Bytes of the current batch's output. */
  private batchBytes = 0;

  constructor(
    private readonly limits: { maxLineBytes: number; maxOutputBytes: number },
    private readonly onLine: (line: string) => void,
  ) {}

  /** A new batch's output starts (long-running: after a marker). */
  startBatch(): void {
    this.batchBytes = 0;
  }

  push(chunk: Buffer): OutputProblem | undefined {
    this.batchBytes += chunk.length;
    if (this.batchBytes > this.limits.maxOutputBytes) {
      return { reason: 'output-too-large', line: this.count + 1, maxOutputBytes: this.limits.maxOutputBytes };
    }
    let start = 0;
    if (this.partialBytes > 0) {
      const newline = chunk.indexOf(10);
      if (newline === -1) return this.take(chunk, false);
      const problem = this.take(chunk.subarray(0, newline), true);
      if (problem) return problem;
      start = newline + 1;
    }
    const last = chunk.lastIndexOf(10);
    if (last >= start && this.takeWhole(chunk.subarray(start, last))) start = last + 1;
    for (let newline = chunk.indexOf(10, start); newline !== -1; newline = chunk.indexOf(10, start)) {
      const problem = this.take(chunk.subarray(start, newline), true);
      if (problem) return problem;
      start = newline + 1;
    }
    return start < chunk.length ? this.take(chunk.subarray(start), false) : undefined;
  }

  /**
   * Complete lines (without their last newline) decoded at once: false, taking none, when one may be a problem
   * (a NUL byte, invalid UTF-8, a line possibly too long), which the line by line path then finds and names.
   */
  private takeWhole(lines: Buffer): boolean {
    if (lines.length > this.limits.maxLineBytes || lines.includes(0)) return false;
    let text: string;
    try {
      text = utf8.decode(lines);
    } catch {
      return false;
    }
    // A newline byte is never part of another character in UTF-8: splitting the text splits the bytes.
    for (const line of text.split('\n')) {
      this.count++;
      this.onLine(line);
    }
    return true;
  }

  /** The output ended: a last line without a newline is a line too. */
  end(): OutputProblem | undefined {
    return this.partialBytes > 0 ? this.take(Buffer.alloc(0), true) : undefined;
  }

  private take(piece: Buffer, complete: boolean): OutputProblem | undefined {
    const line = this.count + 1;
    if (piece.includes(0)) return { reason: 'binary-output', line, what: 'a NUL byte' };
    const { maxLineBytes } = this.limits;
    if (this.partialBytes + piece.length > maxLineBytes) {
      return { reason: 'line-too-long', line, maxLineBytes };
    }
    if (!complete) {
      this.partial.push(piece);
      this.partialBytes += piece.length;
      return undefined;
    }
    const bytes = this.partialBytes > 0 ? Buffer.concat([...this.partial, piece]) : piece;
    this.partial = [];
    this.partialBytes = 0;
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      return { reason: 'binary-output', line, what: 'invalid UTF-8' };
    }
    this.count = line;
    this.onLine(text);
    return undefined;
  }
}

/** The last `limit` bytes of a stream (a command's stderr), as text. */
export class ByteTail {
  private chunks: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.chunks.length > 1 && this.bytes - this.chunks[0]!.length >= this.limit) {
      this.bytes -= this.chunks.shift()!.length;
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}
