// KeyedAggregates against reference computations written here, independently: windows found by enumerating the
// multiples of the advance around a time, sessions by sorting a key's values and cutting where they are a gap apart,
// aggregates folded from the list of values each window received. Inputs are random (fixed seeds), with keys that
// look like the changelog's own keys, times out of order within the lateness and beyond it.
import { describe, expect, it } from 'vitest';
import { prng } from '../../src/datagen/reviews';
import {
  hopping,
  pipeline,
  session,
  SPEC,
  tumbling,
  type HasSpec,
  type StreamRecord,
  type WindowSpec,
} from '../../src/pipelines/api';
import { KeyedAggregates, type AggregateStep, type Emitted } from '../../src/pipelines/runtime/aggregates';
import type { ChangelogEntry } from '../../src/pipelines/runtime/value-log';
import { chunkValues, RepartitionChunks } from '../../src/pipelines/runtime/repartition';
import { Watermarks } from '../../src/pipelines/runtime/watermarks';

interface Value {
  k: string;
  n: number;
  id: number;
}
interface Add {
  key: string;
  time: number;
  value: Value;
}
/** Values, then the watermark at the batch's end. */
interface Batch {
  adds: Add[];
  watermark: number;
}
type Kind = 'count' | 'sum' | 'reduce' | 'aggregate';
const KINDS: Kind[] = ['count', 'sum', 'reduce', 'aggregate'];
// '' and keys that a careless changelog encoding would confuse with its own.
const KEYS = ['a', 'b', 'c', '', 'watermark', 'key:watermark'];

const recordOf = (key: string, time: number, id: number): StreamRecord => ({
  topic: 'in',
  partition: 0,
  offset: String(id),
  key,
  headers: {},
  timestamp: time,
  time,
});

// Order-sensitive aggregations check that values are folded in arrival order and that accumulators survive JSON;
// commutative ones are what makes results independent of how source partitions interleave (and of session merges).
const hashChain = (a: Value, b: Value): Value => ({ k: a.k, n: (a.n * 31 + b.n) % 1_000_003, id: b.id });
const larger = (a: Value, b: Value): Value => (a.n > b.n || (a.n === b.n && a.id > b.id) ? a : b);
interface Range {
  n: number;
  min: number | null;
  max: number | null;
}
const addToRange = (r: Range, v: Value): Range => ({
  n: r.n + 1,
  min: r.min === null ? v.n : Math.min(r.min, v.n),
  max: r.max === null ? v.n : Math.max(r.max, v.n),
});
const mergeRanges = (a: Range, b: Range): Range => ({
  n: a.n + b.n,
  min: a.min === null ? b.min : b.min === null ? a.min : Math.min(a.min, b.min),
  max: a.max === null ? b.max : b.max === null ? a.max : Math.max(a.max, b.max),
});

/** The aggregate step the API builds: `window` absent for a running aggregate per key. */
function stepOf(kind: Kind, commutative: boolean, window?: WindowSpec, lateness = 0): AggregateStep {
  const keyed = pipeline('t')
    .from<Value>('in')
    .keyBy((v) => v.k);
  const stream = window ? keyed.window(window, { lateness }) : keyed;
  const built: HasSpec = {
    count: () => stream.count(),
    sum: () => stream.sum((v) => v.n),
    reduce: () => stream.reduce(commutative ? larger : hashChain),
    aggregate: () =>
      commutative
        ? window
          ? keyed
              .window(window, { lateness })
              .aggregate<Range>(() => ({ n: 0, min: null, max: null }), addToRange, mergeRanges)
          : keyed.aggregate<Range>(() => ({ n: 0, min: null, max: null }), addToRange)
        : stream.aggregate<{ ids: number[] }>(
            () => ({ ids: [] }),
            (acc, v) => {
              acc.ids.push(v.id); // changed in place: what a result already emitted must not see
              return acc;
            },
          ),
  }[kind]();
  const step = built[SPEC].steps.at(-1)!;
  if (step.kind !== 'aggregate') throw new Error('not an aggregate step');
  return step;
}

