// Kafka's protocol encodings for the requests pbx sends itself on kafkajs's connections. The flexible one (KIP-482:
// compact strings and arrays, tagged fields), which kafkajs 2.2.4 does not write, for TxnOffsetCommit 3 and
// OffsetFetch 7; the classic one (int16-long strings, int32-long arrays) for DescribeLogDirs, which kafkajs lacks.

/** Writes a flexible request body. */
export class FlexibleWriter {
  private buffer = Buffer.alloc(256);
  private at = 0;

  private room(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    const bigger = Buffer.alloc(Math.max(this.buffer.length * 2, this.at + bytes));
    this.buffer.copy(bigger, 0, 0, this.at);
    this.buffer = bigger;
  }
  varint(n: number): this {
    this.room(5);
    while (n >= 0x80) {
      this.buffer[this.at++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buffer[this.at++] = n;
    return this;
  }
  /** A compact (nullable) string: its length plus one, then its bytes; 0 is null. */
  string(value: string | null): this {
    if (value === null) return this.varint(0);
    const bytes = Buffer.from(value);
    this.varint(bytes.length + 1).room(bytes.length);
    this.buffer.set(bytes, this.at);
    this.at += bytes.length;
    return this;
  }
  int8(n: number): this {
    this.room(1);
    this.at = this.buffer.writeInt8(n, this.at);
    return this;
  }
  int16(n: number): this {
    this.room(2);
    this.at = this.buffer.writeInt16BE(n, this.at);
    return this;
  }
  int32(n: number): this {
    this.room(4);
    this.at = this.buffer.writeInt32BE(n, this.at);
    return this;
  }
  int64(n: bigint): this {
    this.room(8);
    this.at = this.buffer.writeBigInt64BE(n, this.at);
    return this;
  }
  done(): Buffer {
    return this.buffer.subarray(0, this.at);
  }
}

/** Reads a response body in order, the fixed-width types both encodings share; throws when it is cut short. */
abstract class ResponseReader {
  private at = 0;

  constructor(
    protected readonly payload: Buffer,
    /** Named in the error of an answer cut short. */
    private readonly what: string,
  ) {}

  int16(): number {
    return this.advance(2, (at) => this.payload.readInt16BE(at));
  }
  int32(): number {
    return this.advance(4, (at) => this.payload.readInt32BE(at));
  }
  int64(): bigint {
    return this.advance(8, (at) => this.payload.readBigInt64BE(at));
  }
  boolean(): boolean {
    return this.advance(1, (at) => this.payload[at] !== 0);
  }

  protected advance<T>(bytes: number, value: (at: number) => T): T {
    if (this.at + bytes > this.payload.length) {
      throw new Error(`${this.what} answer cut short: ${bytes} bytes wanted at ${this.at} of ${this.payload.length}`);
    }
    const read = value(this.at);
    this.at += bytes;
    return read;
  }
}

/** Reads a classic (non-flexible) response body. */
export class ClassicReader extends ResponseReader {
  /** A nullable string; null is ''. */
  string(): string {
    const length = this.int16();
    return length < 0 ? '' : this.advance(length, (at) => this.payload.toString('utf8', at, at + length));
  }
  /** An array of `item`; a null array (-1) is empty. */
  array<T>(item: () => T): T[] {
    const length = this.int32();
    return Array.from({ length: Math.max(0, length) }, item);
  }
}

/** Reads a flexible response body. */
export class FlexibleReader extends ResponseReader {
  varint(): number {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = this.advance(1, (at) => this.payload[at]!);
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  }
  /** A compact nullable string; null is ''. */
  string(): string {
    const length = this.varint() - 1;
    return length <= 0 ? '' : this.advance(length, (at) => this.payload.toString('utf8', at, at + length));
  }
  /** A compact array of `item`, each followed by its tagged fields; a null array is empty. */
  array<T>(item: () => T): T[] {
    const length = this.varint() - 1;
    return Array.from({ length: Math.max(0, length) }, () => {
      const value = item();
      this.tags();
      return value;
    });
  }
  /** Skips tagged fields (none of which pbx reads). */
  tags(): void {
    for (let n = this.varint(); n > 0; n--) {
      this.varint();
      const size = this.varint();
      this.advance(size, () => undefined);
    }
  }
}
