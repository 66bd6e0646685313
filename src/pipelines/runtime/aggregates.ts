// Keyed aggregates and event-time windows: pure state, no Kafka. Stage B keeps one KeyedAggregates per (aggregate
// step, stateful partition), adds each record, advances it to the partition's watermark after each batch, sends what
// it emits downstream and what `changes()` returns to the changelog, in one transaction.
//
// An aggregate's accumulator must be JSON-serialisable: state is written to the changelog as JSON and a restarted
// worker folds on from what JSON gives back (undefined at the top level survives; Dates, Maps, class instances,
// NaN and undefined inside objects do not).
//
// Results are independent of how fast the input is read when every source partition is in event-time order (or
// out of order by less than the lateness) and the watermark comes from the sources' markers (watermarks.ts). They
// are also independent of how source partitions interleave when the aggregation is commutative (count, sum, a
// reduce like max): values of one key from several source partitions are folded in the order they arrive.

import type { AggregateResult, Aggregation, Step, StreamRecord } from '../api';
import type { KeyedValue } from './repartition';
import { closedBy, ValueLog, type ChangelogEntry } from './value-log';
import { fromJsonNumber, toJsonNumber, type JsonNumber } from './watermarks';

export type AggregateStep = Extract<Step, { kind: 'aggregate' }>;

/** A result: the flat value sinks write, its key, and its event time (a window's last ms; else the last value's). */
export interface Emitted {
  value: AggregateResult<string, unknown>;
  key: string;
  time: number;
}

// Changelog keys: a user key behind a prefix, so the reserved key of the watermark can never be one.
const KEY_PREFIX = 'key:';
const WATERMARK_KEY = 'watermark';

/** One per (aggregate step, stateful input partition): every key's running aggregate or open windows. */
export class KeyedAggregates {
  private readonly due = new EndIndex();
  private readonly kind: WindowKind<unknown>;
  private readonly lateness: number;
  private readonly states = new Map<string, unknown>();
  /** Keys to write to the changelog at the next `changes()`. */
  private readonly changed = new Set<string>();
  /** Without a window: keys to emit at the next `updates()`. */
  private readonly updated: Set<string> | undefined;
  private watermark = -Infinity;
  private watermarkChanged = false;
  /** `logValues`: the values taken, logged a batch at a time instead of each changed key's state. */
  private readonly values?: ValueLog;
  private replaying = false;

  private readonly label: string;

  /** `logValues` (a window's values kept whole: a window shell's) needs a window. */
  constructor(step: AggregateStep, options: { logValues?: boolean } = {}) {
    this.label = step.label;
    this.kind = windowKind(step, this.due);
    this.lateness = step.window ? step.lateness : 0;
    this.updated = step.window ? undefined : new Set();
    if (options.logValues && step.window)
      this.values = new ValueLog(closedBy(step.window, this.lateness), step.window.kind === 'session');
  }

  /** How many keys hold state. */
  get size(): number {
    return this.states.size;
  }

  /** Adds a value of `key` at event time `time`; false when late (every window it falls in has closed). Throws a
   * TypeError on a time that is not a finite number of ms (the source's `time` function's error), changing nothing. */
  add(key: string, time: number, value: unknown, record: StreamRecord): boolean {
    if (!Number.isFinite(time))
      throw new TypeError(`${this.label}: the event time ${String(time)} is not a number of ms.`);
    const before = this.states.get(key);
    const state = this.kind.add(before, key, time, value, record, this.watermark);
    if (state === undefined) return false;
    if (state !== before) this.states.set(key, state);
    if (!this.values) this.changed.add(key);
    else if (!this.replaying) this.values.took(key, time);
    this.updated?.add(key);
    return true;
  }

  /** Windows whose end + lateness <= watermark, ordered by (window_end, key), removed from state. A watermark lower
   * than the last one given changes nothing (after a restart the sources' markers start again from -Infinity). */
  advance(watermark: number): Emitted[] {
    if (watermark > this.watermark) {
      this.watermark = watermark;
      this.watermarkChanged = true;
    }
    const emitted: Emitted[] = [];
    const limit = this.watermark - this.lateness;
    for (let due = this.due.next(limit); due; due = this.due.next(limit)) {
      const [end, keys] = due;
      for (const key of [...keys].sort()) {
        const state = this.states.get(key);
        if (state === undefined) continue;
        const count = emitted.length;
        const left = this.kind.close(state, key, end, this.watermark, emitted);
        if (left === undefined) this.states.delete(key);
        if (left === undefined || emitted.length > count) this.changed.add(key);
      }
    }
    return emitted;
  }

  /** Without a window: every key changed since the last call, with its current value (coalesced); else none. */
  updates(): Emitted[] {
    if (!this.updated) return [];
    const emitted: Emitted[] = [];
    for (const key of this.updated) this.kind.open(key, this.states.get(key), emitted);
    this.updated.clear();
    return emitted;
  }