/** The reference fold: the field the result is written to, and the aggregate of a list of values. */
function referenceFold(kind: Kind, commutative: boolean): [string, (values: Value[]) => unknown] {
  switch (kind) {
    case 'count':
      return ['count', (values) => values.length];
    case 'sum':
      return ['sum', (values) => values.reduce((sum, v) => sum + v.n, 0)];
    case 'reduce':
      if (commutative) {
        return ['value', (values) => [...values].sort((a, b) => b.n - a.n || b.id - a.id)[0]];
      }
      return ['value', (values) => values.slice(1).reduce(hashChain, values[0]!)];
    case 'aggregate':
      if (commutative) {
        return [
          'value',
          (values) => ({
            n: values.length,
            min: Math.min(...values.map((v) => v.n)),
            max: Math.max(...values.map((v) => v.n)),
          }),
        ];
      }
      return ['value', (values) => ({ ids: values.map((v) => v.id) })];
  }
}

/** What both KeyedAggregates and the references answer to. */
interface Aggregates {
  add(key: string, time: number, value: unknown, record: StreamRecord): boolean;
  advance(watermark: number): Emitted[];
  updates(): Emitted[];
  flush(): Emitted[];
}

interface Trace {
  accepted: boolean[];
  /** Per batch: what advance, then updates, returned; last, what flush returned. */
  emitted: Emitted[][];
}

function drive(target: Aggregates, batches: Batch[], trace: Trace = { accepted: [], emitted: [] }, onBatch = () => {}) {
  for (const { adds, watermark } of batches) {
    for (const { key, time, value } of adds)
      trace.accepted.push(target.add(key, time, value, recordOf(key, time, value.id)));
    trace.emitted.push([...target.advance(watermark), ...target.updates()]);
    onBatch();
  }
  return trace;
}

function result(field: string, key: string, start: number, end: number, accumulator: unknown): Emitted {
  return { value: { key, window_start: start, window_end: end, [field]: accumulator }, key, time: end - 1 };
}
const byEndThenKey = (a: Emitted, b: Emitted) =>
  a.value.window_end! - b.value.window_end! || (a.key === b.key ? 0 : a.key < b.key ? -1 : 1);

/** Tumbling and hopping windows: every [k·advance, k·advance + size) holding the time, by enumeration. */
class FixedReference implements Aggregates {
  private readonly windows = new Map<string, { key: string; start: number; values: Value[] }>();
  private watermark = -Infinity;
  constructor(
    private readonly size: number,
    private readonly advanceBy: number,
    private readonly lateness: number,
    private readonly fold: [string, (values: Value[]) => unknown],
  ) {}
  add(key: string, time: number, value: Value): boolean {
    const starts: number[] = [];
    for (let k = Math.ceil((time - this.size + 1) / this.advanceBy); k * this.advanceBy <= time; k++)
      starts.push(k * this.advanceBy + 0); // + 0: Math.ceil gives -0
    const open = starts.filter((start) => start + this.size + this.lateness > this.watermark);
    for (const start of open) {
      const id = `${start} ${key}`;
      if (!this.windows.has(id)) this.windows.set(id, { key, start, values: [] });
      this.windows.get(id)!.values.push(value);
    }
    return open.length > 0;
  }
  advance(watermark: number): Emitted[] {
    this.watermark = Math.max(this.watermark, watermark);
    const closed = [...this.windows].filter(([, w]) => w.start + this.size + this.lateness <= this.watermark);
    for (const [id] of closed) this.windows.delete(id);
    return this.results(closed.map(([, w]) => w));
  }
  updates = () => [];
  flush = () => this.results([...this.windows.values()]);
  private results(windows: { key: string; start: number; values: Value[] }[]) {
    const [field, fold] = this.fold;
    return windows.map((w) => result(field, w.key, w.start, w.start + this.size, fold(w.values))).sort(byEndThenKey);
  }
}

