// pbx's own Kafka record batches, read back by kafkajs's decoder (an independent implementation of the format);
// the broker's CRC check is exercised by every replay integration test.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../src/clients/crc32c';
import { BufferPool, RecordBatchBuilder, type FinishedBatch } from '../../src/clients/record-batch';

const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown;
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (decoder: unknown) => Promise<Decoded>;
const kafkajsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C') as (buffer: Buffer) => number;

interface Decoded {
  firstTimestamp: string;
  maxTimestamp: string;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  lastOffsetDelta: number;
  records: {
    key: Buffer | null;
    value: Buffer | null;
    timestamp: string;
    offset: string;
    headers: Record<string, Buffer>;
  }[];
}

const HEADROOM = 64;
const identity = { producerId: 4242n, producerEpoch: 3, baseSequence: 7 };
const bytes = (batch: FinishedBatch) => batch.buffer.subarray(batch.start, batch.end);
const decode = (batch: FinishedBatch) => decodeBatch(new Decoder(bytes(batch)));

describe('crc32c', () => {
  it('matches the standard check value and kafkajs on every length', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7919) % 251));
    for (const length of [0, 1, 7, 15, 16, 17, 31, 100, 1000])
      expect(crc32c(data, 0, length)).toBe(kafkajsCrc32c(data.subarray(0, length)));
    expect(crc32c(data, 13, 900)).toBe(kafkajsCrc32c(data.subarray(13, 900)));
  });
});

describe('RecordBatchBuilder', () => {
  it('writes records that kafkajs reads back: keys, values, headers, timestamps, producer identity', async () => {
    const builder = new RecordBatchBuilder(new BufferPool(HEADROOM + 4096, 2), HEADROOM);
    const t0 = 1_700_000_000_000;
    expect(builder.add('k1', Buffer.from('{"a":1}'), [], t0)).toBe(true);
    expect(
      builder.add(
        null,
        'é ✓ 漢字',
        [
          ['h', 'v'],
          ['pbx-replay', 'run:0:1'],
        ],
        t0 + 5,
      ),
    ).toBe(true);
    expect(builder.add(Buffer.from([0, 255]), null, [], t0 + 2)).toBe(true); // an earlier time: a negative delta
    const batch = builder.finish(identity);
    expect(batch.start).toBe(HEADROOM);
    expect(batch.records).toBe(3);
    const decoded = await decode(batch);
    expect(decoded).toMatchObject({
      firstTimestamp: String(t0),
      maxTimestamp: String(t0 + 5),
      producerId: '4242',
      producerEpoch: 3,
      firstSequence: 7,
      lastOffsetDelta: 2,
    });
    expect(
      decoded.records.map((r) => ({
        key: r.key?.toString('hex') ?? null,
        value: r.value?.toString() ?? null,
        timestamp: r.timestamp,
        offset: r.offset,
        headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v.toString()])),
      })),
    ).toEqual([
      { key: Buffer.from('k1').toString('hex'), value: '{"a":1}', timestamp: String(t0), offset: '0', headers: {} },
      {
        key: null,
        value: 'é ✓ 漢字',
        timestamp: String(t0 + 5),
        offset: '1',
        headers: { h: 'v', 'pbx-replay': 'run:0:1' },
      },
      { key: '00ff', value: null, timestamp: String(t0 + 2), offset: '2', headers: {} },
    ]);
    // The CRC covers everything from the attributes to the end.
    const whole = bytes(batch);
    expect(whole.readUInt32BE(17)).toBe(crc32c(whole, 21));
  });

  it('says when a batch is full, starts the next one empty, and gives an oversized record a batch of its own', async () => {
    const pool = new BufferPool(HEADROOM + 200, 4);
    const builder = new RecordBatchBuilder(pool, HEADROOM);
    const value = 'x'.repeat(40);
    let added = 0;
    while (builder.add(null, value, [], 1)) added++;
    expect(added).toBeGreaterThan(1);
    expect(builder.size).toBeLessThanOrEqual(200);
    const full = builder.finish(identity);
    expect((await decode(full)).records).toHaveLength(added);
    pool.give(full.buffer);

    const huge = 'y'.repeat(1000);
    expect(builder.add(null, huge, [], 1)).toBe(true);
    expect(builder.add(null, 'z', [], 1)).toBe(false);
    const alone = builder.finish(identity);
    expect((await decode(alone)).records.map((r) => r.value?.toString())).toEqual([huge]);
    // The builder is back on the pool's buffers, and the one-off buffer does not join the pool.
    pool.give(alone.buffer);
    expect(builder.add(null, 'z', [], 1)).toBe(true);
  });

  it('compresses the records with gzip, which kafkajs decompresses', async () => {
    const builder = new RecordBatchBuilder(new BufferPool(HEADROOM + 64 * 1024, 2), HEADROOM);
    const values = Array.from({ length: 500 }, (_, i) => `{"review":"the same words again and again","i":${i}}`);
    for (const value of values) builder.add(null, value, [], 1);
    const batch = builder.finish(identity, 'gzip');
    expect(batch.end - batch.start).toBeLessThan(values.join('').length / 4);
    expect((await decode(batch)).records.map((r) => r.value?.toString())).toEqual(values);
  });
});
