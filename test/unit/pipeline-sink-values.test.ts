import { describe, expect, it } from 'vitest';
import type { SinkSpec, StreamRecord } from '../../src/pipelines/api';
import { convert, insertCql, isWritable, rowOf, type TableShape } from '../../src/pipelines/sinks/cassandra-values';
import { SinkDownError, SinkRecordError, ValueProblem } from '../../src/pipelines/sinks/errors';
import { commandsFor, positionsKey, STREAM_ADD_LUA, streamPosition } from '../../src/pipelines/sinks/redis-commands';

const t = (name: string, ...args: Array<{ name: string }>) => (args.length ? { name, args } : { name });
const table: TableShape = {
  keyspace: 'reviews',
  table: 'per_hour',
  columns: [
    { name: 'key', type: t('text') },
    { name: 'window_start', type: t('timestamp') },
    { name: 'count', type: t('bigint') },
    { name: 'productid', type: t('int') },
    { name: 'blob', type: t('blob') },
  ],
  primaryKey: ['key', 'window_start'],
};
const problem = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ValueProblem) return error.message;
    throw error;
  }
  throw new Error('no ValueProblem');
};

describe('Cassandra: value fields to columns', () => {
  it('maps fields to columns of the same name (unquoted names in lower case), sorted, and lists the others', () => {
    const row = rowOf(
      { window_start: 3_600_000, key: 'm1', count: 4, productId: 7, extra: 1, nothing: undefined },
      table,
    );
    expect(row).toEqual({
      columns: ['count', 'key', 'productid', 'window_start'],
      values: [4, 'm1', 7, new Date(3_600_000)],
      ignored: ['extra', 'nothing'],
    });
    expect(insertCql(table, row.columns)).toBe(
      'INSERT INTO "reviews"."per_hour" ("count", "key", "productid", "window_start") VALUES (?, ?, ?, ?)',
    );
  });

  it('keeps null (the column emptied: values are absolute) and leaves out undefined', () => {
    expect(rowOf({ key: 'a', window_start: 0, count: null }, table).columns).toEqual(['count', 'key', 'window_start']);
    expect(rowOf({ key: 'a', window_start: 0, count: undefined }, table).columns).toEqual(['key', 'window_start']);
  });

  it('refuses a value without every primary key column, or that is no object', () => {
    expect(problem(() => rowOf({ key: 'a', count: 1 }, table))).toBe(
      'the value has no window_start (primary key of reviews.per_hour): {"key":"a","count":1}',
    );
    expect(problem(() => rowOf({ key: null, window_start: null }, table))).toMatch(
      /^the value has no key, window_start/,
    );
    expect(problem(() => rowOf([1, 2], table))).toBe('the value is not an object with a field per column: [1,2]');
    expect(problem(() => rowOf('text', table))).toMatch(/not an object/);
  });

  it('refuses a field whose column is of a type pbx cannot write, only when the field is there', () => {
    expect(problem(() => rowOf({ key: 'a', window_start: 0, blob: 'x' }, table))).toBe(
      'column blob is of a type pbx cannot write (blob)',
    );
    expect(isWritable(t('map', t('boolean'), t('int')))).toBe(false);
    expect(isWritable(t('list', t('udt')))).toBe(false);
    expect(isWritable(t('map', t('text'), t('list', t('int'))))).toBe(true);
  });
});

