// A window shell's state in the changelog: the values it was given, as the repartition chunks they came in, rather
// than every changed key's whole list of values each batch (a frequent word's list grew with every batch and was
// written again each time, past Kafka's 1 MB per record at a million sentences). A restart replays the pieces in the
// changelog's order and the watermarks between them, which rebuilds the windows as they were; a piece whose windows
// have all closed is deleted (a tombstone, which compaction acts on). Pure: no Kafka.
import type { WindowSpec } from '../api';
import { chunkValues, type KeyedValue } from './repartition';

/** One changelog entry: the key's state as JSON, or null once the key has no state left. */
export interface ChangelogEntry {
  key: string;
  value: string | null;
}

const PIECE_PREFIX = 'values:';

/** A piece written, until its windows have closed. */
interface Piece {
  /** The watermark at which every window of its values has closed, at the earliest. */
  due: number;
  /** Session windows: its keys (a session can outgrow a value's own gap: the piece waits until they hold no state). */
  keys?: Set<string>;
}

/** The watermark at which the windows a value at `time` falls in have all closed (for a session: at the earliest). */
export function closedBy(window: WindowSpec, lateness: number): (time: number) => number {
  switch (window.kind) {
    case 'tumbling':
      return (time) => Math.floor(time / window.size) * window.size + window.size + lateness;
    case 'hopping':
      return (time) => Math.floor(time / window.advance) * window.advance + window.size + lateness;
    case 'session':
      return (time) => time + window.gap + lateness;
  }
}

/**
 * The pieces of a window shell's state: each the text of a repartition chunk stage B took values from, as it came
 * (no value encoded again), after a line of the indexes of its values the state did not take (late, or stopped by
 * --on-error): `3,17\n{"r":…,"e":…}`.
 */
export class ValueLog {
  private readonly live = new Map<string, Piece>();
  private readonly written: ChangelogEntry[] = [];
  private next = 0;
  /** The values taken since the last piece: when their windows close, and (sessions) their keys. */
  private due = -Infinity;
  private keys?: Set<string>;
  private taken = false;

  constructor(
    private readonly closes: (time: number) => number,
    private readonly sessions: boolean,
  ) {}

  /** A value the state took, from the chunk the next `chunk()` logs. */
  took(key: string, time: number): void {
    this.taken = true;
    const due = this.closes(time);
    if (due > this.due) this.due = due;
    if (this.sessions) (this.keys ??= new Set()).add(key);
  }

  /** The chunk the values since the last call came from, and the indexes of those not taken: a piece, unless none
   * was taken. */
  chunk(text: string, skipped: number[]): void {
    if (this.taken) {
      const key = `${PIECE_PREFIX}${this.next++}`;
      this.written.push({ key, value: `${skipped.join(',')}\n${text}` });
      this.live.set(key, { due: this.due, ...(this.keys ? { keys: this.keys } : {}) });
    }
    this.taken = false;
    this.due = -Infinity;
    this.keys = undefined;
  }

  /** The pieces written since the last call, then deletions of those whose windows have all closed. */
  entries(watermark: number, holdsState: (key: string) => boolean): ChangelogEntry[] {
    const entries = this.written.splice(0);
    for (const [key, piece] of this.live) {
      if (piece.due > watermark || [...(piece.keys ?? [])].some(holdsState)) continue;
      this.live.delete(key);
      entries.push({ key, value: null });
    }
    return entries;
  }

  /**
   * A changelog entry read back: false when it is not a piece's. A piece's values taken are handed to `replay` in
   * their order; a deletion forgets the piece.
   */
  restore(key: string, value: string | null, replay: (value: KeyedValue) => void): boolean {
    if (!key.startsWith(PIECE_PREFIX)) return false;
    this.next = Math.max(this.next, Number(key.slice(PIECE_PREFIX.length)) + 1);
    if (value === null) {
      this.live.delete(key);
      return true;
    }
    const newline = value.indexOf('\n');
    const skipped = new Set(value.slice(0, newline).split(',').filter(Boolean).map(Number));
    chunkValues(value.slice(newline + 1)).forEach((keyed, i) => {
      if (skipped.has(i)) return;
      replay(keyed);
      this.took(keyed.key, keyed.record.time);
    });
    this.live.set(key, { due: this.due, ...(this.keys ? { keys: this.keys } : {}) });
    this.taken = false;
    this.due = -Infinity;
    this.keys = undefined;
    return true;
  }
}