/** Sessions: a key's accepted values sorted by time and cut where two are a gap or more apart. */
class SessionReference implements Aggregates {
  private readonly values = new Map<string, { time: number; value: Value }[]>();
  private readonly emitted = new Map<string, { start: number; end: number }[]>();
  private watermark = -Infinity;
  constructor(
    private readonly gap: number,
    private readonly lateness: number,
    private readonly fold: [string, (values: Value[]) => unknown],
  ) {}
  add(key: string, time: number, value: Value): boolean {
    if (time + this.gap + this.lateness <= this.watermark) return false;
    // A value that would join a session already emitted is late: that session's result is final.
    if ((this.emitted.get(key) ?? []).some((s) => s.start < time + this.gap && s.end > time)) return false;
    if (!this.values.has(key)) this.values.set(key, []);
    this.values.get(key)!.push({ time, value });
    return true;
  }
  advance(watermark: number): Emitted[] {
    this.watermark = Math.max(this.watermark, watermark);
    const closed = this.sessions().filter((s) => s.end + this.lateness <= this.watermark);
    for (const s of closed) {
      if (!this.emitted.has(s.key)) this.emitted.set(s.key, []);
      this.emitted.get(s.key)!.push(s);
    }
    return this.results(closed);
  }
  updates = () => [];
  flush = () => this.results(this.sessions());
  /** The sessions not yet emitted (those emitted come out again, unchanged: checked). */
  private sessions() {
    const all: { key: string; start: number; end: number; values: Value[] }[] = [];
    for (const [key, values] of this.values) {
      const sorted = [...values].sort((a, b) => a.time - b.time);
      let current: (typeof all)[number] | undefined;
      for (const { time, value } of sorted) {
        if (!current || time - (current.end - this.gap) >= this.gap) {
          current = { key, start: time, end: time + this.gap, values: [] };
          all.push(current);
        }
        current.end = time + this.gap;
        current.values.push(value);
      }
    }
    const emitted = (s: { key: string; start: number; end: number }) =>
      (this.emitted.get(s.key) ?? []).some((e) => e.start === s.start && e.end === s.end);
    const emittedCount = [...this.emitted.values()].reduce((n, list) => n + list.length, 0);
    if (all.filter(emitted).length !== emittedCount) throw new Error('reference: an emitted session changed');
    return all.filter((s) => !emitted(s));
  }
  private results(sessions: { key: string; start: number; end: number; values: Value[] }[]) {
    const [field, fold] = this.fold;
    return sessions.map((s) => result(field, s.key, s.start, s.end, fold(s.values))).sort(byEndThenKey);
  }
}

/** No window: a key's values so far, folded; each key changed in a batch once, in the order first changed. */
class RunningReference implements Aggregates {
  private readonly values = new Map<string, Value[]>();
  private readonly last = new Map<string, number>();
  private changed: string[] = [];
  constructor(private readonly fold: [string, (values: Value[]) => unknown]) {}
  add(key: string, time: number, value: Value): boolean {
    this.values.set(key, [...(this.values.get(key) ?? []), value]);
    this.last.set(key, time);
    if (!this.changed.includes(key)) this.changed.push(key);
    return true;
  }
  advance = () => [];
  updates(): Emitted[] {
    const [field, fold] = this.fold;
    const emitted = this.changed.map((key) => ({
      value: { key, [field]: fold(this.values.get(key)!) },
      key,
      time: this.last.get(key)!,
    }));
    this.changed = [];
    return emitted;
  }
  flush = () => this.updates();
}

function referenceOf(window: WindowSpec | undefined, lateness: number, fold: [string, (values: Value[]) => unknown]) {
  if (!window) return new RunningReference(fold);
  switch (window.kind) {
    case 'tumbling':
      return new FixedReference(window.size, window.size, lateness, fold);
    case 'hopping':
      return new FixedReference(window.size, window.advance, lateness, fold);
    case 'session':
      return new SessionReference(window.gap, lateness, fold);
  }
}

/** Random batches: times mostly rising, some behind by less than the lateness, some by more; bursts and pauses. */
function randomBatches(seed: number, count: number, lateness: number): Batch[] {
  const random = prng(seed);
  const batches: Batch[] = [];
  let now = -20_000; // negative times too: windows are aligned to the epoch on both sides
  let newest = -Infinity;
  let watermark = -Infinity;
  for (let id = 0; id < count;) {
    const adds: Add[] = [];
    for (let n = 1 + Math.floor(random() * 40); n > 0 && id < count; n--, id++) {
      now += Math.floor(random() * (random() < 0.9 ? 30 : 1000));
      const r = random();
      const behind = r < 0.65 ? 0 : r < 0.9 ? random() * lateness : lateness + random() * (2 * lateness + 1000);
      const time = now - Math.floor(behind);
      newest = Math.max(newest, time);
      const key = KEYS[Math.floor(random() * KEYS.length)]!;
      adds.push({ key, time, value: { k: key, n: Math.floor(random() * 100), id } });
    }
    // Like a marker, behind the newest time; it never goes back.
    watermark = Math.max(watermark, newest - Math.floor(random() * 100));
    batches.push({ adds, watermark });
  }
  return batches;
}

