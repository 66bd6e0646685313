// Stage A's keyed values on their way to stage B, as chunks: one repartition record carries the values of a batch
// bound for one key partition (up to CHUNK_CHARS of them), not one record per value. A word count's million words
// are then a few hundred Kafka records, and Kafka's per-record costs (encoding, headers, decoding in stage B) go.
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
  // A key's UTF-8 bytes in a buffer kept for it (at most 3 bytes a character), not a new one per key.
  if (key.length * 3 > scratch.length)
    return (murmur2(Buffer.from(key), Buffer.byteLength(key)) & 0x7fffffff) % partitions;
  return (murmur2(scratch, scratch.write(key)) & 0x7fffffff) % partitions;
}

const scratch = Buffer.allocUnsafe(4096);

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

/** One chunk being written: `{"r":[records],"e":[record index, key, value, …]}`, as JSON text in pieces. */
class Chunk {
  readonly records: string[] = [];
  readonly entries: string[] = [];
  chars = 16;
  newest = 0;
  private last?: StreamRecord;
  private lastIndex = -1;

  add(key: string, value: unknown, record: StreamRecord): void {
    if (record !== this.last) {
      const { topic, partition, offset, timestamp, time } = record;
      const text = JSON.stringify([topic, partition, offset, timestamp, time]);
      this.records.push(text);
      this.chars += text.length + 1;
      this.last = record;
      this.lastIndex = this.records.length - 1;
      if (timestamp > this.newest) this.newest = timestamp;
    }
    const keyJson = JSON.stringify(key);
    // A value that is its key (`keyBy((word) => word)`) is encoded once. undefined, a function or a symbol: null,
    // as JSON would write it in an array.
    const valueJson = value === key ? keyJson : (JSON.stringify(value) ?? 'null');
    const entry = `${this.lastIndex},${keyJson},${valueJson}`;
    this.entries.push(entry);
    this.chars += entry.length + 1;
  }

  message(partition: number): Message {
    const value = `{"r":[${this.records.join(',')}],"e":[${this.entries.join(',')}]}`;
    return { partition, key: null, value, timestamp: String(this.newest) };
  }
}

/** A batch's keyed values by key partition, written as chunks in the order they were added. */
export class RepartitionChunks {
  private readonly open = new Map<number, Chunk>();
  private readonly full: Message[] = [];

  constructor(private readonly partitions: number) {}

  add(key: string, value: unknown, record: StreamRecord): void {
    const partition = keyPartition(key, this.partitions);
    let chunk = this.open.get(partition);
    if (!chunk) {
      chunk = new Chunk();
      this.open.set(partition, chunk);
    }
    chunk.add(key, value, record);
    if (chunk.chars >= CHUNK_CHARS) {
      this.full.push(chunk.message(partition));
      this.open.delete(partition);
    }
  }

  /** Every chunk of the batch (per partition in order); empty after. */
  drain(): Message[] {
    const messages = this.full.splice(0);
    for (const [partition, chunk] of this.open) messages.push(chunk.message(partition));
    this.open.clear();
    return messages;
  }
}

/** A chunk read back (the text of its record): its values in the order they were written. */
export function chunkValues(text: string): KeyedValue[] {
  const { r, e } = JSON.parse(text) as { r: Array<[string, number, string, number, number]>; e: unknown[] };
  const values: KeyedValue[] = [];
  for (let i = 0; i < e.length; i += 3) {
    const [topic, partition, offset, timestamp, time] = r[e[i] as number]!;
    const key = e[i + 1] as string;
    const record: StreamRecord = { topic, partition, offset, key, headers: {}, timestamp, time };
    values.push({ key, value: e[i + 2], record });
  }
  return values;
}
