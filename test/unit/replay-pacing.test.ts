import { describe, expect, it } from 'vitest';
import { parsePace, Schedule, shiftTime, toMillis } from '../../src/replay/pacing';

describe('parsePace', () => {
  it('reads max, fractional rates and event time', () => {
    expect(parsePace({})).toEqual({ kind: 'max' });
    expect(parsePace({ rate: 'max' })).toEqual({ kind: 'max' });
    expect(parsePace({ rate: '0.5' })).toEqual({ kind: 'rate', perSecond: 0.5 });
    expect(parsePace({ timeField: 'time', speed: '86400' })).toEqual({
      kind: 'event-time',
      field: 'time',
      speed: 86400,
    });
    expect(parsePace({ timeField: 'time' })).toEqual({ kind: 'event-time', field: 'time', speed: 1 });
  });

  it.each([
    [{ rate: '0' }, '--rate must be a positive number'],
    [{ rate: '-3' }, '--rate must be a positive number'],
    [{ rate: 'fast' }, '--rate must be a positive number'],
    [{ rate: '2', timeField: 'time' }, 'exclude each other'],
    [{ rate: 'max', timeField: 'time' }, 'exclude each other'],
    [{ speed: '2' }, '--speed needs --time-field'],
    [{ timeField: 'time', speed: '0' }, '--speed must be a positive number, got "0"'],
    [{ timeField: 'time', speed: 'fast' }, '--speed must be a positive number, got "fast"'], // was "got NaN"
    [{ timeField: '', speed: '2' }, '--time-field needs a field'], // was taken for no --time-field: full speed
  ])('rejects %j as a usage error', (options, message) => {
    expect(() => parsePace(options)).toThrow(message);
    try {
      parsePace(options);
    } catch (error) {
      expect((error as { exitCode: number }).exitCode).toBe(2);
    }
  });
});

describe('Schedule', () => {
  it('puts record k of a fixed rate at k/N seconds: absolute deadlines, no drift', () => {
    const schedule = new Schedule({ kind: 'rate', perSecond: 2 });
    const due = Array.from({ length: 5 }, () => schedule.next({}, 0));
    expect(due).toEqual([{ dueMs: 0 }, { dueMs: 500 }, { dueMs: 1000 }, { dueMs: 1500 }, { dueMs: 2000 }]);
    const slow = new Schedule({ kind: 'rate', perSecond: 0.5 });
    slow.next({}, 0);
    expect(slow.next({}, 0)).toEqual({ dueMs: 2000 });
    // The 100,000th record at 3/s is due exactly where it should be: no accumulated rounding.
    const many = new Schedule({ kind: 'rate', perSecond: 3 });
    let last = { dueMs: 0 };
    for (let i = 0; i < 100_001; i++) last = many.next({}, 0) as { dueMs: number };
    expect(last.dueMs).toBeCloseTo(100_000_000 / 3, 6);
  });

  it('replays the gaps between timestamps divided by the speed', () => {
    const schedule = new Schedule({ kind: 'event-time', field: 't', speed: 10 });
    const times = [1000, 1001, 1001, 1004, 1010]; // Unix seconds
    expect(times.map((t) => schedule.next({ t }, 0))).toEqual([
      { dueMs: 0, eventMs: 1_000_000 },
      { dueMs: 100, eventMs: 1_001_000 },
      { dueMs: 100, eventMs: 1_001_000 }, // a shared timestamp leaves right after the one before
      { dueMs: 400, eventMs: 1_004_000 },
      { dueMs: 1000, eventMs: 1_010_000 },
    ]);
    expect(schedule.outOfOrder).toBe(0);
  });

  it('sends a record whose time goes backwards at once and counts it', () => {
    const schedule = new Schedule({ kind: 'event-time', field: 'at', speed: 1 });
    schedule.next({ at: '2024-01-01T00:00:10Z' }, 0);
    expect(schedule.next({ at: '2024-01-01T00:00:05Z' }, 0)).toEqual({
      dueMs: -5000,
      eventMs: Date.parse('2024-01-01T00:00:05Z'),
    });
    expect(schedule.outOfOrder).toBe(1);
  });

  it('names a missing or unreadable time field', () => {
    const schedule = new Schedule({ kind: 'event-time', field: 'meta.time', speed: 1 });
    expect(schedule.next({ meta: {} }, 0)).toEqual({ error: 'no field meta.time' });
    expect(schedule.next({ meta: { time: 'soon' } }, 0)).toEqual({
      error:
        'meta.time is not a time: "soon" (Unix seconds or milliseconds, or an ISO-8601 date such as 2013-05-01T12:00:00Z)',
    });
  });

  it('continues the timeline on each loop pass by the span plus one mean gap', () => {
    const schedule = new Schedule({ kind: 'event-time', field: 't', speed: 1 });
    for (const t of [100, 102, 104]) schedule.next({ t }, 0);
    schedule.endFirstPass();
    expect(schedule.shiftPerPass).toBe(6000); // span 4 s + mean gap 2 s
    expect(schedule.next({ t: 100 }, 1)).toEqual({ dueMs: 6000, eventMs: 106_000 });
    expect(schedule.next({ t: 104 }, 2)).toEqual({ dueMs: 16_000, eventMs: 116_000 });
  });
});

describe('toMillis and shiftTime', () => {
  it('tells seconds from milliseconds and parses ISO dates', () => {
    expect(toMillis(1_700_000_000)).toBe(1_700_000_000_000);
    expect(toMillis(1_700_000_000_123)).toBe(1_700_000_000_123);
    expect(toMillis('1700000000')).toBe(1_700_000_000_000);
    expect(toMillis('2024-01-01T00:00:00Z')).toBe(Date.UTC(2024, 0, 1));
    expect(toMillis('yesterday')).toBeUndefined();
    expect(toMillis(null)).toBeUndefined();
  });

  it('shifts a time field in its own unit and leaves the original untouched', () => {
    const original = { t: 100, nested: { at: '2024-01-01T00:00:00.000Z' }, s: '1700000000' };
    expect(shiftTime(original, 't', 5000)).toEqual({ ...original, t: 105 });
    expect(shiftTime(original, 'nested.at', 60_000)).toEqual({
      ...original,
      nested: { at: '2024-01-01T00:01:00.000Z' },
    });
    expect(shiftTime(original, 's', 1000)).toEqual({ ...original, s: '1700000001' });
    expect(original.t).toBe(100);
  });
});
