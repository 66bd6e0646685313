import type { StreamRecord } from '../api';

/** One value for a sink, with the record it came from. */
export interface SinkWrite {
  value: unknown;
  key: string | null;
  /**
   * The record being processed when the value was emitted (for a window, the one whose watermark closed it). A Redis
   * stream skips values at or before a position its source partition already wrote, so within a partition these must
   * come in offset order, and a record's values in the same order on a replay.
   */
  record: StreamRecord;
}

/** A Cassandra table, a Redis key space or stdout, which the runtime writes a partition's batch to before it commits. */
export interface SinkWriter {
  /** What it writes to, for the live view and errors: 'cassandra reviews.per_hour', 'redis json', 'stdout'. */
  readonly name: string;
  /**
   * Resolves when every write is acknowledged. Rejects with SinkDownError (nothing is known to be written: retry the
   * whole batch, it is idempotent) or SinkRecordError (the values it names cannot be written; every other one was).
   */
  write(batch: SinkWrite[]): Promise<void>;
  /** Notes for the user that came up since the last call, each once per run (e.g. value fields with no column). */
  takeWarnings(): string[];
  close(): Promise<void>;
}
