import { describe, expect, it } from 'vitest';
import type { SourceItem } from '../../src/flow/records';
import { Pacer, Schedule, type Pace } from '../../src/replay/pacing';
import { MessageBuilder } from '../../src/replay/records';

const record = (index: number, value: unknown, text = JSON.stringify(value)): SourceItem => {
  const bytes = Buffer.from(text);
  return { kind: 'record', index, line: index + 1, value, bytes, start: 0, end: bytes.length };
};

function builder(plan: { key?: string; pace?: Pace; headers?: [string, string][] } = {}) {
  const pace = plan.pace ?? { kind: 'max' };
  const schedule = new Schedule(pace);
  return { build: new MessageBuilder({ key: plan.key, pace, headers: plan.headers ?? [] }, schedule), schedule };
}

describe('MessageBuilder', () => {
  it('sends a line’s exact bytes, keyed by a dotted path, with the fixed headers, in one reused message', () => {
    const { build } = builder({ key: 'user.id', headers: [['origin', 'test']] });
    const first = record(0, { user: { id: 7 } }, '{ "user": {"id": 7} }');
    expect(build.build(first, 0, 'ndjson')).toBeUndefined();
    const message = build.message;
    expect(message).toEqual({ key: '7', value: first, headers: [['origin', 'test']], dueMs: 0 });
    expect(build.build(record(1, { user: { id: 'a' } }), 0, 'ndjson')).toBeUndefined();
    expect(build.message).toBe(message); // the same object, filled again
    expect(message.key).toBe('a');
  });

  it('sends a CSV row as JSON, not as the row was written', () => {
    const { build } = builder();
    build.build(record(0, { id: '1', name: 'x' }, '1,x'), 0, 'csv');
    expect(build.message.value).toBe('{"id":"1","name":"x"}');
  });

  it('says what is wrong with a record instead of building it', () => {
    const { build } = builder({ key: 'a[0].id' });
    const bad: SourceItem = {
      kind: 'bad',
      index: 0,
      line: 1,
      reason: 'invalid JSON',
      bytes: Buffer.from('{'),
      start: 0,
      end: 1,
    };
    expect(build.build(bad, 0, 'ndjson')).toBe('invalid JSON');
    expect(build.build(record(1, { a: [] }), 0, 'ndjson')).toBe(
      'no field a[0].id for the key (a list position is a part of its own: a.0.id)',
    );
    expect(builder({ key: 'id' }).build.build(record(0, { id: null }), 0, 'ndjson')).toBe(
      'field id is null, which is no key',
    );
    expect(
      builder({ pace: { kind: 'event-time', field: 't', speed: 1 } }).build.build(record(0, {}), 0, 'ndjson'),
    ).toBe('no field t');
  });

  it('tags each record with its run, pass and index when checkpointing', () => {
    const { build } = builder({ headers: [['origin', 'test']] });
    build.runId = 'run-1';
    build.build(record(4, {}), 2, 'ndjson');
    expect(build.message.headers).toEqual([
      ['origin', 'test'],
      ['pbx-replay', 'run-1:2:4'],
    ]);
  });

  it('gives each record its due time, and moves a looped record’s time field on by the passes before it', () => {
    const { build, schedule } = builder({ pace: { kind: 'event-time', field: 't', speed: 2 } });
    build.build(record(0, { t: 100 }), 0, 'ndjson');
    expect(build.message.dueMs).toBe(0);
    build.build(record(1, { t: 102 }), 0, 'ndjson');
    expect(build.message.dueMs).toBe(1000);
    schedule.endFirstPass(); // a pass spans 2 s, plus a mean gap of 2 s
    build.build(record(0, { t: 100 }), 1, 'ndjson');
    expect([build.message.value, build.message.dueMs]).toEqual(['{"t":104}', 2000]);
  });
});

describe('Pacer', () => {
  it('counts due times from the first record that leaves, not from the start', () => {
    const pacer = new Pacer();
    pacer.leaving(10_000);
    pacer.leaving(10_400); // later records do not move the start
    expect(pacer.waitMs(500, 10_400)).toBe(100);
    expect(pacer.waitMs(2000, 10_000)).toBe(2000);
  });

  it('lets records due within the batch window leave at once', () => {
    const pacer = new Pacer();
    pacer.leaving(0);
    expect(pacer.waitMs(5, 0)).toBe(0);
    expect(pacer.waitMs(6, 0)).toBe(6);
    expect(pacer.waitMs(100, 200)).toBe(0); // late: at once
  });
});
