import { describe, expect, it } from 'vitest';
import type { KafkaMessage } from 'kafkajs';
import { Idleness, caughtUp, sourceProgress, type SourceProgress } from '../../src/pipelines/runtime/idleness';
import { markerMessages, stageBMessage } from '../../src/pipelines/runtime/messages';

const at = (position: number, end: number): SourceProgress => ({ position: BigInt(position), end: BigInt(end) });

describe('Idleness', () => {
  it('marks a partition idle once it has been caught up with no batch for the idle time, and once only', () => {
    const idleness = new Idleness(5000);
    idleness.assigned(['in/0', 'in/1', 'in/2'], 0);
    expect(idleness.due(4999)).toEqual([]);
    // in/0 had a batch at 3000: its clock starts again there.
    idleness.active('in/0', 3000);
    expect(idleness.due(5000)).toEqual(['in/1', 'in/2']);
    const progress = new Map([
      ['in/0', at(10, 10)],
      ['in/1', at(0, 0)], // empty since the start: idle after the idle time too
      ['in/2', at(7, 9)], // records left to read (the worker busy elsewhere): not idle
    ]);
    expect(idleness.toMark(progress, 5000)).toEqual(['in/1']);
    idleness.marked(['in/1']);
    expect(idleness.isIdle('in/1')).toBe(true);
    expect(idleness.toMark(progress, 8000)).toEqual(['in/0']);
    idleness.marked(['in/0']);
    expect(idleness.due(60_000)).toEqual(['in/2']);
  });

  it('takes a partition with a batch between the check of its offsets and the marking for active', () => {
    const idleness = new Idleness(1000);
    idleness.assigned(['in/0'], 0);
    expect(idleness.due(1500)).toEqual(['in/0']);
    const progress = new Map([['in/0', at(4, 4)]]); // read before the batch's records arrived
    idleness.active('in/0', 1600);
    expect(idleness.toMark(progress, 1700)).toEqual([]);
  });

  it('is active again with its next batch, and idle again after the idle time', () => {
    const idleness = new Idleness(1000);
    idleness.assigned(['in/0'], 0);
    idleness.marked(idleness.toMark(new Map([['in/0', at(3, 3)]]), 1000));
    expect(idleness.isIdle('in/0')).toBe(true);
    idleness.active('in/0', 5000);
    expect(idleness.isIdle('in/0')).toBe(false);
    expect(idleness.toMark(new Map([['in/0', at(6, 6)]]), 5999)).toEqual([]);
    expect(idleness.toMark(new Map([['in/0', at(6, 6)]]), 6000)).toEqual(['in/0']);
  });

  it('follows the assignment: partitions gone are forgotten, new ones start their clock when assigned', () => {
    const idleness = new Idleness(1000);
    idleness.assigned(['in/0', 'in/1'], 0);
    idleness.assigned(['in/1', 'in/2'], 800);
    expect(idleness.due(1000)).toEqual(['in/1']);
    expect(idleness.due(1800)).toEqual(['in/1', 'in/2']);
  });

  it('never marks anything with an infinite idle time', () => {
    const idleness = new Idleness(Infinity);
    idleness.assigned(['in/0'], 0);
    expect(idleness.due(Number.MAX_SAFE_INTEGER)).toEqual([]);
  });
});

describe('sourceProgress', () => {
  it("takes this worker's position, else the group's, else where --start begins", () => {
    const base = { low: 5n, end: 20n, from: 'earliest' as const };
    expect(sourceProgress({ ...base, tracked: 20n, committed: 12n })).toEqual(at(20, 20));
    expect(sourceProgress({ ...base, tracked: 12n, committed: 20n })).toEqual(at(20, 20));
    expect(sourceProgress({ ...base, committed: 15n })).toEqual(at(15, 20));
    expect(sourceProgress({ ...base, committed: -1n })).toEqual(at(5, 20));
    expect(sourceProgress({ ...base, committed: -1n, from: 'latest' })).toEqual(at(20, 20));
    // An offset before the first Kafka still holds: the consumer starts over where --start says.
    expect(sourceProgress({ ...base, committed: 2n })).toEqual(at(5, 20));
    expect(caughtUp(sourceProgress({ low: 0n, end: 0n, committed: -1n, from: 'earliest' }))).toBe(true);
    expect(caughtUp(undefined)).toBe(false);
  });
});

describe('idle markers on the repartition topic', () => {
  const read = (time: number, idle?: boolean) =>
    markerMessages('in/2', time, 3, idle).map((m) => stageBMessage(m as unknown as KafkaMessage));

  it('carry the idle flag and a time of -Infinity for a partition that never had a record', () => {
    const marks = read(-Infinity, true);
    expect(marks).toHaveLength(3);
    for (const mark of marks) expect(mark).toEqual({ kind: 'mark', source: 'in/2', time: -Infinity, idle: true });
    expect(read(1234, false)[0]).toEqual({ kind: 'mark', source: 'in/2', time: 1234, idle: false });
    expect(read(Infinity)[0]).toEqual({ kind: 'mark', source: 'in/2', time: Infinity, idle: false });
  });
});