describe('Cassandra: conversion per column type', () => {
  it('takes timestamps as ms or ISO 8601, dates as YYYY-MM-DD too', () => {
    expect(convert(1_700_000_000_000, t('timestamp'), 'c')).toEqual(new Date(1_700_000_000_000));
    expect(convert('2026-01-02T03:04:05.678Z', t('timestamp'), 'c')).toEqual(new Date('2026-01-02T03:04:05.678Z'));
    expect(problem(() => convert('yesterday', t('timestamp'), 'at'))).toBe(
      'column at (timestamp) takes ms since 1970 or an ISO 8601 string, not "yesterday"',
    );
    expect(problem(() => convert(true, t('timestamp'), 'at'))).toMatch(/takes ms since 1970/);
    expect(convert('2026-01-02', t('date'), 'd')).toBe('2026-01-02');
    expect(convert(0, t('date'), 'd')).toEqual(new Date(0));
    expect(problem(() => convert('2026-13-45', t('date'), 'd'))).toMatch(/takes 'YYYY-MM-DD'/);
  });

  it('takes integers within their type, bigint as a safe number or a decimal string', () => {
    expect(convert(2147483647, t('int'), 'c')).toBe(2147483647);
    expect(problem(() => convert(2147483648, t('int'), 'c'))).toBe(
      'column c (int) takes an integer from -2147483648 to 2147483647, not 2147483648',
    );
    expect(problem(() => convert(1.5, t('smallint'), 'c'))).toMatch(/from -32768 to 32767/);
    expect(problem(() => convert('5', t('tinyint'), 'c'))).toMatch(/from -128 to 127, not "5"/);
    expect(convert(2 ** 53 - 1, t('bigint'), 'c')).toBe(2 ** 53 - 1);
    expect(convert('9223372036854775807', t('bigint'), 'c')).toBe('9223372036854775807');
    expect(convert(12n, t('bigint'), 'c')).toBe('12');
    expect(problem(() => convert('9223372036854775808', t('bigint'), 'c'))).toMatch(/takes an integer/);
    expect(problem(() => convert(2 ** 53, t('bigint'), 'c'))).toMatch(/takes an integer/);
    expect(problem(() => convert(1.5, t('bigint'), 'c'))).toMatch(/takes an integer/);
  });

  it('takes finite numbers, booleans, text and UUIDs as they are', () => {
    expect(convert(0.25, t('double'), 'c')).toBe(0.25);
    expect(problem(() => convert(Number.NaN, t('float'), 'c'))).toMatch(/takes a finite number/);
    expect(problem(() => convert('1', t('double'), 'c'))).toMatch(/takes a finite number/);
    expect(convert(false, t('boolean'), 'c')).toBe(false);
    expect(problem(() => convert('true', t('boolean'), 'c'))).toMatch(/takes true or false/);
    expect(convert('é', t('text'), 'c')).toBe('é');
    expect(problem(() => convert(3, t('varchar'), 'c'))).toBe('column c (varchar) takes a string, not 3');
    expect(convert('0F8FAD5B-D9CB-469F-A165-70867728950E', t('uuid'), 'c')).toBe(
      '0f8fad5b-d9cb-469f-a165-70867728950e',
    );
    expect(problem(() => convert('0f8fad5b', t('timeuuid'), 'c'))).toMatch(/takes a UUID string/);
  });

  it('takes lists, sets and maps from JSON values or JSON text, converting their elements', () => {
    expect(convert([1, 2], t('list', t('int')), 'c')).toEqual([1, 2]);
    expect(convert('["a","b"]', t('set', t('text')), 'c')).toEqual(['a', 'b']);
    expect(convert([0], t('list', t('timestamp')), 'c')).toEqual([new Date(0)]);
    expect(problem(() => convert([1, 'x'], t('list', t('int')), 'c'))).toMatch(
      /^column c\[1\] \(int\) takes an integer/,
    );
    expect(problem(() => convert([1, null], t('list', t('int')), 'c'))).toMatch(/takes an array without nulls/);
    expect(problem(() => convert({ a: 1 }, t('list', t('int')), 'c'))).toMatch(/takes a JSON array/);
    expect(convert({ a: 1, b: 2 }, t('map', t('text'), t('int')), 'c')).toEqual({ a: 1, b: 2 });
    expect(convert('{"1":"x"}', t('map', t('int'), t('text')), 'c')).toEqual({ 1: 'x' });
    expect(convert({ 0: 'x' }, t('map', t('timestamp'), t('text')), 'c')).toEqual({ '1970-01-01T00:00:00.000Z': 'x' });
    expect(problem(() => convert({ x: 1 }, t('map', t('int'), t('int')), 'c'))).toMatch(/^column c key \(int\) takes/);
    expect(problem(() => convert({ a: null }, t('map', t('text'), t('int')), 'c'))).toMatch(/without null values/);
    expect(problem(() => convert([], t('map', t('text'), t('int')), 'c'))).toMatch(/takes a JSON object/);
  });
});

