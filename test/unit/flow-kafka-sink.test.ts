import { describe, expect, it } from 'vitest';
import type { BatchProducerOptions } from '../../src/clients/batch-producer';
import type { Bytes, RecordHeader } from '../../src/clients/record-batch';
import {
  KafkaSink,
  MAX_SEND_RECORDS,
  SEND_BYTES,
  type KafkaSinkOptions,
  type SinkProducer,
  type Span,
} from '../../src/flow/kafka-sink';
import type { SourceItem } from '../../src/flow/records';

interface Appended {
  topic: string;
  partition: number;
  key: Buffer | string | null;
  value: Bytes;
  headers: readonly RecordHeader[];
}

/** BatchProducer's public side, in memory: sends wait for `acknowledge()`, as Kafka's answers would. */
class FakeProducer implements SinkProducer {
  openBytes = 0;
  readonly appended: Appended[] = [];
  readonly sent: Span[] = [];
  private unacknowledged = 0;
  failNextSend: Error | undefined;
  constructor(readonly options: BatchProducerOptions<Span>) {}
  partitionFor(topic: string, key: Buffer | string | null): number {
    return key === null ? 0 : 7;
  }
  append(
    topic: string,
    partition: number,
    key: Buffer | string | null,
    value: Bytes,
    headers: readonly RecordHeader[],
  ) {
    this.appended.push({ topic, partition, key, value, headers });
    this.openBytes += 1;
  }
  send(mark: Span): Promise<void> {
    if (this.failNextSend) return Promise.reject(this.failNextSend);
    this.openBytes = 0;
    this.sent.push(mark);
    this.unacknowledged++;
    return Promise.resolve();
  }
  /** Kafka acknowledges the oldest send. */
  acknowledge(): void {
    const mark = this.sent[this.sent.length - this.unacknowledged--]!;
    this.options.onDelivered(mark);
  }
  flush(): Promise<void> {
    while (this.unacknowledged > 0) this.acknowledge();
    return Promise.resolve();
  }
  deliveredOffsets(): Record<string, string> {
    return { '0': '12' };
  }
  acknowledgedRecords(): number {
    return 3;
  }
  disconnect(): Promise<void> {
    return Promise.resolve();
  }
}

async function sinkWith(change: Partial<KafkaSinkOptions> = {}) {
  const delivered: Span[] = [];
  let producer!: FakeProducer;
  const sink = await KafkaSink.connect(
    {
      kafka: { brokers: ['kafka:9092'] },
      topic: 'reviews',
      onError: 'stop',
      maxMessageBytes: new Map(),
      onDelivered: (span) => delivered.push(span),
      ...change,
    },
    (options) => Promise.resolve((producer = new FakeProducer(options))),
  );
  return { sink, producer, delivered };
}

const line = (index: number, text: string): SourceItem => {
  const bytes = Buffer.from(text);
  return { kind: 'record', index, line: index + 1, value: undefined, bytes, start: 0, end: bytes.length };
};

