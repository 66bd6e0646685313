// Event time in stage B. Stage A sends, after each batch of a source partition, a marker: that partition's largest
// event time so far. A stateful partition's watermark is the minimum over every source partition's marker, so it
// depends only on what the sources hold, never on how fast they are read: the same input closes the same windows.
// A source partition with nothing to read for the idle time is marked idle (idleness.ts) and leaves the minimum.
// Co-partitioned (keyBy()), a state partition has one source partition: the marks are its own, handed over in memory.

/** A source partition's marker: its largest event time so far, and whether it is idle (excluded from the minimum). */
interface Marker {
  time: number;
  idle: boolean;
}

/** What `Watermarks.toJSON` writes: markers as [time, idle] by source; times that JSON cannot hold as strings. */
interface WatermarksJson {
  watermark: JsonNumber;
  markers: Record<string, [JsonNumber, boolean]>;
}

/** Stage B's watermark for one partition: min over the source partitions of their markers; idle ones excluded. */
export class Watermarks {
  private readonly sources: Set<string>;
  private readonly markers = new Map<string, Marker>();
  private watermark = -Infinity;

  /** `sources`: `${topic}/${partition}` of every source partition. */
  constructor(sources: Iterable<string>) {
    this.sources = new Set(sources);
  }

  /** A source partition's marker; a source marks idle when it has nothing to read (it then holds nothing back). */
  mark(source: string, time: number, idle: boolean): void {
    if (Number.isNaN(time)) throw new TypeError(`the marker of ${source} is not a time.`);
    const marker = this.markers.get(source);
    // A marker never goes backwards: batches of one source partition may be marked out of order after a retry.
    if (marker) {
      marker.time = Math.max(marker.time, time);
      marker.idle = idle;
    } else {
      this.markers.set(source, { time, idle });
      this.sources.add(source); // a partition added to a topic since the start marks like the others
    }
    this.watermark = Math.max(this.watermark, this.minimum());
  }

  /** The watermark: -Infinity until every source has marked (idle or not); it never goes backwards. */
  current(): number {
    return this.watermark;
  }

  /** Whether the source's last marker said idle: its records now are the first since, if any are late. */
  isIdle(source: string): boolean {
    return this.markers.get(source)?.idle ?? false;
  }

  toJSON(): WatermarksJson {
    const markers: WatermarksJson['markers'] = {};
    for (const [source, { time, idle }] of this.markers) markers[source] = [toJsonNumber(time), idle];
    return { watermark: toJsonNumber(this.watermark), markers };
  }

  /** Rebuilds from `toJSON()`'s value; markers of sources no longer read are dropped. */
  static restore(sources: Iterable<string>, json: unknown): Watermarks {
    const watermarks = new Watermarks(sources);
    const saved = json as WatermarksJson;
    for (const [source, [time, idle]] of Object.entries(saved.markers)) {
      if (watermarks.sources.has(source)) watermarks.markers.set(source, { time: fromJsonNumber(time), idle });
    }
    watermarks.watermark = fromJsonNumber(saved.watermark);
    return watermarks;
  }

  // When every source is idle, each has handed over all it had: the watermark goes to the largest marker, as
  // Flink's does when its last input goes idle; otherwise it would depend on which source went idle last.
  // Every source at its end (an --until-end run's +Infinity marker) closes every window.
  private minimum(): number {
    let minimum = Infinity;
    let maximum = -Infinity;
    let active = false;
    for (const source of this.sources) {
      const marker = this.markers.get(source);
      if (!marker) return -Infinity;
      maximum = Math.max(maximum, marker.time);
      if (marker.idle) continue;
      active = true;
      minimum = Math.min(minimum, marker.time);
    }
    return active ? minimum : maximum;
  }
}

/** A number as JSON holds it: ±Infinity (which JSON writes as null) as a string. */
export type JsonNumber = number | string;
export const toJsonNumber = (n: number): JsonNumber => (Number.isFinite(n) ? n : String(n));
export const fromJsonNumber = (n: JsonNumber): number => Number(n);
