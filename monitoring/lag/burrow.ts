/**
 * Burrow's consumer-lag evaluation (linkedin/Burrow, wiki "Consumer-Lag-Evaluation-Rules"), pure: a sliding
 * window of commits per partition in, a status out. No thresholds: the window says whether the consumer keeps up.
 *
 * Partition rules, applied in this order exactly as ../../../shared/STREAMS-NOTES.md §3 lists them:
 *   1. the current lag is 0, or some commit in the window had lag 0        → OK (it caught up recently)
 *   2. an offset decreased between consecutive commits                     → REWIND
 *   3. now − last commit time > last commit time − first commit time       → STOP (it stopped committing)
 *   4. every commit in the window has the same offset                      → STALL (commits, no progress)
 *   5. the lag never decreased between consecutive commits                 → WARN (falling behind)
 *   6. otherwise                                                           → OK
 * That is the order of Burrow's earlier core/internal/evaluator/caching.go. Later Burrow checks STOP first,
 * unless its broker-offset ring shows the lag was zero recently (checkIfRecentLagZero); here a partition whose
 * window still holds a zero-lag commit stays OK even if it stopped, until that commit leaves the window.
 * A partition whose window holds no commit cannot be judged and is NOTFOUND. Rules 4 and 5 hold vacuously
 * for a window of one commit, as in Burrow: one commit with lag, judged at once, is STALL.
 *
 * Group status: the worst partition status in Burrow's enum order (NOTFOUND < OK < WARN < ERR < STOP < STALL <
 * REWIND), capped at ERR: a group is NOTFOUND, OK, WARN or ERR.
 */

export type PartitionStatus = 'NOTFOUND' | 'OK' | 'WARN' | 'STOP' | 'STALL' | 'REWIND';
export type GroupStatus = 'NOTFOUND' | 'OK' | 'WARN' | 'ERR';
export type BurrowStatus = PartitionStatus | GroupStatus;

/** Burrow's StatusConstant order; the index is the value exported in `kafka_consumer_*_status` metrics. */
export const statusOrder: readonly BurrowStatus[] = ['NOTFOUND', 'OK', 'WARN', 'ERR', 'STOP', 'STALL', 'REWIND'];

export function statusCode(status: BurrowStatus): number {
  return statusOrder.indexOf(status);
}

/** One commit as the window keeps it: the offset, the broker's commit time (ms) and the lag when it arrived. */
export interface CommitEntry {
  offset: number;
  timestamp: number;
  /** High watermark at receipt minus offset, clamped at 0. */
  lag: number;
}

function pairs<T>(items: readonly T[]): [T, T][] {
  return items.slice(1).map((item, i) => [items[i]!, item]);
}

export function evaluatePartition(window: readonly CommitEntry[], currentLag: number, now: number): PartitionStatus {
  if (currentLag <= 0 || window.some((entry) => entry.lag === 0)) return 'OK';
  const first = window[0];
  const last = window.at(-1);
  if (!first || !last) return 'NOTFOUND';
  if (pairs(window).some(([a, b]) => b.offset < a.offset)) return 'REWIND';
  if (now - last.timestamp > last.timestamp - first.timestamp) return 'STOP';
  if (window.every((entry) => entry.offset === first.offset)) return 'STALL';
  if (pairs(window).every(([a, b]) => b.lag >= a.lag)) return 'WARN';
  return 'OK';
}

export function evaluateGroup(statuses: readonly PartitionStatus[]): GroupStatus {
  let worst = 0;
  for (const status of statuses) worst = Math.max(worst, statusCode(status));
  return statusOrder[Math.min(worst, statusCode('ERR'))] as GroupStatus;
}

/**
 * A partition's sliding window: the last `size` commits (Burrow's `intervals`, default 10). A commit less than
 * `minDistanceMs` after the previous one replaces it instead of taking a slot (Burrow's `min-distance`, default
 * 1 s), so a consumer committing every few milliseconds does not shrink the window to a blink — and with it
 * the span rule 3 compares against.
 */
export class CommitWindow {
  readonly #entries: CommitEntry[] = [];

  constructor(
    readonly size: number,
    readonly minDistanceMs: number,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`window size must be a positive integer, got ${size}`);
    if (!(minDistanceMs >= 0)) throw new Error(`minimum commit distance must be >= 0 ms, got ${minDistanceMs}`);
  }

  /** Adds a commit (offset, broker time) that arrived while the partition's high watermark was `highWatermark`. */
  add(offset: number, timestamp: number, highWatermark: number): void {
    const entry: CommitEntry = { offset, timestamp, lag: Math.max(0, highWatermark - offset) };
    const last = this.#entries.at(-1);
    if (last && timestamp - last.timestamp < this.minDistanceMs) {
      this.#entries[this.#entries.length - 1] = entry;
      return;
    }
    this.#entries.push(entry);
    if (this.#entries.length > this.size) this.#entries.shift();
  }

  entries(): readonly CommitEntry[] {
    return this.#entries;
  }

  get complete(): boolean {
    return this.#entries.length >= this.size;
  }
}
