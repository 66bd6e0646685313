// Stage A's keyed values on their way to stage B, as chunks: one repartition record carries the values of a batch
// bound for one key partition (up to CHUNK_CHARS of them), not one record per value. A word count's million words
// are then a few hundred Kafka records, and Kafka's per-record costs (encoding, headers, decoding in stage B) go.
// A shell's output line keyed by itself (`--key-by .`, `keyBy((word) => word)`) goes as text: a chunk of such lines
// is its record's JSON, a newline, then the lines as they are, so no word is encoded as JSON or parsed back.
// Pure: the partition of a key is Kafka's default partitioner's (murmur2), so keys keep their partitions, and the
// state logged for them in the changelog partition of the same number, across versions.
import type { Message } from 'kafkajs';
import type { StreamRecord } from '../api';

/** A chunk's most characters of JSON: at most 3 bytes each in UTF-8, under the 512 KiB a producer puts in one
 * record batch and the broker's 1 MB per batch. */
export const CHUNK_CHARS = 128 * 1024;

/** A value read back from a chunk: its key and the record it came from (event time, create time, source). */
export interface KeyedValue {
  key: string;
  value: unknown;
  record: StreamRecord;
}

/** The partition Kafka's default partitioner picks for a key (Java's murmur2, positive, modulo partitions). */
export function keyPartition(key: string, partitions: number): number {
  const ascii = asciiMurmur2(key);
  if (ascii !== undefined) return (ascii & 0x7fffffff) % partitions;
  // A key's UTF-8 bytes in a buffer kept for it (at most 3 bytes a character), not a new one per key.
  if (key.length * 3 > scratch.length)
    return (murmur2(Buffer.from(key), Buffer.byteLength(key)) & 0x7fffffff) % partitions;
  return (murmur2(scratch, scratch.write(key)) & 0x7fffffff) % partitions;
}

const scratch = Buffer.allocUnsafe(4096);

/** murmur2 of an ASCII key read from the string itself (its characters are its UTF-8 bytes: no copy into a buffer,
 * a word's cost); undefined when a character is not ASCII. */