  /** End of input (--until-end): every open window as it stands, ordered by (window_end, key); without a window,
   * `updates()`. The windows stay in state (and in the changelog): a later run that reads more input emits them
   * again, complete, when the watermark closes them, so sinks that upsert end with the complete value. */
  flush(): Emitted[] {
    if (this.updated) return this.updates();
    const emitted: Emitted[] = [];
    for (const [key, state] of this.states) this.kind.open(key, state, emitted);
    return emitted.sort(byEndThenKey);
  }

  /** Changelog entries since the last call: key → JSON string of the state, null for a deleted entry. */
  changes(): ChangelogEntry[] {
    const entries: ChangelogEntry[] = [];
    if (this.watermarkChanged)
      entries.push({ key: WATERMARK_KEY, value: JSON.stringify(toJsonNumber(this.watermark)) });
    this.watermarkChanged = false;
    if (this.values) {
      this.changed.clear();
      return [...this.values.entries(this.watermark, (key) => this.states.has(key)), ...entries];
    }
    for (const key of this.changed) {
      const state = this.states.get(key);
      entries.push({
        key: KEY_PREFIX + key,
        value: state === undefined ? null : JSON.stringify(this.kind.encode(state)),
      });
    }
    this.changed.clear();
    return entries;
  }

  /** Rebuilds from changelog entries (in order; later entries win; null deletes). With logged values: the values
   * are taken again at the watermark they were taken at, and each watermark closes what it closed (unemitted). */
  restore(key: string, value: string | null): void {
    if (key === WATERMARK_KEY) {
      const watermark = value === null ? -Infinity : fromJsonNumber(JSON.parse(value) as JsonNumber);
      if (this.values) this.advance(watermark);
      else this.watermark = watermark;
      return;
    }
    if (this.values?.restore(key, value, (keyed) => this.replay(keyed))) return;
    if (!key.startsWith(KEY_PREFIX)) throw new Error(`changelog key ${JSON.stringify(key)} is not one of an aggregate`);
    const userKey = key.slice(KEY_PREFIX.length);
    const before = this.states.get(userKey);
    if (before !== undefined) for (const end of this.kind.ends(before)) this.due.unschedule(end, userKey);
    if (value === null) {
      this.states.delete(userKey);
      return;
    }
    const state = this.kind.decode(JSON.parse(value));
    this.states.set(userKey, state);
    for (const end of this.kind.ends(state)) this.due.schedule(end, userKey);
  }

  /** With logged values: the repartition chunk the values added since the last call came from, with the indexes of
   * those not added (late, or stopped by --on-error), for the next `changes()`. */
  logChunk(text: string, skipped: number[]): void {
    this.values?.chunk(text, skipped);
  }

  /** Restore's: a logged value taken again, not logged again. */
  private replay({ key, value, record }: KeyedValue): void {
    this.replaying = true;
    try {
      this.add(key, record.time, value, record);
    } finally {
      this.replaying = false;
    }
  }

  /** After a restore: what it read is in the changelog already. */
  restored(): void {
    this.changed.clear();
    this.watermarkChanged = false;
  }
}

const byEndThenKey = (a: Emitted, b: Emitted): number =>
  a.value.window_end! - b.value.window_end! || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** How one kind of window keeps a key's state S, and schedules the ends at which the state is due to be closed.
 * Arguments are positional: add runs once a record, and allocates only what the state needs. */
interface WindowKind<S> {
  /** The key's state with the value folded in (the same object or a new one); undefined when the value is late. */
  add(
    state: S | undefined,
    key: string,
    time: number,
    value: unknown,
    record: StreamRecord,
    watermark: number,
  ): S | undefined;
  /** Emits and removes the key's window ending at `end` (if any); the state left, undefined when nothing is. */
  close(state: S, key: string, end: number, watermark: number, emitted: Emitted[]): S | undefined;
  /** Emits every open window of the key (copies: the state goes on). */
  open(key: string, state: S | undefined, emitted: Emitted[]): void;
  /** The ends at which the state is due to be looked at. */
  ends(state: S): Iterable<number>;
  encode(state: S): unknown;
  decode(json: unknown): S;
}

function windowKind(step: AggregateStep, due: EndIndex): WindowKind<unknown> {
  const { aggregation, window, lateness } = step;
  if (!window) return unwindowed(aggregation);
  switch (window.kind) {
    case 'tumbling':
      return fixedWindows(aggregation, { size: window.size, advance: window.size, lateness }, due);
    case 'hopping':
      return fixedWindows(aggregation, { size: window.size, advance: window.advance, lateness }, due);
    case 'session':
      if (!aggregation.merge) {
        throw new TypeError(
          `${step.label}: a session window merges two sessions of a key when a value bridges them, so its ` +
            'aggregate needs a merge function: aggregate(init, add, merge).',
        );
      }
      return sessionWindows(aggregation, aggregation.merge, { gap: window.gap, lateness }, due);
  }
}

