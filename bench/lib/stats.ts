/**
 * Numbers for benchmark reports: a mergeable latency histogram (what workers record), percentiles, and the
 * median-with-spread of several runs (what every table shows).
 */

/** Relative width of one histogram bucket: every quantile is exact to within 1%. */
const BUCKET_GROWTH = 1.02;
/** The smallest latency told apart from zero, ms. */
const FLOOR_MS = 0.005;
const LOG_GROWTH = Math.log(BUCKET_GROWTH);

/** The serialisable form of a {@link LatencyHistogram}: sparse bucket counts and the exact extremes. */
export interface HistogramData {
  buckets: Record<string, number>;
  count: number;
  min: number;
  max: number;
}

/**
 * Latencies in log-spaced buckets (2% wide, so quantiles are good to 1%). Constant memory whatever the
 * message rate, and histograms from several processes merge by adding counts.
 */
export class LatencyHistogram {
  readonly #buckets = new Map<number, number>();
  #count = 0;
  #min = Infinity;
  #max = 0;

  static from(data: HistogramData): LatencyHistogram {
    const histogram = new LatencyHistogram();
    histogram.merge(data);
    return histogram;
  }

  get count(): number {
    return this.#count;
  }

  get max(): number {
    return this.#count === 0 ? NaN : this.#max;
  }

  record(ms: number): void {
    const value = Math.max(0, ms);
    const index = value <= FLOOR_MS ? 0 : Math.ceil(Math.log(value / FLOOR_MS) / LOG_GROWTH);
    this.#buckets.set(index, (this.#buckets.get(index) ?? 0) + 1);
    this.#count++;
    if (value < this.#min) this.#min = value;
    if (value > this.#max) this.#max = value;
  }

  merge(data: HistogramData): void {
    for (const [key, n] of Object.entries(data.buckets)) {
      const index = Number(key);
      this.#buckets.set(index, (this.#buckets.get(index) ?? 0) + n);
    }
    this.#count += data.count;
    if (data.count > 0) {
      this.#min = Math.min(this.#min, data.min);
      this.#max = Math.max(this.#max, data.max);
    }
  }

  /** The latency below which a share `q` (0–1) of the samples fall; NaN without samples. */
  quantile(q: number): number {
    if (this.#count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (const index of [...this.#buckets.keys()].sort((a, b) => a - b)) {
      seen += this.#buckets.get(index)!;
      if (seen >= rank) {
        // The bucket's upper bound, clamped to what was actually seen.
        const upper = index === 0 ? FLOOR_MS : FLOOR_MS * BUCKET_GROWTH ** index;
        return Math.min(this.#max, Math.max(this.#min, upper));
      }
    }
    return this.#max;
  }

  toJSON(): HistogramData {
    return {
      buckets: Object.fromEntries([...this.#buckets].map(([index, n]) => [String(index), n])),
      count: this.#count,
      min: this.#count === 0 ? 0 : this.#min,
      max: this.#max,
    };
  }
}

/** The median of several runs and how far they spread. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** How many runs gave a number. */
  runs: number;
}

/** Median, min and max of the finite values; NaN fields when there are none. */
export function spread(values: readonly number[]): Spread {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return { median: NaN, min: NaN, max: NaN, runs: 0 };
  const mid = finite.length >> 1;
  const median = finite.length % 2 === 1 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2;
  return { median, min: finite[0]!, max: finite.at(-1)!, runs: finite.length };
}

/** `a / b` of two medians, NaN when either is missing or b is 0. */
export function ratio(a: Spread | number, b: Spread | number): number {
  const x = typeof a === 'number' ? a : a.median;
  const y = typeof b === 'number' ? b : b.median;
  return Number.isFinite(x) && Number.isFinite(y) && y !== 0 ? x / y : NaN;
}
