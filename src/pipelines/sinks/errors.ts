import type { SinkWrite } from './types';

/** The sink cannot be reached or did not answer in time: retriable; nothing past it may be committed. */
export class SinkDownError extends Error {
  readonly retriable = true;
  constructor(
    readonly sink: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(`${sink}: ${message}`, options);
    this.name = 'SinkDownError';
  }
}

/** One value a sink cannot write, and why (the runtime applies --on-error to it). */
export interface RecordFailure {
  write: SinkWrite;
  reason: string;
}

/** Values of a batch the sink cannot write (missing key field, wrong type); every other value of the batch was written. */
export class SinkRecordError extends Error {
  readonly retriable = false;
  /** The first failing write; `failures` holds them all, in batch order. */
  readonly write: SinkWrite;
  readonly reason: string;
  constructor(
    readonly sink: string,
    readonly failures: RecordFailure[],
  ) {
    const [first] = failures;
    if (!first) throw new Error('SinkRecordError needs at least one failure');
    const more = failures.length > 1 ? ` (and ${failures.length - 1} more)` : '';
    super(`${sink}: ${first.reason}${more}`);
    this.name = 'SinkRecordError';
    this.write = first.write;
    this.reason = first.reason;
  }
}

/** Why one value cannot be written: thrown by the pure parts, gathered into a SinkRecordError by the sink. */
export class ValueProblem extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValueProblem';
  }
}

/** A value as the user reads it in an error, cut short. */
export function preview(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'bigint' ? `${value}n` : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}