const LATENESS = 300;
const WINDOWS: [string, WindowSpec | undefined][] = [
  ['no window', undefined],
  ['tumbling', tumbling(1000)],
  ['hopping', hopping(1000, 250)],
  ['hopping (size not a multiple of the advance)', hopping(1000, 300)],
  ['session', session(200)],
];

describe.each(WINDOWS)('KeyedAggregates, %s', (_name, window) => {
  it.each(KINDS)('%s: results and late values are those of the reference', (kind) => {
    // Sessions merge: their reference folds in time order, so only commutative aggregations compare.
    const commutative = window?.kind === 'session';
    const batches = randomBatches(7, 4000, LATENESS);
    const aggregates = new KeyedAggregates(stepOf(kind, commutative, window, LATENESS));
    const reference = referenceOf(window, LATENESS, referenceFold(kind, commutative));

    const actual = drive(aggregates, batches);
    const expected = drive(reference, batches);
    actual.emitted.push(aggregates.flush());
    expected.emitted.push(reference.flush());

    expect(actual.accepted).toEqual(expected.accepted);
    expect(actual.emitted).toEqual(expected.emitted);
    // The input exercises what it should: late values, and values behind the watermark still counted.
    if (window) expect(actual.accepted.filter((a) => !a).length).toBeGreaterThan(40);
    expect(acceptedBehind(batches, actual.accepted)).toBeGreaterThan(100);
    expect(expected.emitted.flat().length).toBeGreaterThan(100);
  });

  it.each(KINDS)('%s: restored from its changelog mid-stream, it goes on as if it had never stopped', (kind) => {
    const step = stepOf(kind, window?.kind === 'session', window, LATENESS);
    const batches = randomBatches(11, 3000, LATENESS);
    const whole = new KeyedAggregates(step);
    const expected = drive(whole, batches);
    expected.emitted.push(whole.flush());

    // Two restarts: from the whole log, then from a compacted one (the latest entry per key, in any order).
    const random = prng(5);
    const log: ChangelogEntry[] = [];
    const cuts = [0, Math.floor(batches.length / 3), Math.floor((2 * batches.length) / 3), batches.length];
    const trace: Trace = { accepted: [], emitted: [] };
    let aggregates = new KeyedAggregates(step);
    for (let i = 0; i + 1 < cuts.length; i++) {
      if (i > 0) {
        const restored = new KeyedAggregates(step);
        for (const { key, value } of i === 1 ? log : compact(log, random)) restored.restore(key, value);
        expect(restored.size).toBe(aggregates.size);
        expect(restored.changes()).toEqual([]);
        expect(restored.flush()).toEqual(aggregates.flush()); // flush leaves state as it is: a view of it
        aggregates = restored;
      }
      const current = aggregates;
      drive(current, batches.slice(cuts[i], cuts[i + 1]), trace, () => log.push(...current.changes()));
    }
    trace.emitted.push(aggregates.flush());
    expect(trace).toEqual(expected);
  });
});

/** How many accepted values were behind the watermark when added (counted thanks to the lateness). */
function acceptedBehind(batches: Batch[], accepted: boolean[]): number {
  let watermark = -Infinity;
  let i = 0;
  let behind = 0;
  for (const batch of batches) {
    for (const add of batch.adds) if (accepted[i++] && add.time < watermark) behind++;
    watermark = batch.watermark;
  }
  return behind;
}

/** A compacted changelog: the latest entry of each key, deletions dropped, in random order. */
function compact(log: ChangelogEntry[], random: () => number): ChangelogEntry[] {
  const latest = new Map(log.map((entry) => [entry.key, entry]));
  const entries = [...latest.values()].filter((entry) => entry.value !== null);
  return entries
    .map((entry) => ({ entry, order: random() }))
    .sort((a, b) => a.order - b.order)
    .map(({ entry }) => entry);
}

/** Source partitions in event-time order, each out of order by at most the lateness. */
function sourcePartitions(seed: number, sources: number, perSource: number, lateness: number): Add[][] {
  const random = prng(seed);
  return Array.from({ length: sources }, (_, s) => {
    let now = Math.floor(random() * 2000);
    return Array.from({ length: perSource }, (_, i) => {
      now += Math.floor(random() * (random() < 0.9 ? 40 : 1500));
      const time = now - (random() < 0.3 ? Math.floor(random() * lateness) : 0);
      const key = KEYS[Math.floor(random() * KEYS.length)]!;
      return { key, time, value: { k: key, n: Math.floor(random() * 100), id: s * perSource + i } };
    });
  });
}

