// A window shell's state in the changelog: the values it was given, a batch at a time, rather than every changed
// key's whole list of values each batch (a frequent word's list grew with every batch and was written again each
// time, past Kafka's 1 MB per record at a million sentences). A restart replays the pieces in the changelog's order
// and the watermarks between them, which rebuilds the windows as they were; a piece whose windows have all closed
// is deleted (a tombstone, which compaction acts on). Pure: no Kafka.
import type { WindowSpec } from '../api';
import type { ChangelogEntry } from './aggregates';
import { CHUNK_CHARS } from './repartition';

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

export class ValueLog {
  private readonly live = new Map<string, Piece>();
  private parts: string[] = [];
  private chars = 0;
  private due = -Infinity;
  private keys?: Set<string>;
  private readonly written: ChangelogEntry[] = [];
  private next = 0;

  constructor(
    private readonly closes: (time: number) => number,
    private readonly sessions: boolean,
  ) {}

  /** A value the state took, for the next `entries()`. */
  add(key: string, time: number, value: unknown): void {
    const part = `${JSON.stringify(key)},${time},${JSON.stringify(value) ?? 'null'}`;
    this.parts.push(part);
    this.chars += part.length + 1;
    const due = this.closes(time);
    if (due > this.due) this.due = due;
    if (this.sessions) (this.keys ??= new Set()).add(key);
    if (this.chars >= CHUNK_CHARS) this.cut();
  }

  /** The pieces of values added since the last call, then deletions of those whose windows have all closed. */
  entries(watermark: number, holdsState: (key: string) => boolean): ChangelogEntry[] {
    this.cut();
    const entries = this.written.splice(0);
    for (const [key, piece] of this.live) {
      if (piece.due > watermark || [...(piece.keys ?? [])].some(holdsState)) continue;
      this.live.delete(key);
      entries.push({ key, value: null });
    }
    return entries;
  }

  /**
   * A changelog entry read back: false when it is not a piece's. A piece's values are handed to `replay` in their
   * order; a deletion forgets the piece.
   */
  restore(key: string, value: string | null, replay: (key: string, time: number, value: unknown) => void): boolean {
    if (!key.startsWith(PIECE_PREFIX)) return false;
    this.next = Math.max(this.next, Number(key.slice(PIECE_PREFIX.length)) + 1);
    if (value === null) {
      this.live.delete(key);
      return true;
    }
    const flat = JSON.parse(value) as unknown[];
    const piece: Piece = { due: -Infinity, ...(this.sessions ? { keys: new Set<string>() } : {}) };
    for (let i = 0; i < flat.length; i += 3) {
      const [k, time] = [flat[i] as string, flat[i + 1] as number];
      replay(k, time, flat[i + 2]);
      piece.due = Math.max(piece.due, this.closes(time));
      piece.keys?.add(k);
    }
    this.live.set(key, piece);
    return true;
  }

  private cut(): void {
    if (this.parts.length === 0) return;
    const key = `${PIECE_PREFIX}${this.next++}`;
    this.written.push({ key, value: `[${this.parts.join(',')}]` });
    this.live.set(key, { due: this.due, ...(this.keys ? { keys: this.keys } : {}) });
    this.parts = [];
    this.chars = 0;
    this.due = -Infinity;
    this.keys = undefined;
  }
}