/** A result of a window [start, end). */
function windowResult(field: string, key: string, start: number, end: number, accumulator: unknown): Emitted {
  return { value: { key, window_start: start, window_end: end, [field]: accumulator }, key, time: end - 1 };
}

// The state goes on after `open` emits it: a copy, so that an accumulator changed in place later is not changed in a
// result not yet written (JSON's copy: what a restart would see).
const copy = (accumulator: unknown): unknown =>
  accumulator !== null && typeof accumulator === 'object' ? JSON.parse(JSON.stringify(accumulator)) : accumulator;

// An accumulator last in a JSON array: left out when undefined (JSON would write null, and reduce starts from undefined).
const withAccumulator = (head: number[], accumulator: unknown): unknown[] =>
  accumulator === undefined ? head : [...head, accumulator];

/** No window: one running aggregate per key, and the event time of its last value. Never late. */
interface Running {
  accumulator: unknown;
  time: number;
}
function unwindowed(aggregation: Aggregation): WindowKind<Running> {
  return {
    add(state, _key, time, value, record) {
      const accumulator = aggregation.add(state ? state.accumulator : aggregation.init(), value, record);
      if (!state) return { accumulator, time };
      state.accumulator = accumulator;
      state.time = time;
      return state;
    },
    close: (state) => state, // never due: nothing closes
    open(key, state, emitted) {
      if (state) emitted.push({ value: { key, [aggregation.field]: copy(state.accumulator) }, key, time: state.time });
    },
    ends: () => [],
    encode: (state) => withAccumulator([state.time], state.accumulator),
    decode: (json) => {
      const [time, accumulator] = json as [number, unknown?];
      return { accumulator, time };
    },
  };
}

/** Tumbling (advance = size) and hopping windows, aligned to the epoch: window start → accumulator. */
function fixedWindows(
  aggregation: Aggregation,
  { size, advance, lateness }: { size: number; advance: number; lateness: number },
  due: EndIndex,
): WindowKind<Map<number, unknown>> {
  // Accumulators of the windows a value falls in, computed before any is stored: an add that throws changes nothing.
  const starts: number[] = [];
  const accumulators: unknown[] = [];
  return {
    add(state, key, time, value, record, watermark) {
      const newest = Math.floor(time / advance) * advance;
      if (newest + size + lateness <= watermark) return undefined;
      // A tumbling window already open (most values): the one accumulator, without the lists below.
      if (size === advance && state !== undefined && state.has(newest)) {
        const accumulator = state.get(newest);
        const added = aggregation.add(accumulator, value, record);
        if (added !== accumulator) state.set(newest, added);
        return state;
      }
      starts.length = accumulators.length = 0;
      // The windows [start, start + size) holding `time`, newest first; the older ones may have closed.
      for (let start = newest; start > time - size && start + size + lateness > watermark; start -= advance) {
        const accumulator = state?.has(start) ? state.get(start) : aggregation.init();
        starts.push(start);
        accumulators.push(aggregation.add(accumulator, value, record));
      }
      const windows = state ?? new Map<number, unknown>();
      for (let i = 0; i < starts.length; i++) {
        const start = starts[i]!;
        if (!windows.has(start)) due.schedule(start + size, key);
        windows.set(start, accumulators[i]);
      }
      return windows;
    },
    close(windows, key, end, _watermark, emitted) {
      const start = end - size;
      if (windows.has(start)) {
        emitted.push(windowResult(aggregation.field, key, start, end, windows.get(start)));
        windows.delete(start);
      }
      return windows.size > 0 ? windows : undefined;
    },
    open(key, windows, emitted) {
      for (const [start, accumulator] of windows ?? []) {
        emitted.push(windowResult(aggregation.field, key, start, start + size, copy(accumulator)));
      }
    },
    ends: (windows) => [...windows.keys()].map((start) => start + size),
    encode: (windows) => [...windows].map(([start, accumulator]) => withAccumulator([start], accumulator)),
    decode: (json) => new Map((json as [number, unknown?][]).map(([start, accumulator]) => [start, accumulator])),
  };
}

/** A session: [time of its first value, time of its last value + gap). */
interface Session {
  start: number;
  end: number;
  accumulator: unknown;
}
/** A key's open sessions (by start; they never overlap), and the end of the last one emitted. */
interface Sessions {
  open: Session[];
  /** A value before this would merge with a session already emitted: it is late. -Infinity when none. */
  closedUntil: number;
}
interface SessionsJson {
  s: unknown[][];
  c?: JsonNumber;
}

