// AssemblyScript, compiled to WebAssembly by scripts/build-wasm.ts into ../json-scan-wasm.ts; used through
// ../json-check.ts, which copies the text into this module's memory. One flat loop with its own stack: a
// value, then what may follow it (a comma, a closing bracket, the end), and again. Strings (most of a
// review) are searched 16 bytes at a time for a quote, a backslash or a control character.

/** Nesting deeper than this is left to JSON.parse (the stack is a fixed array). */
const MAX_DEPTH: i32 = 512;
const IN_OBJECT: u8 = 1;
const IN_ARRAY: u8 = 2;
const stack = memory.data(MAX_DEPTH);
let input: usize = 0;
let inputSize: usize = 0;

/** Where the caller writes the bytes to check: at least `size` bytes, reused between calls. */
export function reserve(size: usize): usize {
  if (size > inputSize) {
    const pages = <i32>((size + 0xffff) >> 16);
    const before = memory.grow(pages);
    if (before < 0) unreachable();
    input = (<usize>before) << 16;
    inputSize = (<usize>pages) << 16;
  }
  return input;
}

/** 1 when [start, end) is one JSON value with optional whitespace around it, else 0. */
export function isJson(start: usize, end: usize): i32 {
  let depth: i32 = 0;
  let at = skipSpace(start, end);
  for (;;) {
    if (at >= end) return 0;
    const c = load<u8>(at);
    if (c == 0x22) {
      at = afterString(at + 1, end);
    } else if (c == 0x7b || c == 0x5b) {
      at = skipSpace(at + 1, end);
      if (at < end && load<u8>(at) == (c == 0x7b ? 0x7d : 0x5d)) {
        at++;
      } else {
        if (depth == MAX_DEPTH) return 0;
        store<u8>(stack + depth++, c == 0x7b ? IN_OBJECT : IN_ARRAY);
        if (c == 0x7b) at = afterKey(at, end);
        if (at == 0) return 0;
        continue;
      }
    } else if (c == 0x2d || (c >= 0x30 && c <= 0x39)) {
      at = afterNumber(at, end);
    } else {
      at = afterLiteral(at, end);
    }
    if (at == 0) return 0;
    for (;;) {
      at = skipSpace(at, end);
      if (depth == 0) return at == end ? 1 : 0;
      if (at >= end) return 0;
      const next = load<u8>(at++);
      const container = load<u8>(stack + depth - 1);
      if (next == 0x2c) {
        at = skipSpace(at, end);
        if (container == IN_OBJECT) at = afterKey(at, end);
        if (at == 0) return 0;
        break;
      }
      if (next == (container == IN_OBJECT ? 0x7d : 0x5d)) depth--;
      else return 0;
    }
  }
  return 0; // not reached: the loop returns
}

// Positions are addresses in memory and the input never starts at 0, so 0 means "not valid" below.

function skipSpace(at: usize, end: usize): usize {
  while (at < end) {
    const c = load<u8>(at);
    if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
    at++;
  }
  return at;
}

function afterKey(at: usize, end: usize): usize {
  if (at >= end || load<u8>(at) != 0x22) return 0;
  at = afterString(at + 1, end);
  if (at == 0) return 0;
  at = skipSpace(at, end);
  if (at >= end || load<u8>(at) != 0x3a) return 0;
  return skipSpace(at + 1, end);
}

function isStringStop(c: u32): bool {
  return c == 0x22 || c == 0x5c || c < 0x20;
}

function afterString(at: usize, end: usize): usize {
  const quote = i8x16.splat(0x22);
  const backslash = i8x16.splat(0x5c);
  const space = i8x16.splat(0x20);
  for (;;) {
    // The plain run: 16 bytes at a time while they fit, then byte by byte.
    let stopped = false;
    while (at + 16 <= end) {
      const v = v128.load(at);
      const stops = v128.or(v128.or(i8x16.eq(v, quote), i8x16.eq(v, backslash)), i8x16.lt_u(v, space));
      const mask = i8x16.bitmask(stops);
      if (mask != 0) {
        at += <usize>ctz(mask);
        stopped = true;
        break;
      }
      at += 16;
    }
    if (!stopped) while (at < end && !isStringStop(load<u8>(at))) at++;
    if (at >= end) return 0;
    const c = load<u8>(at++);
    if (c == 0x22) return at;
    if (c != 0x5c || at >= end) return 0;
    const escaped = load<u8>(at++);
    if (escaped == 0x75) {
      if (at + 4 > end) return 0;
      for (let i = 0; i < 4; i++) if (!isHex(load<u8>(at++))) return 0;
    } else if (
      escaped != 0x22 &&
      escaped != 0x5c &&
      escaped != 0x2f &&
      escaped != 0x62 &&
      escaped != 0x66 &&
      escaped != 0x6e &&
      escaped != 0x72 &&
      escaped != 0x74
    ) {
      return 0;
    }
  }
  return 0; // not reached: the loop returns
}

function afterNumber(at: usize, end: usize): usize {
  if (load<u8>(at) == 0x2d) at++;
  if (at >= end) return 0;
  if (load<u8>(at) == 0x30) at++;
  else if (!isDigit(load<u8>(at))) return 0;
  else while (at < end && isDigit(load<u8>(at))) at++;
  if (at < end && load<u8>(at) == 0x2e) {
    at++;
    if (at >= end || !isDigit(load<u8>(at))) return 0;
    while (at < end && isDigit(load<u8>(at))) at++;
  }
  if (at < end && (load<u8>(at) == 0x65 || load<u8>(at) == 0x45)) {
    at++;
    if (at < end && (load<u8>(at) == 0x2b || load<u8>(at) == 0x2d)) at++;
    if (at >= end || !isDigit(load<u8>(at))) return 0;
    while (at < end && isDigit(load<u8>(at))) at++;
  }
  return at;
}

function afterLiteral(at: usize, end: usize): usize {
  const c = load<u8>(at);
  // "true" and "null" are 4 bytes, "false" 5: compare them as little-endian words.
  if ((c == 0x74 || c == 0x6e) && at + 4 <= end) {
    const word = load<u32>(at);
    return word == 0x65757274 || word == 0x6c6c756e ? at + 4 : 0;
  }
  if (c == 0x66 && at + 5 <= end && load<u32>(at) == 0x736c6166 && load<u8>(at + 4) == 0x65) return at + 5;
  return 0;
}

function isDigit(c: u32): bool {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: u32): bool {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
