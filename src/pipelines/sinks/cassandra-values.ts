// The pure half of the Cassandra sink: which value fields go to which columns, and each field converted to what the
// driver encodes for its column's type. No driver here: the sink describes the table with names (cassandra.ts).
import { preview, ValueProblem } from './errors';

/** A column's CQL type by name: 'int', 'timestamp', or 'list' / 'set' / 'map' with their element types. */
export interface ColumnType {
  name: string;
  args?: ColumnType[];
}

export interface TableShape {
  keyspace: string;
  table: string;
  columns: Array<{ name: string; type: ColumnType }>;
  /** Partition key columns, then clustering columns. */
  primaryKey: string[];
}

/** One value as an INSERT: its columns (sorted, so equal sets prepare one statement) and their values. */
export interface Row {
  columns: string[];
  values: unknown[];
  /** Value fields with no column of their name. */
  ignored: string[];
}

const TEXT = new Set(['ascii', 'text', 'varchar']);
const INT_RANGES: Record<string, [number, number]> = {
  tinyint: [-128, 127],
  smallint: [-32768, 32767],
  int: [-2147483648, 2147483647],
};
const SCALARS = new Set([
  ...TEXT,
  ...Object.keys(INT_RANGES),
  'bigint',
  'float',
  'double',
  'boolean',
  'timestamp',
  'date',
  'uuid',
  'timeuuid',
]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INTEGER = /^-?\d+$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The CQL of a type, as the user wrote it ('map<text, int>'). */
export function typeName(type: ColumnType): string {
  return type.args?.length ? `${type.name}<${type.args.map(typeName).join(', ')}>` : type.name;
}

/** Whether pbx can write a column of this type (counters never: see refuseCounters). */
export function isWritable(type: ColumnType): boolean {
  const args = type.args ?? [];
  if (type.name === 'list' || type.name === 'set') return args.length === 1 && args.every(isWritable);
  // A plain object's keys reach the driver as strings: a boolean key would encode as true whatever it says.
  if (type.name === 'map') return args.length === 2 && args[0]?.name !== 'boolean' && args.every(isWritable);
  return SCALARS.has(type.name);
}

/** A value as one INSERT into the table; throws ValueProblem when a key column is missing or a field cannot convert. */
export function rowOf(value: unknown, table: TableShape): Row {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValueProblem(`the value is not an object with a field per column: ${preview(value)}`);
  }
  const fields = value as Record<string, unknown>;
  const byName = new Map(table.columns.map((c) => [c.name, c]));
  const present = new Map<string, unknown>();
  const ignored: string[] = [];
  for (const [field, fieldValue] of Object.entries(fields)) {
    // Unquoted CQL names are lower case: a field productId fills the column productid.
    const column = byName.get(field) ?? byName.get(field.toLowerCase());
    if (!column) ignored.push(field);
    else if (fieldValue !== undefined) {
      if (!isWritable(column.type)) {
        throw new ValueProblem(`column ${column.name} is of a type pbx cannot write (${typeName(column.type)})`);
      }
      present.set(column.name, convert(fieldValue, column.type, column.name));
    }
  }
  const missing = table.primaryKey.filter((name) => present.get(name) === undefined || present.get(name) === null);
  if (missing.length > 0) {
    throw new ValueProblem(
      `the value has no ${missing.join(', ')} (primary key of ${table.keyspace}.${table.table}): ${preview(value)}`,
    );
  }
  const columns = [...present.keys()].sort();
  return { columns, values: columns.map((c) => present.get(c)), ignored };
}

