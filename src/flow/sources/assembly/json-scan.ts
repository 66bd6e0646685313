// AssemblyScript, compiled to WebAssembly by scripts/build-wasm.ts into ../json-scan-wasm.ts; used through
// ../json-check.ts, which copies a chunk of text into this module's memory. scanLines cuts the chunk into lines
// (16 bytes at a time) and says of each whether it is blank and, when asked, whether it is one JSON value: one
// call per chunk, not one per line. The JSON check is one flat loop with its own stack: a value, then what may
// follow it (a comma, a closing bracket, the end), and again. Strings (most of a review) are searched 16 bytes at
// a time for a quote, a backslash or a control character.

// Byte values of the characters JSON's grammar names.
const TAB: u8 = 0x09;
const NEWLINE: u8 = 0x0a;
const RETURN: u8 = 0x0d;
const SPACE: u8 = 0x20;
const QUOTE: u8 = 0x22;
const PLUS: u8 = 0x2b;
const COMMA: u8 = 0x2c;
const MINUS: u8 = 0x2d;
const DOT: u8 = 0x2e;
const SLASH: u8 = 0x2f;
const ZERO: u8 = 0x30;
const NINE: u8 = 0x39;
const COLON: u8 = 0x3a;
const UPPER_E: u8 = 0x45;
const OPEN_BRACKET: u8 = 0x5b;
const BACKSLASH: u8 = 0x5c;
const CLOSE_BRACKET: u8 = 0x5d;
const LOWER_B: u8 = 0x62;
const LOWER_E: u8 = 0x65;
const LOWER_F: u8 = 0x66;
const LOWER_N: u8 = 0x6e;
const LOWER_R: u8 = 0x72;
const LOWER_T: u8 = 0x74;
const LOWER_U: u8 = 0x75;
const OPEN_BRACE: u8 = 0x7b;
const CLOSE_BRACE: u8 = 0x7d;

/** Nesting deeper than this is left to JSON.parse (the stack is a fixed array). */
const MAX_DEPTH: i32 = 512;
const IN_OBJECT: u8 = 1;
const IN_ARRAY: u8 = 2;
const stack = memory.data(MAX_DEPTH);

// What scanLines says of a line.
const NOT_JSON: u8 = 0; // or not checked
const JSON_VALUE: u8 = 1;
const BLANK: u8 = 2;
/** Lines reported per call: their room is fixed, whatever the size of the text. */
const MAX_LINES: usize = 16384;
const newlines = memory.data(<i32>MAX_LINES * 4);
const kinds = memory.data(<i32>MAX_LINES);

// The text to scan, reused between calls; grown when a larger text comes.
let input: usize = 0;
let capacity: usize = 0;

/** Where the caller writes the text to scan, at least `size` bytes. */
export function reserve(size: usize): usize {
  if (size > capacity) {
    const pages = <i32>((size + 0xffff) >> 16);
    const before = memory.grow(pages);
    if (before < 0) unreachable();
    input = (<usize>before) << 16;
    capacity = (<usize>pages) << 16;
  }
  return input;
}

/** The address of the lines' newlines written by scanLines: u32 offsets in the text. */
export function lineNewlines(): usize {
  return newlines;
}

/** The address of the lines' kinds written by scanLines: u8, 0 not JSON (or not checked), 1 JSON, 2 blank. */
export function lineKinds(): usize {
  return kinds;
}

/**
 * Finds the newlines in the text at [input + from, input + size) and says what each line before one holds:
 * blank (spaces, tabs, a carriage return), else, when `checkJson` is 1, whether it is one JSON value. Returns
 * the number of lines found, at most MAX_LINES (call again after the last one for more); the bytes after the
 * last newline are not a line yet.
 */
export function scanLines(from: usize, size: usize, checkJson: i32): i32 {
  const end = input + size;
  let at = input + from;
  let count: usize = 0;
  while (count < MAX_LINES) {
    // A line's JSON is checked up to the end of the text: the value must then be followed by the newline (JSON
    // whitespace but for the newline, which no NDJSON line holds). One pass over the line, not a search for its
    // end and then a check; the search only for a line that is blank, not JSON or not checked.
    const first = skipSpace(at, end);
    let kind = NOT_JSON;
    let newline = first;
    if (first < end && load<u8>(first) == NEWLINE) {
      kind = BLANK;
    } else {
      if (checkJson != 0) {
        const after = afterJson(first, end);
        if (after != 0 && after < end && load<u8>(after) == NEWLINE) {
          kind = JSON_VALUE;
          newline = after;
        }
      }
      if (kind == NOT_JSON) newline = findNewline(first, end);
    }
    if (newline >= end) break;
    store<u32>(newlines + count * 4, <u32>(newline - input));
    store<u8>(kinds + count, kind);
    count++;
    at = newline + 1;
  }
  return <i32>count;
}

function findNewline(at: usize, end: usize): usize {
  const newline = i8x16.splat(NEWLINE);
  while (at + 16 <= end) {
    const mask = i8x16.bitmask(i8x16.eq(v128.load(at), newline));
    if (mask != 0) return at + <usize>ctz(mask);
    at += 16;
  }
  while (at < end && load<u8>(at) != NEWLINE) at++;
  return at;
}

