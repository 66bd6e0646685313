import { UsageError } from '../cli/errors';
import { bracketHint, getPath } from '../flow/records';

/** How fast records leave: as fast as possible, a fixed rate, or the records' own timestamps. */
export type Pace =
  { kind: 'max' } | { kind: 'rate'; perSecond: number } | { kind: 'event-time'; field: string; speed: number };

/** Parses `--rate` / `--time-field` / `--speed` into a Pace (usage errors for nonsense). */
export function parsePace(options: { rate?: string; timeField?: string; speed?: string }): Pace {
  if (options.timeField !== undefined) {
    if (options.timeField.trim() === '') throw new UsageError('--time-field needs a field (a dotted path), got "".');
    if (options.rate !== undefined) {
      throw new UsageError('--rate and --time-field exclude each other: pace by a fixed rate or by the timestamps.');
    }
    const speed = Number(options.speed ?? 1);
    if (!(speed > 0) || !Number.isFinite(speed))
      throw new UsageError(`--speed must be a positive number, got "${options.speed}".`);
    return { kind: 'event-time', field: options.timeField, speed };
  }
  if (options.speed !== undefined)
    throw new UsageError('--speed needs --time-field (the field that holds each record’s time).');
  if (options.rate === undefined || options.rate === 'max') return { kind: 'max' };
  const perSecond = Number(options.rate);
  if (!(perSecond > 0) || !Number.isFinite(perSecond)) {
    throw new UsageError(`--rate must be a positive number of records per second or "max", got "${options.rate}".`);
  }
  return { kind: 'rate', perSecond };
}

/**
 * Timestamps in milliseconds. Numbers (or numeric strings) below 10^11 are Unix seconds, larger ones
 * milliseconds: 10^11 s is the year 5138, 10^11 ms is March 1973, so real data is never ambiguous.
 * Other strings are parsed as ISO-8601 dates. Undefined when the value is not a time.
 */
export function toMillis(value: unknown): number | undefined {
  const number =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)
        ? Number(value)
        : NaN;
  if (Number.isFinite(number)) return Math.abs(number) < 1e11 ? number * 1000 : number;
  if (typeof value === 'string') {
    const parsed = Date.parse(value);
    if (Number.isFinite(parsed)) return parsed;
  }
  return undefined;
}

/**
 * When each record is due, in ms after the first record left (pure: no clock inside).
 *
 * - rate N: record k (counting only records sent) is due at k·1000/N — absolute deadlines, so waiting
 *   late for one record never delays the ones after it (no drift).
 * - event time: a record with time t is due at (t − t₀)/speed, t₀ being the first record's time.
 *   Records sharing a timestamp are due together and leave back to back, in file order. A record whose
 *   time goes backwards is due at once (its due time has passed) and is counted as out of order.
 * - loop: pass p continues the timeline: timestamps move forward by p·(span + mean gap), where span is
 *   last − first time of a pass, so the replayed stream never jumps back.
 */
const AT_ONCE = Object.freeze({ dueMs: 0 }); // one object for every record at full speed

export class Schedule {
  private sent = 0;
  private firstTime: number | undefined;
  private lastTime: number | undefined; // of the first pass
  private timedInFirstPass = 0;
  private lastDue = 0;
  private passSpan = 0;
  outOfOrder = 0;

  constructor(private readonly pace: Pace) {}

  /** The due time of the next record (ms after the first), or an error text when its time is unusable. */
  next(value: unknown, pass: number): { dueMs: number; eventMs?: number } | { error: string } {
    switch (this.pace.kind) {
      case 'max':
        return AT_ONCE;
      case 'rate':
        return { dueMs: (this.sent++ * 1000) / this.pace.perSecond };
      case 'event-time': {
        const raw = getPath(value, this.pace.field);
        const time = toMillis(raw);
        if (time === undefined) {
          return {
            error:
              raw === undefined
                ? `no field ${this.pace.field}${bracketHint(this.pace.field)}`
                : `${this.pace.field} is not a time: ${JSON.stringify(raw)} (Unix seconds or milliseconds, or an ISO-8601 date such as 2013-05-01T12:00:00Z)`,
          };
        }
        const eventMs = time + pass * this.passSpan;
        this.firstTime ??= eventMs;
        if (pass === 0) {
          this.lastTime = eventMs;
          this.timedInFirstPass++;
        }
        const dueMs = (eventMs - this.firstTime) / this.pace.speed;
        if (dueMs < this.lastDue) this.outOfOrder++;
        this.lastDue = Math.max(this.lastDue, dueMs);
        return { dueMs, eventMs };
      }
    }
  }

  /** Called at the end of the first pass: the following passes shift by its span plus one mean gap. */
  endFirstPass(): void {
    if (this.firstTime === undefined || this.lastTime === undefined) return;
    const span = this.lastTime - this.firstTime;
    const meanGap = this.timedInFirstPass > 1 ? span / (this.timedInFirstPass - 1) : 1000;
    this.passSpan = span + (meanGap > 0 ? meanGap : 1000);
  }

  get shiftPerPass(): number {
    return this.passSpan;
  }
}

/** Rewrites the time field of a looped record so consumers see the shifted timeline, in the field's own unit. */
export function shiftTime(value: unknown, field: string, shiftMs: number): unknown {
  if (shiftMs === 0 || value === null || typeof value !== 'object') return value;
  const parts = field.split('.');
  const copy = structuredClone(value) as Record<string, unknown>;
  let target = copy;
  for (const part of parts.slice(0, -1)) target = target[part] as Record<string, unknown>;
  const key = parts.at(-1)!;
  const original = target[key];
  const millis = toMillis(original)!;
  const numeric =
    typeof original === 'number' || (typeof original === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(original));
  const seconds = numeric && Math.abs(Number(original)) < 1e11;
  const shifted = numeric
    ? seconds
      ? (millis + shiftMs) / 1000
      : millis + shiftMs
    : new Date(millis + shiftMs).toISOString();
  target[key] = typeof original === 'string' && numeric ? String(shifted) : shifted;
  return copy;
}

// Records due within this window leave together: single records still leave on time at low rates, while high
// rates fill batches.
export const BATCH_WINDOW_MS = 5;

/** Turns due times (after the first record) into waits on the clock. */
export class Pacer {
  private startMs = 0;
  private started = false;

  /**
   * Called for each record as it is about to leave: the first one's `now` is the start. Due times count from the
   * first record, not from the start of the replay: connecting and opening the file must not make the first
   * records late and then leave in a burst.
   */
  leaving(now: number): void {
    if (this.started) return;
    this.started = true;
    this.startMs = now;
  }

  /** How long to wait before a record due at `dueMs` leaves: 0 when it is due within the batch window. */
  waitMs(dueMs: number, now: number): number {
    const wait = this.startMs + dueMs - now;
    return wait > BATCH_WINDOW_MS ? wait : 0;
  }
}
