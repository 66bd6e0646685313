import { gzipSync } from 'node:zlib';
import { crc32c } from './crc32c';

// Kafka's record batch (magic 2), written straight into one buffer: the file's bytes are copied once, with no
// object or buffer per record. Layout: https://kafka.apache.org/documentation/#recordbatch
// baseOffset int64, batchLength int32, partitionLeaderEpoch int32, magic int8, crc uint32 — then, covered by
// the CRC: attributes int16, lastOffsetDelta int32, baseTimestamp int64, maxTimestamp int64, producerId int64,
// producerEpoch int16, baseSequence int32, recordCount int32, records.
const CRC_AT = 17;
const ATTRIBUTES_AT = 21;
const BATCH_HEADER_BYTES = 61;
const MAGIC = 2;
const NO_PARTITION_LEADER_EPOCH = -1;
const TRANSACTIONAL = 0x10;

export type Compression = 'none' | 'gzip';
const CODEC: Record<Compression, number> = { none: 0, gzip: 1 };

/** A record header: name and value. */
export type RecordHeader = readonly [name: Bytes, value: Bytes];

/** Record bytes; a string is written as UTF-8 straight into the batch. */
export type Bytes = Buffer | string | ByteRange | null;

/** Bytes at [start, end) of a buffer: copied into the batch with no view of them made (a view costs 0.1 µs). */
export interface ByteRange {
  readonly bytes: Buffer;
  readonly start: number;
  readonly end: number;
}

export interface BatchIdentity {
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  /** A batch of a Kafka transaction: its records stay invisible to read_committed readers until the commit. */
  transactional?: boolean;
}

/**
 * A finished batch: `buffer[start, end)`, with `start` bytes free before it, where a request's framing can
 * be written so that the batch is never copied on its way to the socket.
 */
export interface FinishedBatch {
  buffer: Buffer;
  start: number;
  end: number;
  records: number;
}

/** Buffers of one size, reused: a steady stream of batches allocates nothing and leaves no garbage behind. */
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly size: number,
    private readonly keep: number,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  give(buffer: Buffer): void {
    if (buffer.length === this.size && this.free.length < this.keep) this.free.push(buffer);
  }
}

/** Builds record batches, record by record, in the pool's buffers after `headroom` free bytes. */
export class RecordBatchBuilder {
  private buffer: Buffer;
  private end: number;
  private baseTimestamp = 0;
  private maxTimestamp = 0;
  count = 0;

  constructor(
    private readonly pool: BufferPool,
    private readonly headroom: number,
  ) {
    this.buffer = pool.take();
    this.end = headroom + BATCH_HEADER_BYTES;
  }

  /** Bytes of the batch so far, its header included. */
  get size(): number {
    return this.end - this.headroom;
  }

  /**
   * Appends a record stamped `timestamp` (ms since the epoch). Returns false, appending nothing, when it would
   * not fit the buffer; a record larger than a whole buffer still gets an empty batch of its own.
   */
  add(key: Bytes, value: Bytes, headers: readonly RecordHeader[], timestamp: number): boolean {
    const baseTimestamp = this.count === 0 ? timestamp : this.baseTimestamp;
    const timestampDelta = zigzag(timestamp - baseTimestamp);
    const offsetDelta = zigzag(this.count);
    let body = 1 + varintSize(timestampDelta) + varintSize(offsetDelta) + bytesSize(key) + bytesSize(value);
    body += varintSize(zigzag(headers.length));
    for (const [name, headerValue] of headers) body += bytesSize(name) + bytesSize(headerValue);
    const length = zigzag(body);
    const recordSize = varintSize(length) + body;
    if (this.end + recordSize > this.buffer.length) {
      if (this.count > 0) return false;
      this.buffer = Buffer.allocUnsafeSlow(this.headroom + BATCH_HEADER_BYTES + recordSize);
    }
    if (this.count === 0) this.baseTimestamp = this.maxTimestamp = timestamp;
    else if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
    const buffer = this.buffer;
    let at = writeVarint(buffer, this.end, length);
    buffer[at++] = 0; // record attributes: none are defined
    at = writeVarint(buffer, at, timestampDelta);
    at = writeVarint(buffer, at, offsetDelta);
    at = writeBytes(buffer, at, key);
    at = writeBytes(buffer, at, value);
    at = writeVarint(buffer, at, zigzag(headers.length));
    for (const [name, headerValue] of headers) {
      at = writeBytes(buffer, at, name);
      at = writeBytes(buffer, at, headerValue);
    }
    this.end = at;
    this.count++;
    return true;
  }