/** Stage B: batches of the source partitions in a random interleaving, each followed by its source's marker. */
function interleave(seed: number, partitions: Add[][], step: AggregateStep) {
  const random = prng(seed);
  const aggregates = new KeyedAggregates(step);
  const watermarks = new Watermarks(partitions.map((_, s) => `in/${s}`));
  const positions = partitions.map(() => 0);
  const markers = partitions.map(() => -Infinity);
  const emitted: Emitted[] = [];
  let late = 0;
  for (;;) {
    const left = partitions.flatMap((records, s) => (positions[s]! < records.length ? [s] : []));
    if (left.length === 0) break;
    const s = left[Math.floor(random() * left.length)]!;
    const batch = partitions[s]!.slice(positions[s], positions[s]! + 1 + Math.floor(random() * 30));
    positions[s]! += batch.length;
    for (const { key, time, value } of batch) {
      if (!aggregates.add(key, time, value, recordOf(key, time, value.id))) late++;
      markers[s] = Math.max(markers[s]!, time);
    }
    watermarks.mark(`in/${s}`, markers[s]!, positions[s] === partitions[s]!.length);
    emitted.push(...aggregates.advance(watermarks.current()), ...aggregates.updates());
  }
  emitted.push(...aggregates.flush());
  return { emitted, late };
}

/** Results in one order whatever order they came in; a running aggregate: each key's last value. */
function canonical(emitted: Emitted[]) {
  if (emitted.every((e) => e.value.window_end === undefined)) {
    return [...new Map(emitted.map((e) => [e.key, e.value])).values()].sort((a, b) => (a.key < b.key ? -1 : 1));
  }
  return [...emitted]
    .sort((a, b) => byEndThenKey(a, b) || a.value.window_start! - b.value.window_start!)
    .map((e) => ({ ...e }));
}

describe.each(WINDOWS)('KeyedAggregates, %s, fed by source partitions through watermarks', (_name, window) => {
  it.each(KINDS)('%s: the same results whatever the interleaving of the source partitions, none late', (kind) => {
    const step = stepOf(kind, true, window, LATENESS);
    const partitions = sourcePartitions(3, 4, 1000, LATENESS);
    const runs = [1, 2, 3].map((seed) => interleave(seed, partitions, step));

    const reference = referenceOf(window, LATENESS, referenceFold(kind, true));
    const all = drive(reference, [{ adds: partitions.flat(), watermark: -Infinity }]);
    const expected = canonical([...all.emitted.flat(), ...reference.flush()]);
    for (const run of runs) {
      expect(run.late).toBe(0);
      expect(canonical(run.emitted)).toEqual(expected);
    }
  });
});