function asciiMurmur2(key: string): number | undefined {
  const length = key.length;
  const m = 0x5bd1e995;
  let h = 0x9747b28c ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    const a = key.charCodeAt(i);
    const b = key.charCodeAt(i + 1);
    const c = key.charCodeAt(i + 2);
    const d = key.charCodeAt(i + 3);
    if ((a | b | c | d) > 0x7f) return undefined;
    let k = a | (b << 8) | (c << 16) | (d << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  for (let i = whole; i < length; i++) if (key.charCodeAt(i) > 0x7f) return undefined;
  switch (length & 3) {
    case 3:
      h ^= key.charCodeAt(whole + 2) << 16;
    // falls through
    case 2:
      h ^= key.charCodeAt(whole + 1) << 8;
    // falls through
    case 1:
      h ^= key.charCodeAt(whole);
      h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Java's murmur2 of data's first `length` bytes, as Kafka's default partitioner hashes a key. */
function murmur2(data: Buffer, length: number): number {
  const m = 0x5bd1e995;
  let h = 0x9747b28c ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  switch (length & 3) {
    case 3:
      h ^= data[whole + 2]! << 16;
    // falls through
    case 2:
      h ^= data[whole + 1]! << 8;
    // falls through
    case 1:
      h ^= data[whole]!;
      h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * One chunk being written: `{"r":[records],"e":[record index, key, value, …]}`, as JSON text in pieces; or, holding
 * lines keyed by themselves, `{"r":[record]}` and a newline, then the lines, one record's.
 */
class Chunk {
  readonly records: string[] = [];
  readonly entries: string[] = [];
  /** A text chunk's lines; undefined in a JSON one. */
  readonly lines?: string[];
  chars = 16;
  newest = 0;
  private last?: StreamRecord;
  private lastIndex = -1;

  constructor(text: boolean) {
    if (text) this.lines = [];
  }

  /** Whether `record`'s line can join this chunk: a text chunk of that record. */
  takesLine(record: StreamRecord): boolean {
    return this.lines !== undefined && (this.last === undefined || this.last === record);
  }

  private recordOf(record: StreamRecord): void {
    if (record !== this.last) {
      const { topic, partition, offset, timestamp, time } = record;
      const text = JSON.stringify([topic, partition, offset, timestamp, time]);
      this.records.push(text);
      this.chars += text.length + 1;
      this.last = record;
      this.lastIndex = this.records.length - 1;
      if (timestamp > this.newest) this.newest = timestamp;
    }
  }

  /** A line keyed by itself, into a text chunk. */
  addLine(line: string, record: StreamRecord): void {
    this.recordOf(record);
    this.lines!.push(line);
    this.chars += line.length + 1;
  }

  add(key: string, value: unknown, record: StreamRecord): void {
    this.recordOf(record);
    const keyJson = JSON.stringify(key);
    // A value that is its key (`keyBy((word) => word)`) is encoded once. undefined, a function or a symbol: null,
    // as JSON would write it in an array.
    const valueJson = value === key ? keyJson : (JSON.stringify(value) ?? 'null');
    const entry = `${this.lastIndex},${keyJson},${valueJson}`;
    this.entries.push(entry);
    this.chars += entry.length + 1;
  }

  message(partition: number): Message {
    const value = this.lines
      ? `{"r":[${this.records[0]}]}\n${this.lines.join('\n')}`
      : `{"r":[${this.records.join(',')}],"e":[${this.entries.join(',')}]}`;
    return { partition, key: null, value, timestamp: String(this.newest) };
  }
}

/** A batch's keyed values by key partition, written as chunks in the order they were added. */
export class RepartitionChunks {
  private readonly open = new Map<number, Chunk>();
  private readonly full: Message[] = [];

  constructor(readonly partitions: number) {}

  add(key: string, value: unknown, record: StreamRecord): void {
    const partition = keyPartition(key, this.partitions);
    const chunk = this.chunk(partition, false, record);
    chunk.add(key, value, record);
    if (chunk.chars >= CHUNK_CHARS) this.close(partition, chunk);
  }

  /** A line (a string with no newline) that is its own key: the same as add(line, line, record), as text. */
  addLine(line: string, record: StreamRecord): void {
    const partition = keyPartition(line, this.partitions);
    const chunk = this.chunk(partition, true, record);
    chunk.addLine(line, record);
    if (chunk.chars >= CHUNK_CHARS) this.close(partition, chunk);
  }

  /** The partition's open chunk if it takes this kind of value, else a new one (the other closed: values keep their
   * order in the partition). */
  private chunk(partition: number, line: boolean, record: StreamRecord): Chunk {
    const open = this.open.get(partition);
    if (open && (line ? open.takesLine(record) : open.lines === undefined)) return open;
    if (open) this.close(partition, open);
    const chunk = new Chunk(line);
    this.open.set(partition, chunk);
    return chunk;
  }

  private close(partition: number, chunk: Chunk): void {
    this.full.push(chunk.message(partition));
    this.open.delete(partition);
  }

  /** Every value of `other` after those added here (`other` is empty after). */
  append(other: RepartitionChunks): void {
    const messages = other.drain();
    if (messages.length === 0) return;
    for (const [partition, chunk] of this.open) this.close(partition, chunk);
    this.full.push(...messages);
  }

  /** Every chunk of the batch (per partition in order); empty after. */
  drain(): Message[] {
    const messages = this.full.splice(0);
    for (const [partition, chunk] of this.open) messages.push(chunk.message(partition));
    this.open.clear();
    return messages;
  }
}

/** A chunk read back (the text of its record): its values in the order they were written. A text chunk's values
 * share its one record, whose key is null: a value's key is its `key`. */
export function chunkValues(text: string): KeyedValue[] {
  const values: KeyedValue[] = [];
  eachChunkValue(text, (key, value, record) => values.push({ key, value, record }));
  return values;
}

/** A chunk's values handed to `take` in order, with their index, no object made for one but its record (a JSON
 * chunk's; a text chunk's values share one, its key null). */
export function eachChunkValue(
  text: string,
  take: (key: string, value: unknown, record: StreamRecord, index: number) => void,
): void {
  const newline = text.indexOf('\n');
  if (newline !== -1) {
    const { r } = JSON.parse(text.slice(0, newline)) as { r: Array<[string, number, string, number, number]> };
    const [topic, partition, offset, timestamp, time] = r[0]!;
    const record: StreamRecord = { topic, partition, offset, key: null, headers: {}, timestamp, time };
    const lines = text.slice(newline + 1).split('\n');
    for (let i = 0; i < lines.length; i++) take(lines[i]!, lines[i], record, i);
    return;
  }
  const { r, e } = JSON.parse(text) as { r: Array<[string, number, string, number, number]>; e: unknown[] };
  for (let i = 0; i < e.length; i += 3) {
    const [topic, partition, offset, timestamp, time] = r[e[i] as number]!;
    const key = e[i + 1] as string;
    const record: StreamRecord = { topic, partition, offset, key, headers: {}, timestamp, time };
    take(key, e[i + 2], record, i / 3);
  }
}