/** One field converted for its column's type; null stays null (the column is emptied: the value is absolute). */
export function convert(value: unknown, type: ColumnType, column: string): unknown {
  if (value === null) return null;
  const fail = (expected: string): never => {
    throw new ValueProblem(`column ${column} (${typeName(type)}) takes ${expected}, not ${preview(value)}`);
  };
  const name = type.name;
  if (TEXT.has(name)) return typeof value === 'string' ? value : fail('a string');
  const range = INT_RANGES[name];
  if (range) {
    return Number.isInteger(value) && (value as number) >= range[0] && (value as number) <= range[1]
      ? value
      : fail(`an integer from ${range[0]} to ${range[1]}`);
  }
  switch (name) {
    case 'bigint':
      // The driver takes a safe integer or a decimal string (64-bit values beyond 2^53 arrive as strings).
      if (Number.isSafeInteger(value)) return value;
      if (typeof value === 'string' && INTEGER.test(value) && inLongRange(value)) return value;
      if (typeof value === 'bigint' && inLongRange(String(value))) return String(value);
      return fail('an integer (a number up to 2^53, or a decimal string)');
    case 'float':
    case 'double':
      return typeof value === 'number' && Number.isFinite(value) ? value : fail('a finite number');
    case 'boolean':
      return typeof value === 'boolean' ? value : fail('true or false');
    case 'timestamp':
      return toDate(value) ?? fail('ms since 1970 or an ISO 8601 string');
    case 'date':
      if (typeof value === 'string' && ISO_DATE.test(value) && !Number.isNaN(Date.parse(value))) return value;
      return toDate(value) ?? fail("'YYYY-MM-DD', ms since 1970 or an ISO 8601 string");
    case 'uuid':
    case 'timeuuid':
      return typeof value === 'string' && UUID.test(value) ? value.toLowerCase() : fail('a UUID string');
    case 'list':
    case 'set':
      return convertList(value, type, column, fail);
    case 'map':
      return convertMap(value, type, column, fail);
    default:
      return fail(
        'a value pbx cannot write (it writes text, numbers, booleans, timestamps, dates, UUIDs, collections)',
      );
  }
}

function convertList(value: unknown, type: ColumnType, column: string, fail: (e: string) => never): unknown[] {
  const items = fromJsonText(value);
  if (!Array.isArray(items)) return fail('a JSON array');
  const element = type.args?.[0] ?? { name: 'unknown' };
  return items.map((item, i) => {
    if (item === null) fail('an array without nulls');
    return convert(item, element, `${column}[${i}]`);
  });
}

function convertMap(value: unknown, type: ColumnType, column: string, fail: (e: string) => never): object {
  const entries = fromJsonText(value);
  if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) return fail('a JSON object');
  const [keyType = { name: 'unknown' }, valueType = { name: 'unknown' }] = type.args ?? [];
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(entries)) {
    if (item === null) fail('an object without null values');
    out[mapKey(key, keyType, column)] = convert(item, valueType, `${column}[${key}]`);
  }
  return out;
}

/**
 * A JSON object's key (always a string) checked against the map's key type, as the string the driver encodes for it
 * (it reads the keys of a plain object as strings: numbers through +key, timestamps and dates from ISO text).
 */
function mapKey(key: string, type: ColumnType, column: string): string {
  const where = `${column} key`;
  const numeric = INT_RANGES[type.name] !== undefined || type.name === 'float' || type.name === 'double';
  if (numeric) return String(convert(key.trim() === '' ? key : Number(key), type, where));
  if (type.name === 'timestamp' || type.name === 'date') {
    const converted = convert(INTEGER.test(key) ? Number(key) : key, type, where);
    const iso = converted instanceof Date ? converted.toISOString() : String(converted);
    return type.name === 'date' ? iso.slice(0, 10) : iso;
  }
  return String(convert(key, type, where));
}

/** A collection may come as JSON text (a value read as text, or a field holding JSON). */
function fromJsonText(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

function toDate(value: unknown): Date | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value);
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value)) {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return new Date(ms);
  }
  return undefined;
}

function inLongRange(text: string): boolean {
  const n = BigInt(text);
  return n >= -(2n ** 63n) && n < 2n ** 63n;
}

/** CQL's quoting of an identifier: exact case, any character. */
export function quoteName(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The upsert of one set of columns (INSERT never reads: a second write of the same value changes nothing). */
export function insertCql(table: Pick<TableShape, 'keyspace' | 'table'>, columns: string[]): string {
  return `INSERT INTO ${quoteName(table.keyspace)}.${quoteName(table.table)} (${columns.map(quoteName).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
}