  /** The finished batch, in a buffer that is now the caller's (give it back to the pool once sent). */
  finish(identity: BatchIdentity, compression: Compression = 'none'): FinishedBatch {
    const start = this.headroom;
    let batch = this.buffer;
    let end = this.end;
    if (compression === 'none') {
      this.buffer = this.pool.take();
    } else {
      const packed = gzipSync(batch.subarray(start + BATCH_HEADER_BYTES, end));
      end = start + BATCH_HEADER_BYTES + packed.length;
      const compressed = end <= this.pool.size ? this.pool.take() : Buffer.allocUnsafeSlow(end);
      compressed.set(packed, start + BATCH_HEADER_BYTES);
      if (batch.length === this.pool.size)
        this.buffer = batch; // the builder keeps its own
      else this.buffer = this.pool.take();
      batch = compressed;
    }
    batch.writeBigInt64BE(0n, start); // base offset: the broker assigns it
    batch.writeInt32BE(end - start - 12, start + 8);
    batch.writeInt32BE(NO_PARTITION_LEADER_EPOCH, start + 12);
    batch.writeInt8(MAGIC, start + 16);
    // Create-time timestamps; transactional or not.
    batch.writeInt16BE(CODEC[compression] | (identity.transactional ? TRANSACTIONAL : 0), start + ATTRIBUTES_AT);
    batch.writeInt32BE(this.count - 1, start + 23);
    batch.writeBigInt64BE(BigInt(this.baseTimestamp), start + 27);
    batch.writeBigInt64BE(BigInt(this.maxTimestamp), start + 35);
    batch.writeBigInt64BE(identity.producerId, start + 43);
    batch.writeInt16BE(identity.producerEpoch, start + 51);
    batch.writeInt32BE(identity.baseSequence, start + 53);
    batch.writeInt32BE(this.count, start + 57);
    batch.writeUInt32BE(crc32c(batch, start + ATTRIBUTES_AT, end), start + CRC_AT);
    const finished = { buffer: batch, start, end, records: this.count };
    this.end = start + BATCH_HEADER_BYTES;
    this.count = 0;
    return finished;
  }
}

/** Zigzag form of a safe integer, as a non-negative number (varlong range, not just 32 bits). */
function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buffer: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    buffer[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buffer[at++] = n;
  return at;
}

/** A varint length, then the bytes; null is length -1. */
function bytesSize(bytes: Bytes): number {
  if (bytes === null) return 1;
  const length = byteLength(bytes);
  return varintSize(length * 2) + length;
}

function byteLength(bytes: Buffer | string | ByteRange): number {
  if (typeof bytes === 'string') return Buffer.byteLength(bytes);
  return bytes instanceof Uint8Array ? bytes.length : bytes.end - bytes.start;
}

function writeBytes(buffer: Buffer, at: number, bytes: Bytes): number {
  if (bytes === null) return writeVarint(buffer, at, 1); // zigzag(-1)
  if (typeof bytes === 'string') {
    const length = Buffer.byteLength(bytes);
    at = writeVarint(buffer, at, length * 2);
    return at + buffer.write(bytes, at);
  }
  const length = byteLength(bytes);
  at = writeVarint(buffer, at, length * 2);
  if (bytes instanceof Uint8Array)
    buffer.set(bytes, at); // TypedArray's set: much cheaper per call than Buffer's copy
  else bytes.bytes.copy(buffer, at, bytes.start, bytes.end); // (than a view and set, too)
  return at + length;
}
