// A latency histogram of fixed buckets, after HdrHistogram's idea: values (ms, kept as whole µs) below 256 µs have a
// bucket each; above, each power of two is cut into 128 equal buckets, so a bucket is at most 1/128 of its values
// wide and the value it reports (its middle) is within 0.4% of any value in it. Recording is an index computation
// and an increment: nothing is allocated on the hot path, and the buckets are one typed array of 17 KiB.

/** Sub-buckets per power of two: 2^7 = 128, for about 1% (0.4%) relative precision. */
const SUB_BITS = 7;
const SUB = 1 << SUB_BITS;
/** Values below this many µs have a bucket each. */
const LINEAR = 2 * SUB;
/** Values up to 2^40 µs (12.7 days); larger ones are counted in the last bucket. */
const TOP_EXPONENT = 40;
const BUCKETS = LINEAR + (TOP_EXPONENT - SUB_BITS - 1) * SUB;
const MAX_MICROS = 2 ** TOP_EXPONENT - 1;
const TWO_32 = 2 ** 32;

/** A distribution's percentiles, in ms; all 0 when it holds no value. */
export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** The bucket of a whole number of µs (0 ≤ v ≤ MAX_MICROS): shifts below 2^31 µs (36 min), divisions above. */
function bucketOf(v: number): number {
  if (v < LINEAR) return v;
  if (v < 2 ** 31) {
    const shift = 31 - Math.clz32(v) - SUB_BITS;
    return LINEAR + (shift - 1) * SUB + ((v >>> shift) - SUB);
  }
  const exponent = v < TWO_32 ? 31 : 63 - Math.clz32(Math.floor(v / TWO_32));
  const shift = exponent - SUB_BITS;
  const sub = Math.floor(v / 2 ** shift); // in [SUB, 2 * SUB)
  return LINEAR + (shift - 1) * SUB + (sub - SUB);
}

/** The smallest value of a bucket and how many whole µs it holds. */
function boundsOf(bucket: number): { low: number; width: number } {
  if (bucket < LINEAR) return { low: bucket, width: 1 };
  const shift = Math.floor((bucket - LINEAR) / SUB) + 1;
  const sub = ((bucket - LINEAR) % SUB) + SUB;
  return { low: sub * 2 ** shift, width: 2 ** shift };
}

export class Histogram {
  private readonly counts = new Uint32Array(BUCKETS);
  private total = 0;
  private maxMicros = 0;

  /** Counts one value in ms; a negative one (clocks that disagree) counts as 0. */
  record(ms: number): void {
    if (!(ms > 0)) ms = 0; // NaN too
    const micros = Math.min(Math.round(ms * 1000), MAX_MICROS);
    this.counts[bucketOf(micros)]!++;
    this.total++;
    if (micros > this.maxMicros) this.maxMicros = micros;
  }

  get count(): number {
    return this.total;
  }

  /** Adds another histogram's values to this one. */
  add(other: Histogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
    this.maxMicros = Math.max(this.maxMicros, other.maxMicros);
  }

  clear(): void {
    this.counts.fill(0);
    this.total = 0;
    this.maxMicros = 0;
  }

  /**
   * The values at the given quantiles (0 < q ≤ 1, ascending), in ms: each the middle of the bucket holding the
   * value of rank ⌈q·count⌉ (the nearest-rank percentile), never above the largest value recorded.
   */
  quantiles(qs: readonly number[]): number[] {
    const values = qs.map(() => 0);
    if (this.total === 0) return values;
    let next = 0;
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS && next < qs.length; bucket++) {
      seen += this.counts[bucket]!;
      while (next < qs.length && seen >= Math.max(1, Math.ceil(qs[next]! * this.total))) {
        const { low, width } = boundsOf(bucket);
        values[next++] = Math.min(low + (width - 1) / 2, this.maxMicros) / 1000;
      }
    }
    return values;
  }

  /** p50, p95, p99 and the largest value, in ms rounded to the µs. */
  percentiles(): Percentiles {
    const [p50, p95, p99] = this.quantiles([0.5, 0.95, 0.99]).map(roundMicros) as [number, number, number];
    return { count: this.total, p50, p95, p99, max: this.maxMicros / 1000 };
  }
}

const roundMicros = (ms: number) => Math.round(ms * 1000) / 1000;