describe('KeyedAggregates', () => {
  const keyed = pipeline('t')
    .from<Value>('in')
    .keyBy((v) => v.k);

  it('refuses a session window whose aggregate has no merge, naming the step', () => {
    const stream = keyed.window(session('1m')).aggregate(
      () => 0,
      (n) => n + 1,
    );
    const step = stream[SPEC].steps.at(-1) as AggregateStep;
    expect(() => new KeyedAggregates(step)).toThrow(TypeError);
    expect(() => new KeyedAggregates(step)).toThrow(/^session value: .*merge/);
  });

  it('keeps the watermark across a restart: a value late before it is late after, with no advance', () => {
    const step = keyed.window(tumbling(1000), { lateness: 100 }).count()[SPEC].steps.at(-1) as AggregateStep;
    const before = new KeyedAggregates(step);
    expect(before.add('a', 5500, {}, recordOf('a', 5500, 0))).toBe(true);
    expect(before.advance(5000)).toEqual([]);
    const restored = new KeyedAggregates(step);
    for (const { key, value } of before.changes()) restored.restore(key, value);
    expect(restored.add('a', 3999, {}, recordOf('a', 3999, 1))).toBe(false); // [3000, 4000) closed at 4100
    expect(restored.add('a', 4999, {}, recordOf('a', 4999, 2))).toBe(true); // [4000, 5000) open until 5100
    expect(restored.advance(-Infinity)).toEqual([]); // a fresh Watermarks starts at -Infinity: no step back
    expect(restored.add('a', 3999, {}, recordOf('a', 3999, 3))).toBe(false);
    expect(restored.advance(5100)).toEqual([result('count', 'a', 4000, 5000, 1)]);
  });

  it('an undefined accumulator survives the changelog (reduce starts from it)', () => {
    const step = keyed.reduce((a, b) => ({ k: 'pair', n: a.n + b.n, id: b.id }))[SPEC].steps.at(-1) as AggregateStep;
    const run = (restart: boolean) => {
      let aggregates = new KeyedAggregates(step);
      aggregates.add('a', 1, undefined, recordOf('a', 1, 0));
      if (restart) {
        const restored = new KeyedAggregates(step);
        for (const { key, value } of aggregates.changes()) restored.restore(key, value);
        aggregates = restored;
      }
      aggregates.add('a', 2, { k: 'a', n: 5, id: 1 }, recordOf('a', 2, 1));
      return aggregates.updates();
    };
    expect(run(true)).toEqual(run(false));
    expect(run(true)).toEqual([{ value: { key: 'a', value: { k: 'a', n: 5, id: 1 } }, key: 'a', time: 2 }]);
  });

  it('forgets a key once its windows have closed, and a session key once nothing could join its last session', () => {
    const tumblingStep = keyed.window(tumbling(1000)).count()[SPEC].steps.at(-1) as AggregateStep;
    const windows = new KeyedAggregates(tumblingStep);
    windows.add('a', 10, {}, recordOf('a', 10, 0));
    windows.add('b', 1010, {}, recordOf('b', 1010, 1));
    expect(windows.size).toBe(2);
    expect(windows.advance(1000).map((e) => e.key)).toEqual(['a']);
    expect(windows.size).toBe(1);
    expect(windows.changes()).toEqual([
      { key: 'watermark', value: '1000' },
      { key: 'key:a', value: null },
      { key: 'key:b', value: '[[1000,1]]' },
    ]);

    const sessionStep = keyed.window(session(100), { lateness: 50 }).count()[SPEC].steps.at(-1) as AggregateStep;
    const sessions = new KeyedAggregates(sessionStep);
    sessions.add('a', 0, {}, recordOf('a', 0, 0));
    expect(sessions.advance(150)).toEqual([result('count', 'a', 0, 100, 1)]);
    expect(sessions.size).toBe(1); // a value at 60 would still be on time, and would join the session emitted
    expect(sessions.add('a', 60, {}, recordOf('a', 60, 1))).toBe(false);
    expect(sessions.advance(250)).toEqual([]);
    expect(sessions.size).toBe(0);
  });

  it('refuses an event time that is not a finite number, changing nothing', () => {
    const aggregates = new KeyedAggregates(keyed.window(session(100)).count()[SPEC].steps.at(-1) as AggregateStep);
    for (const time of [NaN, Infinity, -Infinity]) {
      expect(() => aggregates.add('a', time, {}, recordOf('a', 0, 0))).toThrow(/^session count: the event time/);
    }
    expect(aggregates.size).toBe(0);
    expect(aggregates.changes()).toEqual([]);
  });

  it('refuses to restore a changelog entry that is not one of its own', () => {
    const aggregates = new KeyedAggregates(keyed.count()[SPEC].steps.at(-1) as AggregateStep);
    expect(() => aggregates.restore('offsets', '{}')).toThrow(/"offsets" is not one of an aggregate/);
  });
});