describe('KafkaSink', () => {
  it('connects a producer for its topics, with batches under the smallest max.message.bytes', async () => {
    const { producer } = await sinkWith({
      onError: 'dead-letter',
      deadLetterTopic: 'errors',
      maxMessageBytes: new Map([
        ['reviews', 2_000_000],
        ['errors', 500_000],
      ]),
    });
    expect(producer.options.topics).toEqual(['reviews', 'errors']);
    expect(producer.options.batchBytes).toBe(500_000);
    expect((await sinkWith()).producer.options.batchBytes).toBe(1000 * 1024);
  });

  it('hands each send the span of the source it covers, acknowledged in order', async () => {
    const { sink, producer, delivered } = await sinkWith();
    sink.startAt(5);
    const items = [line(5, '{"a":1}'), line(6, '{"a":22}')];
    for (const item of items) {
      sink.append('k', item, [], 1000);
      sink.passOver(item);
    }
    await sink.send();
    sink.append(null, 'x', [], 1001);
    sink.passOver(line(7, 'x'));
    await sink.send();
    expect(producer.appended.map((a) => [a.topic, a.partition, a.key])).toEqual([
      ['reviews', 7, 'k'],
      ['reviews', 7, 'k'],
      ['reviews', 0, null],
    ]);
    expect(delivered).toEqual([]); // not before Kafka answers
    producer.acknowledge();
    expect(delivered).toEqual([{ sent: 2, deadLettered: 0, nextIndex: 7, fileBytes: 7 + 1 + 8 + 1 }]);
    await sink.drain();
    expect(delivered[1]).toEqual({ sent: 1, deadLettered: 0, nextIndex: 8, fileBytes: 2 });
  });

  it('says when a send’s worth is appended: by records or by bytes', async () => {
    const { sink, producer } = await sinkWith();
    for (let i = 0; i < MAX_SEND_RECORDS - 1; i++) sink.append(null, 'x', [], 0);
    expect(sink.full).toBe(false);
    sink.append(null, 'x', [], 0);
    expect(sink.full).toBe(true);
    await sink.send();
    expect(sink.full).toBe(false);
    sink.append(null, 'x', [], 0);
    producer.openBytes = SEND_BYTES;
    expect(sink.full).toBe(true);
  });

  it('sends at a pause of a live source only what was appended', async () => {
    const { sink, producer } = await sinkWith();
    await sink.pause();
    expect(producer.sent).toHaveLength(0);
    sink.append(null, 'x', [], 0);
    await sink.pause();
    expect(producer.sent).toHaveLength(1);
  });

  it('skips a bad record with --on-error skip: passed over, nothing sent', async () => {
    const { sink, producer, delivered } = await sinkWith({ onError: 'skip' });
    expect(sink.reject(line(0, 'nope'), 'invalid JSON', 'data.json')).toBe('skip');
    await sink.drain();
    expect(producer.appended).toEqual([]);
    expect(delivered).toEqual([{ sent: 0, deadLettered: 0, nextIndex: 1, fileBytes: 5 }]);
  });

  it('sends a bad record to the dead-letter topic, with headers saying why and where', async () => {
    const { sink, producer, delivered } = await sinkWith({ onError: 'dead-letter', deadLetterTopic: 'errors' });
    const bad = line(3, 'nope');
    expect(sink.reject(bad, 'invalid JSON', 'data.json')).toBe('dead-letter');
    await sink.drain();
    expect(producer.appended).toEqual([
      {
        topic: 'errors',
        partition: 0,
        key: null,
        value: bad,
        headers: [
          ['pbx-error', 'invalid JSON'],
          ['pbx-source', 'data.json'],
          ['pbx-line', '4'],
          ['pbx-index', '3'],
        ],
      },
    ]);
    expect(delivered).toEqual([{ sent: 0, deadLettered: 1, nextIndex: 4, fileBytes: 5 }]);
  });

  it('leaves a bad record to the caller with --on-error stop: the span stays before it', async () => {
    const { sink, producer, delivered } = await sinkWith();
    sink.startAt(3);
    expect(sink.reject(line(3, 'nope'), 'invalid JSON', 'data.json')).toBe('stop');
    await sink.drain();
    expect(producer.appended).toEqual([]);
    expect(delivered).toEqual([{ sent: 0, deadLettered: 0, nextIndex: 3, fileBytes: 0 }]);
  });

  it('refuses a record larger than the topic takes, and only then', async () => {
    const { sink } = await sinkWith({ maxMessageBytes: new Map([['reviews', 100_000]]) });
    expect(sink.tooLarge('k', 'x'.repeat(10_000), [])).toBeUndefined(); // far under: not even measured
    expect(sink.tooLarge(null, Buffer.alloc(99_000), [])).toBeUndefined();
    expect(sink.tooLarge(null, Buffer.alloc(100_000), [])).toBe(
      'the record takes 100087 bytes in a batch, more than topic reviews takes (its max.message.bytes, 100000)',
    );
    const unlimited = (await sinkWith()).sink;
    expect(unlimited.tooLarge(null, Buffer.alloc(10_000_000), [])).toBeUndefined();
  });

  it('commits after each acknowledgement, one at a time and in order; drain waits for the commits', async () => {
    const events: string[] = [];
    let release!: () => void;
    const first = new Promise<void>((resolve) => (release = resolve));
    let commits = 0;
    const { sink, producer } = await sinkWith({
      onDelivered: (span) => events.push(`delivered ${span.nextIndex}`),
      commit: async () => {
        const n = ++commits;
        events.push(`commit ${n} starts`);
        if (n === 1) await first;
        events.push(`commit ${n} ends`);
      },
    });
    sink.passOver(line(0, 'a'));
    await sink.send();
    sink.passOver(line(1, 'b'));
    await sink.send();
    producer.acknowledge();
    producer.acknowledge();
    const drained = sink.drain().then(() => events.push('drained'));
    await new Promise(setImmediate); // everything that can run without the first commit ending has
    expect(events).toEqual(['delivered 1', 'delivered 2', 'commit 1 starts', 'delivered 2']); // (the drain's send)
    release();
    await drained;
    expect(events.slice(4)).toEqual([
      'commit 1 ends',
      'commit 2 starts',
      'commit 2 ends',
      'commit 3 starts',
      'commit 3 ends',
      'drained',
    ]);
  });

  it('stops at the next send once a commit failed, with the commit’s error', async () => {
    const unwritable = new Error('cannot write the checkpoint');
    const { sink, producer } = await sinkWith({ commit: () => Promise.reject(unwritable) });
    await sink.send();
    producer.acknowledge();
    await sink.settled();
    await expect(sink.send()).rejects.toBe(unwritable);
    expect(sink.failure).toBeUndefined(); // not Kafka's failure
  });

  it('keeps what stopped the producer as the sink’s failure', async () => {
    const { sink, producer } = await sinkWith();
    producer.failNextSend = Object.assign(new Error('broker gone'), { name: 'KafkaJSConnectionError' });
    await expect(sink.send()).rejects.toThrow('broker gone');
    expect(sink.failure?.message).toBe('broker gone');
    expect([sink.acknowledged(), sink.deliveredOffsets()]).toEqual([3, { '0': '12' }]);
  });
});