/** Session windows: a value opens [time, time + gap); sessions of a key that a value overlaps merge into one. */
function sessionWindows(
  aggregation: Aggregation,
  merge: NonNullable<Aggregation['merge']>,
  { gap, lateness }: { gap: number; lateness: number },
  due: EndIndex,
): WindowKind<Sessions> {
  return {
    add(state, key, time, value, record, watermark) {
      const end = time + gap;
      if (end + lateness <= watermark || (state && time < state.closedUntil)) return undefined;
      const sessions = state ?? { open: [], closedUntil: -Infinity };
      const open = sessions.open;
      // The sessions [first, last) that [time, end) overlaps: sessions are disjoint and sorted, so are their ends.
      let first = 0;
      while (first < open.length && open[first]!.end <= time) first++;
      let last = first;
      while (last < open.length && open[last]!.start < end) last++;
      if (first === last) {
        const accumulator = aggregation.add(aggregation.init(), value, record);
        open.splice(first, 0, { start: time, end, accumulator });
        due.schedule(end, key);
        return sessions;
      }
      let accumulator = open[first]!.accumulator;
      for (let i = first + 1; i < last; i++) accumulator = merge(accumulator, open[i]!.accumulator);
      accumulator = aggregation.add(accumulator, value, record);
      // The first session overlapped becomes the merged one; those it bridges to go.
      const session = open[first]!;
      const mergedEnd = Math.max(end, open[last - 1]!.end);
      for (let i = first; i < last; i++) if (open[i]!.end !== mergedEnd) due.unschedule(open[i]!.end, key);
      session.start = Math.min(session.start, time);
      session.end = mergedEnd;
      session.accumulator = accumulator;
      if (last - first > 1) open.splice(first + 1, last - first - 1);
      due.schedule(mergedEnd, key);
      return sessions;
    },
    close(state, key, end, watermark, emitted) {
      const i = state.open.findIndex((session) => session.end === end);
      if (i >= 0) {
        const [session] = state.open.splice(i, 1);
        emitted.push(windowResult(aggregation.field, key, session!.start, session!.end, session!.accumulator));
        state.closedUntil = Math.max(state.closedUntil, end);
      }
      if (state.open.length > 0) return state;
      // Kept until a value before closedUntil would be late anyway (its own session closed): then forgotten.
      if (state.closedUntil + gap + lateness <= watermark) return undefined;
      due.schedule(state.closedUntil + gap, key);
      return state;
    },
    open(key, state, emitted) {
      for (const session of state?.open ?? []) {
        emitted.push(windowResult(aggregation.field, key, session.start, session.end, copy(session.accumulator)));
      }
    },
    ends: (state) => (state.open.length > 0 ? state.open.map((session) => session.end) : [state.closedUntil + gap]),
    encode: (state): SessionsJson => ({
      s: state.open.map((session) => withAccumulator([session.start, session.end], session.accumulator)),
      ...(state.closedUntil > -Infinity ? { c: toJsonNumber(state.closedUntil) } : {}),
    }),
    decode: (json) => {
      const { s, c } = json as SessionsJson;
      const open = (s as [number, number, unknown?][]).map(([start, end, accumulator]) => ({
        start,
        end,
        accumulator,
      }));
      return { open, closedUntil: c === undefined ? -Infinity : fromJsonNumber(c) };
    },
  };
}

/** The window ends due to be looked at, each with its keys: a min-heap of distinct ends over a map of their keys. */
class EndIndex {
  private readonly keys = new Map<number, Set<string>>();
  private heap: number[] = [];

  schedule(end: number, key: string): void {
    const keys = this.keys.get(end);
    if (keys) {
      keys.add(key);
      return;
    }
    this.keys.set(end, new Set([key]));
    this.push(end);
  }

  /** The end stays in the heap, skipped when it comes up; the heap is rebuilt when most of it is such ends. */
  unschedule(end: number, key: string): void {
    const keys = this.keys.get(end);
    if (!keys?.delete(key) || keys.size > 0) return;
    this.keys.delete(end);
    if (this.heap.length > 64 && this.heap.length > 2 * this.keys.size) {
      this.heap = [...this.keys.keys()].sort((a, b) => a - b); // a sorted array is a heap
    }
  }

  /** The smallest end <= `limit` with its keys, taken out of the index; undefined when there is none. */
  next(limit: number): [number, Set<string>] | undefined {
    while (this.heap.length > 0 && this.heap[0]! <= limit) {
      const end = this.pop();
      const keys = this.keys.get(end);
      if (keys) {
        this.keys.delete(end);
        return [end, keys];
      }
    }
    return undefined;
  }

  private push(end: number): void {
    const heap = this.heap;
    let i = heap.push(end) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]! <= end) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = end;
  }

  private pop(): number {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const child = left + 1 < heap.length && heap[left + 1]! < heap[left]! ? left + 1 : left;
      if (heap[child]! >= last) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}