describe('Redis: the commands of a value', () => {
  type RedisSpec = Extract<SinkSpec, { kind: 'redis' }>;
  const record: StreamRecord = {
    topic: 'src',
    partition: 2,
    offset: '42',
    key: null,
    headers: {},
    timestamp: 0,
    time: 0,
  };
  const spec = (type: RedisSpec['type'], more: Partial<RedisSpec> = {}): RedisSpec => ({
    kind: 'redis',
    type,
    key: (v) => `k:${(v as { id: string }).id}`,
    ...more,
  });
  const commands = (s: RedisSpec, value: unknown, nth = 0) => commandsFor(s, { value, key: null, record }, nth);
  const value = { id: 'a', n: 1, ok: true, nested: { x: [1] }, none: null };

  it('sets json and string values, and replaces a hash whole', () => {
    expect(commands(spec('json'), value)).toEqual([['SET', 'k:a', JSON.stringify(value)]]);
    expect(commands(spec('string', { key: () => 's' }), 12)).toEqual([['SET', 's', '12']]);
    expect(problem(() => commands(spec('string'), value))).toMatch(/^a string sink takes text/);
    expect(commands(spec('hash'), value)).toEqual([
      ['DEL', 'k:a'],
      ['HSET', 'k:a', 'id', 'a', 'n', '1', 'ok', 'true', 'nested', '{"x":[1]}'],
    ]);
    expect(commands(spec('hash', { key: () => 'h' }), {})).toEqual([['DEL', 'h']]);
    expect(problem(() => commands(spec('hash', { key: () => 'h' }), [1]))).toMatch(/^a hash sink takes objects/);
  });

  it('adds set and zset members: the value as JSON by default, an absolute score', () => {
    expect(commands(spec('set'), { id: 'a' })).toEqual([['SADD', 'k:a', '{"id":"a"}']]);
    const zset = spec('zset', { member: (v) => (v as { id: string }).id, score: (v) => (v as { n: number }).n });
    expect(commands(zset, { id: 'b', n: 2.5 })).toEqual([['ZADD', 'k:b', '2.5', 'b']]);
    expect(commands(zset, { id: 'b', n: -Infinity })).toEqual([['ZADD', 'k:b', '-inf', 'b']]);
    expect(problem(() => commands(zset, { id: 'b', n: 'x' }))).toBe('score() returned "x", not a number');
    expect(problem(() => commands(spec('zset'), { id: 'b' }))).toBe('a zset sink needs score(value)');
  });

  it('appends a stream entry through the script that skips positions its source partition already wrote', () => {
    expect(commands(spec('stream'), { id: 'a', n: 1 }, 3)).toEqual([
      [
        'EVAL',
        STREAM_ADD_LUA,
        2,
        'k:a',
        'k:a:pbx-positions',
        'src/2',
        '0000000000000000042-0000000003',
        'id',
        'a',
        'n',
        '1',
      ],
    ]);
    expect(positionsKey('s')).toBe('s:pbx-positions');
    expect(
      commands(spec('stream', { key: () => 's' }), [1])
        .at(0)
        ?.slice(-2),
    ).toEqual(['value', '[1]']);
    // Fixed width: a later offset is a greater string, as the script compares them.
    const at = (offset: string, nth = 0) => streamPosition({ ...record, offset }, nth).position;
    expect(at('9') < at('10')).toBe(true);
    expect(at('10', 1) < at('11', 0)).toBe(true);
    expect(at('9223372036854775807') > at('999999999999999999')).toBe(true);
  });

  it('makes a key, member or score function that throws, or a key that is no string, the value’s problem', () => {
    const throwing = spec('json', {
      key: () => {
        throw new Error('nope');
      },
    });
    expect(problem(() => commands(throwing, value))).toBe('key() threw: nope');
    expect(problem(() => commands(spec('json', { key: () => 5 as unknown as string }), value))).toBe(
      'key() returned 5, not a string',
    );
    expect(problem(() => commands(spec('set', { member: () => undefined as unknown as string }), value))).toBe(
      'member() returned undefined, not a string',
    );
    expect(problem(() => commands(spec('json', { key: () => 'u' }), undefined))).toBe(
      'the value has no JSON form: undefined',
    );
  });
});

describe('sink errors', () => {
  const write = (n: number) => ({ value: n, key: null, record: {} as StreamRecord });

  it('a SinkRecordError names its first failure and how many more, and carries them all', () => {
    const failures = [1, 2, 3].map((n) => ({ write: write(n), reason: `bad ${n}` }));
    const error = new SinkRecordError('redis json', failures);
    expect(error.message).toBe('redis json: bad 1 (and 2 more)');
    expect([error.write, error.reason, error.failures, error.retriable]).toEqual([
      failures[0]!.write,
      'bad 1',
      failures,
      false,
    ]);
    expect(new SinkRecordError('s', failures.slice(0, 1)).message).toBe('s: bad 1');
  });

  it('a SinkDownError is retriable and keeps its cause', () => {
    const cause = new Error('ECONNREFUSED');
    const error = new SinkDownError('cassandra a.b', 'cannot connect', { cause });
    expect([error.message, error.retriable, error.cause]).toEqual(['cassandra a.b: cannot connect', true, cause]);
  });
});
