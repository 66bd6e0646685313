// What travels between a flow's stages: a source's entries, in order, each with its exact bytes. A replay is
// the simplest flow (a file source paced into a Kafka sink); a pipeline puts operators between the two.
import type { ByteRange } from '../clients/record-batch';

/**
 * One entry of a source, in order. `index` counts every entry, bad ones included, so resuming is exact.
 * Its exact bytes are `bytes[start, end)`: for NDJSON and plain lines, the line in the chunk read from the file
 * (no copy, and no view made: a million views cost a tenth of a second), valid until the next batch of entries
 * is asked for; for CSV and JSON arrays, the entry's text. `value` is the parsed record; undefined when the
 * source was opened with `checkOnly`.
 */
export type SourceItem = ByteRange &
  (
    | { kind: 'record'; index: number; line: number; value: unknown }
    | { kind: 'bad'; index: number; line: number; reason: string }
  );

export const FORMATS = ['ndjson', 'json', 'csv', 'lines'] as const;
export type Format = (typeof FORMATS)[number];

/** An open dataset: its entries a chunk at a time, and what progress needs to know of it. */
export interface Source {
  /** What to call the source in messages ("reviews.json", "stdin", "`vmstat 1`"). */
  name: string;
  format: Format;
  /** Compressed: progress then goes by the compressed bytes read, the only size known up front. */
  gzipped: boolean;
  /** The entries, a chunk's worth at a time: one await per chunk, not per record. */
  batches: AsyncGenerator<SourceItem[]>;
  /** Compressed size on disk, when known, for progress and ETA. */
  totalBytes?: number;
  /** Stdin, a command or a pipe: it may pause between records for as long as it likes; a file is read at once. */
  live: boolean;
  bytesRead(): number;
  /** Stops reading (and ends an --exec command). */
  close(): void;
}

/** An entry's bytes as text. */
export function textOf(item: ByteRange): string {
  return item.bytes.toString('utf8', item.start, item.end);
}

/** A value at a dotted path ("user.id"), or undefined. */
export function getPath(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** What to say when `a[0].b` finds no field: a path gives a list position as a part of its own (`a.0.b`). */
export function bracketHint(path: string): string {
  return /\[\d+\]/.test(path) ? ` (a list position is a part of its own: ${path.replace(/\[(\d+)\]/g, '.$1')})` : '';
}