/** Where one JSON value at `start` and the whitespace after it end, or 0 when no JSON value starts there. */
function afterJson(start: usize, end: usize): usize {
  let depth: i32 = 0;
  let at = skipSpace(start, end);
  for (;;) {
    if (at >= end) return 0;
    const c = load<u8>(at);
    if (c == QUOTE) {
      at = afterString(at + 1, end);
    } else if (c == OPEN_BRACE || c == OPEN_BRACKET) {
      at = skipSpace(at + 1, end);
      if (at < end && load<u8>(at) == (c == OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET)) {
        at++;
      } else {
        if (depth == MAX_DEPTH) return 0;
        store<u8>(stack + depth++, c == OPEN_BRACE ? IN_OBJECT : IN_ARRAY);
        if (c == OPEN_BRACE) at = afterKey(at, end);
        if (at == 0) return 0;
        continue;
      }
    } else if (c == MINUS || (c >= ZERO && c <= NINE)) {
      at = afterNumber(at, end);
    } else {
      at = afterLiteral(at, end);
    }
    if (at == 0) return 0;
    for (;;) {
      at = skipSpace(at, end);
      if (depth == 0) return at;
      if (at >= end) return 0;
      const next = load<u8>(at++);
      const container = load<u8>(stack + depth - 1);
      if (next == COMMA) {
        at = skipSpace(at, end);
        if (container == IN_OBJECT) at = afterKey(at, end);
        if (at == 0) return 0;
        break;
      }
      if (next == (container == IN_OBJECT ? CLOSE_BRACE : CLOSE_BRACKET)) depth--;
      else return 0;
    }
  }
  return 0; // not reached: the loop returns
}

// Positions are addresses in memory and the input never starts at 0, so 0 means "not valid" below.

// (JSON's whitespace but the newline, which ends a line.)
function skipSpace(at: usize, end: usize): usize {
  while (at < end) {
    const c = load<u8>(at);
    if (c != SPACE && c != TAB && c != RETURN) break;
    at++;
  }
  return at;
}

function afterKey(at: usize, end: usize): usize {
  if (at >= end || load<u8>(at) != QUOTE) return 0;
  at = afterString(at + 1, end);
  if (at == 0) return 0;
  at = skipSpace(at, end);
  if (at >= end || load<u8>(at) != COLON) return 0;
  return skipSpace(at + 1, end);
}

function isStringStop(c: u32): bool {
  return c == QUOTE || c == BACKSLASH || c < SPACE;
}

function afterString(at: usize, end: usize): usize {
  const quote = i8x16.splat(QUOTE);
  const backslash = i8x16.splat(BACKSLASH);
  const space = i8x16.splat(SPACE);
  for (;;) {
    // The plain run: 16 bytes at a time while they fit, then byte by byte (which stops at once where a
    // 16-byte step found the stop).
    while (at + 16 <= end) {
      const v = v128.load(at);
      const stops = v128.or(v128.or(i8x16.eq(v, quote), i8x16.eq(v, backslash)), i8x16.lt_u(v, space));
      const mask = i8x16.bitmask(stops);
      if (mask != 0) {
        at += <usize>ctz(mask);
        break;
      }
      at += 16;
    }
    while (at < end && !isStringStop(load<u8>(at))) at++;
    if (at >= end) return 0;
    const c = load<u8>(at++);
    if (c == QUOTE) return at;
    if (c != BACKSLASH || at >= end) return 0;
    const escaped = load<u8>(at++);
    if (escaped == LOWER_U) {
      if (at + 4 > end) return 0;
      for (let i = 0; i < 4; i++) if (!isHex(load<u8>(at++))) return 0;
    } else if (
      escaped != QUOTE &&
      escaped != BACKSLASH &&
      escaped != SLASH &&
      escaped != LOWER_B &&
      escaped != LOWER_F &&
      escaped != LOWER_N &&
      escaped != LOWER_R &&
      escaped != LOWER_T
    ) {
      return 0;
    }
  }
  return 0; // not reached: the loop returns
}

function afterNumber(at: usize, end: usize): usize {
  if (load<u8>(at) == MINUS) at++;
  if (at >= end) return 0;
  if (load<u8>(at) == ZERO) at++;
  else if (!isDigit(load<u8>(at))) return 0;
  else while (at < end && isDigit(load<u8>(at))) at++;
  if (at < end && load<u8>(at) == DOT) {
    at++;
    if (at >= end || !isDigit(load<u8>(at))) return 0;
    while (at < end && isDigit(load<u8>(at))) at++;
  }
  if (at < end && (load<u8>(at) == LOWER_E || load<u8>(at) == UPPER_E)) {
    at++;
    if (at < end && (load<u8>(at) == PLUS || load<u8>(at) == MINUS)) at++;
    if (at >= end || !isDigit(load<u8>(at))) return 0;
    while (at < end && isDigit(load<u8>(at))) at++;
  }
  return at;
}

function afterLiteral(at: usize, end: usize): usize {
  const c = load<u8>(at);
  // "true" and "null" are 4 bytes, "false" 5: compare them as little-endian words.
  if ((c == LOWER_T || c == LOWER_N) && at + 4 <= end) {
    const word = load<u32>(at);
    return word == 0x65757274 || word == 0x6c6c756e ? at + 4 : 0;
  }
  if (c == LOWER_F && at + 5 <= end && load<u32>(at) == 0x736c6166 && load<u8>(at + 4) == LOWER_E) return at + 5;
  return 0;
}

function isDigit(c: u32): bool {
  return c >= ZERO && c <= NINE;
}

function isHex(c: u32): bool {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66); // 0-9, A-F, a-f
}
