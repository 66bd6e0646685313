import { describe, expect, it } from 'vitest';
import { firstText } from '../../src/services/cql-check';

// A Rows result body as protocol v4 lays it out: kind, flags, column count, metadata (the keyspace and table
// once, or before each column), row count, then each row's values.
function rows(globalTableSpec: boolean, columns: string[], values: (string | null)[][]): Buffer {
  const parts: Buffer[] = [];
  const int = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    parts.push(b);
  };
  const text = (s: string) => parts.push(Buffer.from([0, Buffer.byteLength(s)]), Buffer.from(s));
  int(2); // Rows
  int(globalTableSpec ? 1 : 0);
  int(columns.length);
  if (globalTableSpec) ['system', 'local'].forEach(text);
  for (const column of columns) {
    if (!globalTableSpec) ['system', 'local'].forEach(text);
    text(column);
    parts.push(Buffer.from([0, 0x0d])); // varchar
  }
  int(values.length);
  for (const row of values)
    for (const value of row) {
      if (value === null) int(-1);
      else {
        int(Buffer.byteLength(value));
        parts.push(Buffer.from(value));
      }
    }
  return Buffer.concat(parts);
}

describe('firstText', () => {
  it('reads the first column of the first row, with the table named once or before each column', () => {
    const columns = ['release_version', 'cluster_name'];
    expect(firstText(rows(true, columns, [['5.0.4', 'pbx']]))).toBe('5.0.4');
    expect(firstText(rows(false, columns, [['5.0.4', 'pbx']]))).toBe('5.0.4');
  });

  it('has nothing for no rows, a null value or a result that is not rows', () => {
    expect(firstText(rows(true, ['release_version'], []))).toBeUndefined();
    expect(firstText(rows(true, ['release_version'], [[null]]))).toBeUndefined();
    expect(firstText(Buffer.from([0, 0, 0, 1]))).toBeUndefined(); // Void
  });
});
