import { describe, expect, it } from 'vitest';
import { decodeTxnOffsetCommit, encodeTxnOffsetCommit } from '../../src/clients/kafkajs-internals';

// TxnOffsetCommit version 3 (KIP-447), Kafka's flexible encoding, which kafkajs does not write: checked byte by byte.
describe('TxnOffsetCommit version 3', () => {
  it('carries the member generation and id, and every partition offset', () => {
    const body = encodeTxnOffsetCommit(
      {
        transactionalId: 'tx',
        producerId: '7',
        producerEpoch: 2,
        groupId: 'g',
        generationId: 5,
        memberId: 'm-1',
        offsets: [],
      },
      new Map([['t', [{ partition: 1, offset: 300n }]]]),
    );
    const expected = Buffer.concat([
      Buffer.from([0]), // the request header's tagged fields
      Buffer.from([3, ...Buffer.from('tx')]),
      Buffer.from([2, ...Buffer.from('g')]),
      Buffer.from([0, 0, 0, 0, 0, 0, 0, 7, 0, 2, 0, 0, 0, 5]), // producer id, epoch, generation
      Buffer.from([4, ...Buffer.from('m-1'), 0]), // member id, no group instance id
      Buffer.from([2, 2, ...Buffer.from('t'), 2]), // one topic "t", one partition
      Buffer.from([0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 44, 255, 255, 255, 255, 0, 0]), // 1, offset 300, no epoch nor metadata
      Buffer.from([0, 0]), // the topic's and the request's tagged fields
    ]);
    expect(body.toString('hex')).toBe(expected.toString('hex'));
  });

  it("reads each partition's error code from the answer", () => {
    const answer = Buffer.from([
      0, // the response header's tagged fields
      0,
      0,
      0,
      0, // throttle time
      2,
      4,
      ...Buffer.from('abc'), // one topic "abc"
      3,
      0,
      0,
      0,
      0,
      0,
      22,
      0,
      0,
      0,
      0,
      1,
      0,
      0,
      0, // two partitions: 0 ILLEGAL_GENERATION, 1 none
      0,
      0,
    ]);
    expect(decodeTxnOffsetCommit(answer)).toEqual([22, 0]);
  });
});
