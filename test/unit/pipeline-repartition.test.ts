import type { KafkaMessage } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { StreamRecord } from '../../src/pipelines/api';
import { stageBMessage } from '../../src/pipelines/runtime/messages';
import { CHUNK_CHARS, chunkValues, keyPartition, RepartitionChunks } from '../../src/pipelines/runtime/repartition';

const record = (offset: number, time = offset * 1000): StreamRecord => ({
  topic: 'in',
  partition: 1,
  offset: String(offset),
  key: null,
  headers: {},
  timestamp: 1_700_000_000_000 + offset,
  time,
});
const asRead = (message: { value?: unknown; timestamp?: string }) =>
  ({ ...message, value: Buffer.from(String(message.value)), headers: {} }) as unknown as KafkaMessage;

describe('repartition chunks', () => {
  it("puts a key in the partition Kafka's default partitioner does", () => {
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: 7 }, (_, partitionId) => ({
      ...{ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] },
    }));
    for (const key of [
      '',
      'a',
      'ab',
      'abc',
      'abcd',
      'the',
      'größe',
      '日本語のキー',
      'x'.repeat(101),
      'y'.repeat(2000),
      'key-123456',
    ]) {
      for (const partitions of [1, 3, 7]) {
        const expected = partitioner({
          topic: 't',
          partitionMetadata: partitionMetadata.slice(0, partitions),
          message: { key, value: null },
        });
        expect(keyPartition(key, partitions), `${key} in ${partitions}`).toBe(expected);
      }
    }
  });

  it('writes a batch as one record per key partition, and reads back each value with its key and record', () => {
    const chunks = new RepartitionChunks(3);
    const words = ['the', 'cat', 'the', 'mat', 'a\nb', '"quoted"'];
    words.forEach((word, i) => chunks.add(word, word, record(i % 2)));
    chunks.add('obj', { n: 1, list: [1, 'x'] }, record(5));
    chunks.add('none', undefined, record(5));
    const messages = chunks.drain();
    expect(messages.length).toBeLessThanOrEqual(3);
    expect(new Set(messages.map((m) => m.partition)).size).toBe(messages.length);
    const read = messages.flatMap((m) => {
      const b = stageBMessage(asRead(m));
      if (b.kind !== 'values') throw new Error('not a chunk');
      const values = chunkValues(b.chunk);
      for (const v of values) expect(keyPartition(v.key, 3)).toBe(m.partition);
      return values;
    });
    const byKey = (k: string) => read.filter((v) => v.key === k);
    expect(byKey('the').map((v) => v.record.offset)).toEqual(['0', '0']);
    expect(byKey('a\nb')[0]).toEqual({ key: 'a\nb', value: 'a\nb', record: { ...record(0), key: 'a\nb' } });
    expect(byKey('"quoted"')[0]!.value).toBe('"quoted"');
    expect(byKey('obj')[0]!.value).toEqual({ n: 1, list: [1, 'x'] });
    expect(byKey('none')[0]!.value).toBeNull();
    expect(read).toHaveLength(8);
    expect(chunks.drain()).toEqual([]);
  });

  it('writes lines keyed by themselves as text, in order with JSON values, read back as add() would give them', () => {
    const chunks = new RepartitionChunks(1);
    const lines = Array.from({ length: Math.ceil((2 * CHUNK_CHARS) / 6) }, (_, i) => `w${i % 977}`);
    lines.forEach((line) => chunks.addLine(line, record(1)));
    chunks.add('k', { n: 1 }, record(2));
    chunks.addLine('', record(2));
    chunks.addLine('größe "q" \\', record(2));
    chunks.addLine('other record', record(3));
    const messages = chunks.drain();
    // Text up to CHUNK_CHARS, the JSON value, the text of record 2, of record 3.
    expect(messages.length).toBeGreaterThanOrEqual(5);
    for (const m of messages) expect(String(m.value).length).toBeLessThan(CHUNK_CHARS + 100);
    const read = messages.flatMap((m) => chunkValues(String(m.value)));
    // (compared as JSON text: a deep comparison of 40,000 values takes seconds)
    const json = (values: unknown[]) => JSON.stringify(values);
    expect(json(read.map((v) => v.value))).toBe(json([...lines, { n: 1 }, '', 'größe "q" \\', 'other record']));
    expect(json(read.map((v) => v.key))).toBe(json([...lines, 'k', '', 'größe "q" \\', 'other record']));
    expect(read.at(-1)!.record).toEqual(record(3));
    expect(read.at(-3)!.record).toEqual(record(2));
    expect(read[0]!.record).toEqual(record(1));
    expect(messages.at(-1)!.timestamp).toBe(String(record(3).timestamp));
  });

  it("keeps a partition's values in order across chunks of at most CHUNK_CHARS", () => {
    const chunks = new RepartitionChunks(1);
    const value = 'v'.repeat(1000);
    const count = Math.ceil((3 * CHUNK_CHARS) / 1000);
    for (let i = 0; i < count; i++) chunks.add(`k${i}`, value, record(i));
    const messages = chunks.drain();
    expect(messages.length).toBeGreaterThanOrEqual(3);
    for (const m of messages) expect(String(m.value).length).toBeLessThan(CHUNK_CHARS + 2000);
    const keys = messages.flatMap((m) => chunkValues(String(m.value)).map((v) => v.key));
    expect(keys).toEqual(Array.from({ length: count }, (_, i) => `k${i}`));
  });
});