// A window shell's state: every value of a window kept, logged as the repartition chunks the values came in.
describe.each(WINDOWS.filter(([, window]) => window !== undefined))(
  'KeyedAggregates logging values, %s',
  (_n, window) => {
    const step: AggregateStep = {
      kind: 'aggregate',
      window,
      lateness: LATENESS,
      label: 'window shell',
      aggregation: {
        field: 'value',
        init: () => [],
        add: (values, value) => [...(values as unknown[]), value],
        merge: (a, b) => [...(a as unknown[]), ...(b as unknown[])],
      },
    };
    /** Kafka's compaction: the latest entry of each key where it was, tombstones gone or not (order kept). */
    const compactInOrder = (log: ChangelogEntry[], random: () => number) => {
      const last = new Map(log.map((entry, i) => [entry.key, i]));
      return log.filter((entry, i) => last.get(entry.key) === i && (entry.value !== null || random() < 0.5));
    };
    /** As stage B does: each batch's values written to a chunk and read back, added, the chunk logged. */
    const driveChunks = (target: KeyedAggregates, batches: Batch[], trace: Trace, onBatch = () => {}) => {
      for (const { adds, watermark } of batches) {
        const chunks = new RepartitionChunks(1);
        for (const { key, time, value } of adds) chunks.add(key, value, recordOf(key, time, value.id));
        for (const message of chunks.drain()) {
          const skipped: number[] = [];
          chunkValues(String(message.value)).forEach(({ key, value, record }, i) => {
            const accepted = target.add(key, record.time, value, record);
            trace.accepted.push(accepted);
            if (!accepted) skipped.push(i);
          });
          target.logChunk(String(message.value), skipped);
        }
        trace.emitted.push(target.advance(watermark));
        onBatch();
      }
      return trace;
    };

    it('restored from its log mid-stream, whole or compacted, goes on as if it had never stopped', () => {
      const batches = randomBatches(13, 3000, LATENESS);
      // The results of a state logged key by key.
      const byKey = new KeyedAggregates(step);
      const expected = drive(byKey, batches);
      expected.emitted.push(byKey.flush());

      const random = prng(3);
      const log: ChangelogEntry[] = [];
      const cuts = [0, 1, 2, 3].map((i) => Math.floor((i * batches.length) / 4));
      cuts.push(batches.length);
      const trace: Trace = { accepted: [], emitted: [] };
      let aggregates = new KeyedAggregates(step, { logValues: true });
      for (let i = 0; i + 1 < cuts.length; i++) {
        if (i > 0) {
          const restored = new KeyedAggregates(step, { logValues: true });
          for (const { key, value } of i % 2 === 1 ? log : compactInOrder(log, random)) restored.restore(key, value);
          restored.restored();
          expect(restored.size).toBe(aggregates.size);
          expect(restored.flush()).toEqual(aggregates.flush());
          aggregates = restored;
        }
        const current = aggregates;
        driveChunks(current, batches.slice(cuts[i], cuts[i + 1]), trace, () => log.push(...current.changes()));
      }
      trace.emitted.push(aggregates.flush());
      expect(trace).toEqual(expected);
      expect(log.some((e) => e.value === null)).toBe(true); // pieces were deleted on the way
    });

    it("restores a text chunk's words (a shell's lines keyed by themselves) as they were taken", () => {
      const aggregates = new KeyedAggregates(step, { logValues: true });
      const log: ChangelogEntry[] = [];
      const words = [
        ['the', 'cat', 'the', ''],
        ['mat', 'the'],
      ];
      words.forEach((batch, b) => {
        const chunks = new RepartitionChunks(1);
        for (const word of batch) chunks.addLine(word, recordOf('', b * 1000, b));
        for (const message of chunks.drain()) {
          chunkValues(String(message.value)).forEach(({ key, value, record }) =>
            aggregates.add(key, record.time, value, record),
          );
          aggregates.logChunk(String(message.value), []);
        }
        log.push(...aggregates.changes());
      });
      const restored = new KeyedAggregates(step, { logValues: true });
      for (const { key, value } of log) restored.restore(key, value);
      restored.restored();
      const flushed = restored.flush();
      expect(flushed).toEqual(aggregates.flush());
      // Every word back under its own key, as many times as it was taken (in each window it falls in).
      const taken = new Map<string, number>();
      for (const e of flushed)
        for (const value of e.value.value as string[]) {
          expect(value).toBe(e.key);
          taken.set(value, (taken.get(value) ?? 0) + 1);
        }
      expect([...taken.keys()].sort()).toEqual(['', 'cat', 'mat', 'the']);
      expect(taken.get('the')! / taken.get('cat')!).toBeGreaterThanOrEqual(2);
    });

    it('logs each chunk once, and deletes every piece once its windows have closed', () => {
      const batches = randomBatches(17, 2000, LATENESS);
      const aggregates = new KeyedAggregates(step, { logValues: true });
      const log: ChangelogEntry[] = [];
      driveChunks(aggregates, batches, { accepted: [], emitted: [] }, () => log.push(...aggregates.changes()));
      const pieces = log.filter((e) => e.key.startsWith('values:') && e.value !== null);
      expect(pieces.length).toBeLessThanOrEqual(batches.length);
      expect(pieces.length).toBeGreaterThan(batches.length / 2);
      aggregates.advance(Infinity);
      log.push(...aggregates.changes());
      const deleted = new Set(log.filter((e) => e.value === null).map((e) => e.key));
      expect(pieces.filter((e) => !deleted.has(e.key))).toEqual([]);
    });
  },
);
