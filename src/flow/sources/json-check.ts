// Cuts text into lines and checks that each is one JSON value, without building it: replaying NDJSON at full
// speed only needs to know each line is valid, and JSON.parse spends most of its time making the objects. The
// work is WebAssembly compiled from assembly/json-scan.ts, one call for a chunk's lines: it searches for
// newlines and, inside strings (most of a review), for quotes, backslashes and control characters 16 bytes at a
// time. The JSON check accepts what JSON.parse accepts on the UTF-8 text; what it rejects, callers hand to
// JSON.parse for the error message.
import { JSON_SCAN_WASM } from './json-scan-wasm';

/** What a line holds, as far as the scan looked. */
export const LineKind = {
  /** Not one JSON value, or not checked. */
  Text: 0,
  Json: 1,
  /** Only spaces, tabs or a carriage return. */
  Blank: 2,
  /** Longer than a record can be (MAX_LINE_BYTES): only its first bytes are kept (never from the scan). */
  TooLong: 3,
} as const;
export type LineKind = (typeof LineKind)[keyof typeof LineKind];

interface JsonScan {
  memory: WebAssembly.Memory;
  /** The address of at least `size` bytes to copy the text to. */
  reserve(size: number): number;
  /** Scans the copied text from `from`: the number of lines found, whose newlines and kinds it wrote. */
  scanLines(from: number, size: number, checkJson: number): number;
  lineNewlines(): number;
  lineKinds(): number;
}

let scan: JsonScan | undefined;
// Views of the module's memory, made again only when it grows (which detaches them): making them for every
// chunk cost more than the scan itself.
let memory: ArrayBuffer | undefined;
let input = new Uint8Array(0);
let newlines = new Uint32Array(0);
let kinds = new Uint8Array(0);

/**
 * Calls `line(start, end, kind)` for each line of `bytes` that a newline ends: [start, end) without the newline
 * (a carriage return before it stays). Checks each line to be JSON when asked. Returns the offset after the last
 * newline: what follows is the start of a line that the next bytes complete.
 */
export function scanLines(
  bytes: Uint8Array,
  checkJson: boolean,
  line: (start: number, end: number, kind: LineKind) => void,
): number {
  scan ??= new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(JSON_SCAN_WASM, 'base64')))
    .exports as unknown as JsonScan;
  const size = bytes.length;
  const address = scan.reserve(size);
  if (scan.memory.buffer !== memory || input.byteOffset !== address || input.length < size) {
    memory = scan.memory.buffer;
    input = new Uint8Array(memory, address, memory.byteLength - address);
    newlines = new Uint32Array(memory, scan.lineNewlines(), MAX_LINES_PER_SCAN);
    kinds = new Uint8Array(memory, scan.lineKinds(), MAX_LINES_PER_SCAN);
  }
  input.set(bytes);
  let start = 0;
  for (;;) {
    const count = scan.scanLines(start, size, checkJson ? 1 : 0);
    for (let i = 0; i < count; i++) {
      const newline = newlines[i]!;
      line(start, newline, kinds[i] as LineKind);
      start = newline + 1;
    }
    if (count < MAX_LINES_PER_SCAN) return start;
  }
}

// As MAX_LINES in assembly/json-scan.ts.
const MAX_LINES_PER_SCAN = 16384;
