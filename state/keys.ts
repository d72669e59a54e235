/**
 * Byte-ordered keys, shared by the in-memory store and the task store's dirty map.
 *
 * A Buffer is mapped to a `latin1` string (one char per byte, codes 0..255) to serve as a Map key. JavaScript
 * compares strings by UTF-16 code unit, so comparing these strings gives exactly `Buffer.compare`'s order
 * (bytes unsigned, a proper prefix first), and it is much cheaper than Buffer.compare in a sort.
 */
import type { KeyValue, RangeQuery } from './types.ts';

export function keyString(key: Buffer): string {
  return key.toString('latin1');
}

/** Index of the first element of `sorted` (ascending) that is >= `key`. */
export function lowerBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Rejects nonsense early, with a message, rather than returning a silently empty or unbounded scan. */
export function checkRangeQuery(query: RangeQuery<Buffer>): void {
  const { limit } = query;
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) {
    throw new RangeError(`range limit must be a non-negative integer, got ${String(limit)}`);
  }
}

/** One buffered write: a value, or `null` for a delete (a tombstone in the changelog). */
export interface Overlay {
  key: Buffer;
  value: Buffer | null;
}

/**
 * Merges `overlay` (already in iteration order, restricted to the query's bounds) over `inner` (a range in the
 * same order): an overlay entry replaces the inner entry with the same key, a `null` hides it. Stops after
 * `limit` results; leaving the loop early closes `inner` (for RocksDB, its native iterator).
 */
export async function* mergeOverlay(
  overlay: readonly Overlay[],
  inner: AsyncIterable<KeyValue<Buffer, Buffer>>,
  reverse: boolean,
  limit: number | undefined,
): AsyncGenerator<KeyValue<Buffer, Buffer>> {
  let remaining = limit ?? Number.POSITIVE_INFINITY;
  if (remaining <= 0) return;
  const direction = reverse ? -1 : 1;
  let i = 0;
  for await (const entry of inner) {
    // Overlay keys strictly before this inner key come first.
    while (i < overlay.length && direction * Buffer.compare(overlay[i]!.key, entry.key) < 0) {
      const { key, value } = overlay[i++]!;
      if (value !== null) {
        yield { key, value };
        if (--remaining === 0) return;
      }
    }
    let next: KeyValue<Buffer, Buffer> | undefined = entry;
    if (i < overlay.length && overlay[i]!.key.equals(entry.key)) {
      const { key, value } = overlay[i++]!;
      next = value === null ? undefined : { key, value };
    }
    if (next !== undefined) {
      yield next;
      if (--remaining === 0) return;
    }
  }
  for (; i < overlay.length; i++) {
    const { key, value } = overlay[i]!;
    if (value !== null) {
      yield { key, value };
      if (--remaining === 0) return;
    }
  }
}
