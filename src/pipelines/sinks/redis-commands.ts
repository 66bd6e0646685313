// The pure half of the Redis sink: the commands that write one value, by the sink's type. Every one sets an absolute
// value or adds a member, so a batch written twice leaves Redis as written once (see ../README.md).
import type { SinkSpec, StreamRecord } from '../api';
import { preview, ValueProblem } from './errors';
import type { SinkWrite } from './types';

type RedisSinkSpec = Extract<SinkSpec, { kind: 'redis' }>;
export type RedisCommand = [name: string, ...args: Array<string | number>];

/** The key that records which source positions a stream already holds: `<stream>:pbx-positions`. */
export const positionsKey = (stream: string) => `${stream}:pbx-positions`;

/**
 * Appends a stream entry unless this source partition already appended one at or after this position; records the
 * position in the same script, so the entry and its position are written together or not at all. Positions are fixed
 * width, so comparing the strings compares the numbers.
 */
export const STREAM_ADD_LUA = `local last = redis.call('HGET', KEYS[2], ARGV[1])
if last and last >= ARGV[2] then return 0 end
redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1`;

/**
 * Where a value stands in its source: the record's offset and, for the n-th value one record gave (flatMap), n.
 * Zero-padded (offsets are below 2^63: 19 digits) so that later positions compare greater as strings.
 */
export function streamPosition(record: StreamRecord, nth: number): { source: string; position: string } {
  return {
    source: `${record.topic}/${record.partition}`,
    position: `${record.offset.padStart(19, '0')}-${String(nth).padStart(10, '0')}`,
  };
}

/** The commands that write one value (several for a hash: DEL then HSET, in the batch's MULTI); throws ValueProblem. */
export function commandsFor(spec: RedisSinkSpec, write: SinkWrite, nth: number): RedisCommand[] {
  const { value, record } = write;
  const key = call('key', () => spec.key(value, record));
  if (typeof key !== 'string') throw new ValueProblem(`key() returned ${preview(key)}, not a string`);
  switch (spec.type) {
    case 'json': {
      const json = JSON.stringify(value) as string | undefined;
      if (json === undefined) throw new ValueProblem(`the value has no JSON form: ${String(value)}`);
      return [['SET', key, json]];
    }
    case 'string':
      return [['SET', key, scalarText(value, 'a string sink takes text, numbers and booleans (use json or hash)')]];
    case 'hash': {
      const fields = hashFields(value);
      return fields.length === 0
        ? [['DEL', key]]
        : [
            ['DEL', key],
            ['HSET', key, ...fields],
          ];
    }
    case 'set':
      return [['SADD', key, memberOf(spec, write)]];
    case 'zset': {
      if (!spec.score) throw new ValueProblem('a zset sink needs score(value)');
      const score = call('score', () => spec.score!(value, record));
      if (typeof score !== 'number' || Number.isNaN(score)) {
        throw new ValueProblem(`score() returned ${preview(score)}, not a number`);
      }
      return [
        ['ZADD', key, Number.isFinite(score) ? String(score) : score > 0 ? '+inf' : '-inf', memberOf(spec, write)],
      ];
    }
    case 'stream': {
      const { source, position } = streamPosition(record, nth);
      return [['EVAL', STREAM_ADD_LUA, 2, key, positionsKey(key), source, position, ...entryFields(value)]];
    }
  }
}

/** An object's fields as HSET arguments: text as it is, numbers and booleans as text, nested values as JSON. */
export function hashFields(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValueProblem(`a hash sink takes objects (their fields), not ${preview(value)}`);
  }
  const args: string[] = [];
  for (const [field, fieldValue] of Object.entries(value)) {
    // A hash holds no null: an absent field is what null means.
    if (fieldValue === null || fieldValue === undefined) continue;
    args.push(field, fieldText(fieldValue));
  }
  return args;
}

/** A stream entry's fields: an object's as for a hash, anything else as one field `value` holding its JSON. */
function entryFields(value: unknown): string[] {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const fields = hashFields(value);
    if (fields.length > 0) return fields;
  }
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined) throw new ValueProblem(`the value has no JSON form: ${String(value)}`);
  return ['value', json];
}

function memberOf(spec: RedisSinkSpec, write: SinkWrite): string {
  if (!spec.member) {
    const json = JSON.stringify(write.value) as string | undefined;
    if (json === undefined) throw new ValueProblem(`the value has no JSON form: ${String(write.value)}`);
    return json;
  }
  const member = call('member', () => spec.member!(write.value, write.record));
  if (typeof member !== 'string') throw new ValueProblem(`member() returned ${preview(member)}, not a string`);
  return member;
}

function fieldText(value: unknown): string {
  return typeof value === 'object' ? JSON.stringify(value) : scalarText(value, 'cannot be written');
}

function scalarText(value: unknown, refusal: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  throw new ValueProblem(`${refusal}: ${preview(value)}`);
}

/** A user function's result; what it throws is this value's problem, not the sink's. */
function call<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw new ValueProblem(`${what}() threw: ${error instanceof Error ? error.message : String(error)}`);
  }
}
