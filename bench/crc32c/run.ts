// CRC-32C alone: src/clients/crc32c.ts's JavaScript tables against the processor's CRC32 instruction compiled
// through bun:ffi, on buffers the size of the record batches pbx writes (a replay's 1000 KiB sends, and smaller
// batches as many partitions make them). MB/s, the median of 7 passes over 256 MiB each.
// Usage: node_modules/.bin/bun bench/crc32c/run.ts   (under bun: the instruction needs bun:ffi)
import { randomBytes } from 'node:crypto';
import { crc32c, crc32cTables, useCrc32Instruction } from '../../src/clients/crc32c';

const PASS_BYTES = 256 * 2 ** 20;
const PASSES = 7;
const SIZES = [1000 * 1024, 64 * 1024, 4 * 1024];

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function megabytesPerSecond(crc: (bytes: Uint8Array, start: number, end: number) => number, size: number): number {
  const buffer = randomBytes(size);
  const rounds = Math.max(1, Math.round(PASS_BYTES / size));
  const rates: number[] = [];
  let sink = 0;
  for (let pass = 0; pass < PASSES; pass++) {
    const started = performance.now();
    for (let i = 0; i < rounds; i++) sink ^= crc(buffer, 0, size);
    rates.push((rounds * size) / 1e6 / ((performance.now() - started) / 1000));
  }
  if (sink === 0.5) console.log(sink); // keeps the loop's result alive
  return median(rates);
}

const instruction = await useCrc32Instruction();
console.log(`| buffer | JavaScript tables, MB/s | CRC32 instruction, MB/s | ratio |`);
console.log(`| --- | --- | --- | --- |`);
for (const size of SIZES) {
  const tables = megabytesPerSecond(crc32cTables, size);
  const hardware = instruction ? megabytesPerSecond(crc32c, size) : NaN;
  console.log(
    `| ${size / 1024} KiB | ${Math.round(tables)} | ${Math.round(hardware)} | ${(hardware / tables).toFixed(1)}× |`,
  );
}
