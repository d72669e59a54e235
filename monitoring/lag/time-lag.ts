/**
 * Lag in seconds without reading a single payload, as kafka-lag-exporter estimates it (README "Estimate Consumer
 * Group Time Lag"): every poll stores the partition's high watermark with the wall time it was seen, in a
 * bounded lookup table; the committed offset's produce time is interpolated between the two points around it
 * (or extrapolated from the first and last points when it is older than the table), and the lag in seconds is
 * now minus that estimate. A consumer at or past the newest point has no lag.
 *
 * Flat stretches (no new records between polls) keep only their first and latest point: the first says when
 * the offset was reached, which is what interpolation needs; the latest keeps the table's time span current.
 * Without that, a quiet topic would fill the table with copies of one offset and push the history out.
 */

export interface OffsetPoint {
  offset: number;
  /** Wall time (ms) the high watermark was seen at `offset`. */
  time: number;
}

export class LookupTable {
  readonly #points: OffsetPoint[] = [];

  /** `size` points at most (kafka-lag-exporter's default is 60: 30 minutes at a 30 s poll). */
  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 2) throw new Error(`lookup table size must be an integer >= 2, got ${size}`);
  }

  points(): readonly OffsetPoint[] {
    return this.#points;
  }

  add(offset: number, time: number): void {
    const last = this.#points.at(-1);
    if (last && time < last.time) return; // out of order (a slow poll finishing late): the newer point stands
    if (last && offset < last.offset) this.#points.length = 0; // the partition was truncated or recreated
    const [a, b] = this.#points.slice(-2);
    if (a && b && a.offset === offset && b.offset === offset) {
      b.time = time;
      return;
    }
    this.#points.push({ offset, time });
    if (this.#points.length > this.size) this.#points.shift();
  }

  /** Estimated wall time (ms) at which the log reached `offset`; undefined for an empty table. */
  estimateTime(offset: number): number | undefined {
    const points = this.#points;
    const first = points[0];
    const last = points.at(-1);
    if (!first || !last) return undefined;
    if (offset >= last.offset) return last.time;
    if (offset < first.offset) {
      // Older than the table: extend the average rate of the whole table backwards. With no rate to go by (one
      // point, or nothing produced across the table) the first point's time is the best bound there is.
      if (last.offset === first.offset || last.time === first.time) return first.time;
      const rate = (last.offset - first.offset) / (last.time - first.time);
      return first.time - (first.offset - offset) / rate;
    }
    for (let i = points.length - 1; i > 0; i--) {
      const lower = points[i - 1]!;
      const upper = points[i]!;
      if (lower.offset <= offset && offset < upper.offset) {
        return lower.time + ((offset - lower.offset) / (upper.offset - lower.offset)) * (upper.time - lower.time);
      }
    }
    return first.time; // unreachable: first.offset <= offset < last.offset always falls in some segment
  }

  /**
   * Seconds the consumer at `committed` is behind at `now`: 0 when it has consumed everything the table knows
   * of; undefined when the table is empty (nothing to estimate from). Never negative.
   */
  lagSeconds(committed: number, now: number): number | undefined {
    const last = this.#points.at(-1);
    if (!last) return undefined;
    if (committed >= last.offset) return 0;
    const produced = this.estimateTime(committed)!;
    return Math.max(0, (now - produced) / 1000);
  }
}
