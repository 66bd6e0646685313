import { describe, expect, it } from 'vitest';
import { decodeOffsetFetch, encodeOffsetFetch, UNSTABLE_OFFSET_COMMIT } from '../../src/clients/offset-fetch';

// OffsetFetch version 7 (KIP-447's require_stable), Kafka's flexible encoding, which kafkajs does not write: checked
// byte by byte against the layout of Kafka's OffsetFetchRequest.json and OffsetFetchResponse.json.
describe('OffsetFetch version 7', () => {
  it("asks for the group's stable offsets of each partition, by topic", () => {
    const body = encodeOffsetFetch('g', [
      { topic: 't', partition: 2 },
      { topic: 'u', partition: 0 },
      { topic: 't', partition: 5 },
    ]);
    const expected = Buffer.concat([
      Buffer.from([0]), // the request header's tagged fields
      Buffer.from([2, ...Buffer.from('g')]),
      Buffer.from([3]), // two topics
      Buffer.from([2, ...Buffer.from('t'), 3, 0, 0, 0, 2, 0, 0, 0, 5, 0]), // "t": partitions 2 and 5, no tags
      Buffer.from([2, ...Buffer.from('u'), 2, 0, 0, 0, 0, 0]), // "u": partition 0
      Buffer.from([1, 0]), // require_stable, the request's tagged fields
    ]);
    expect(body.toString('hex')).toBe(expected.toString('hex'));
  });

  it("reads each partition's offset and error, the group's error and the throttle time", () => {
    const partition = (index: number, offset: bigint, errorCode: number) => {
      const out = Buffer.alloc(4 + 8 + 4 + 1 + 2 + 1);
      let at = out.writeInt32BE(index, 0);
      at = out.writeBigInt64BE(offset, at);
      at = out.writeInt32BE(-1, at); // committed leader epoch
      at = out.writeUInt8(1, at); // metadata: ""
      out.writeInt16BE(errorCode, at); // then no tags
      return out;
    };
    const answer = Buffer.concat([
      Buffer.from([0]), // the response header's tagged fields
      Buffer.from([0, 0, 0, 25]), // throttle time
      Buffer.from([2, 4, ...Buffer.from('abc'), 3]), // one topic "abc", two partitions
      partition(0, 300n, 0),
      partition(1, -1n, UNSTABLE_OFFSET_COMMIT),
      Buffer.from([0]), // the topic's tagged fields
      Buffer.from([0, 0, 0]), // the group's error: none; tagged fields
    ]);
    expect(decodeOffsetFetch(answer)).toEqual({
      errorCode: 0,
      clientSideThrottleTime: 25,
      partitions: [
        { topic: 'abc', partition: 0, offset: 300n, errorCode: 0 },
        { topic: 'abc', partition: 1, offset: -1n, errorCode: UNSTABLE_OFFSET_COMMIT },
      ],
    });
  });

  it('says so when the answer is cut short', () => {
    expect(() => decodeOffsetFetch(Buffer.from([0, 0, 0, 0, 0, 2, 4]))).toThrow(/OffsetFetch answer cut short/);
  });
});
