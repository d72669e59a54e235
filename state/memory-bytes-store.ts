/**
 * The in-memory BytesStore: what `kind: 'memory'` stores and most tests run on. It holds nothing across a
 * restart, so such stores always restore from changelog offset 0.
 *
 * A Map gives O(1) get; a sorted array of keys (latin1 strings, see keys.ts) gives range scans by binary
 * search. Small batches splice keys into the array in place; a batch that adds or removes many keys instead
 * drops the array and re-sorts once on the next range, so bulk loads (restoration) stay O(n log n).
 */
import { StoreError } from './errors.ts';
import { checkRangeQuery, keyString, lowerBound } from './keys.ts';
import type { BytesStore, KeyValue, RangeQuery } from './types.ts';

/** Above this many inserted plus removed keys in one batch, re-sorting later beats splicing now. */
const spliceKeysMax = 64;

export class MemoryBytesStore implements BytesStore {
  /** Entries are replaced, never mutated, so a range can hand out the objects it captured. */
  private readonly entries = new Map<string, KeyValue<Buffer, Buffer>>();
  /** Ascending keys, or undefined until the next range needs them. */
  private sorted: string[] | undefined = [];
  private closed = false;

  constructor(readonly name: string) {}

  async get(key: Buffer): Promise<Buffer | undefined> {
    this.checkOpen();
    return this.entries.get(keyString(key))?.value;
  }

  /**
   * Snapshot semantics, like a RocksDB iterator: the entries in range are captured when the scan starts, so
   * writes during the iteration (a flush, say) neither show up in it nor shift it.
   */
  range(query: RangeQuery<Buffer> = {}): AsyncIterable<KeyValue<Buffer, Buffer>> {
    this.checkOpen();
    checkRangeQuery(query);
    const sorted = this.sortedKeys();
    const lo = query.from === undefined ? 0 : lowerBound(sorted, keyString(query.from));
    const hi = query.to === undefined ? sorted.length : lowerBound(sorted, keyString(query.to));
    const count = Math.max(0, Math.min(hi - lo, query.limit ?? Number.POSITIVE_INFINITY));
    const keys = query.reverse ? sorted.slice(hi - count, hi).reverse() : sorted.slice(lo, lo + count);
    const snapshot = keys.map((key) => this.entries.get(key)!);
    return (async function* () {
      yield* snapshot;
    })();
  }

  /**
   * Atomic: every entry is checked before anything changes, and applying cannot fail halfway. Entries apply
   * in order, so a later write to the same key wins. Buffers are copied: the caller may reuse its own.
   */
  async write(batch: readonly { key: Buffer; value: Buffer | null }[]): Promise<void> {
    this.checkOpen();
    for (const { key, value } of batch) {
      if (!Buffer.isBuffer(key)) throw new TypeError(`store ${this.name}: a key must be a Buffer`);
      if (value !== null && !Buffer.isBuffer(value)) {
        throw new TypeError(`store ${this.name}: a value must be a Buffer or null`);
      }
    }
    const added: string[] = [];
    const removed: string[] = [];
    for (const { key, value } of batch) {
      const k = keyString(key);
      const existed = this.entries.has(k);
      if (value === null) {
        if (existed && this.entries.delete(k)) removed.push(k);
      } else {
        this.entries.set(k, { key: Buffer.from(key), value: Buffer.from(value) });
        if (!existed) added.push(k);
      }
    }
    this.updateSorted(added, removed);
  }

  async approximateSize(): Promise<number> {
    this.checkOpen();
    return this.entries.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.entries.clear();
    this.sorted = [];
  }

  private updateSorted(added: string[], removed: string[]): void {
    if (this.sorted === undefined || added.length + removed.length === 0) return;
    if (added.length + removed.length > spliceKeysMax) {
      this.sorted = undefined;
      return;
    }
    // A key both added and removed in one batch appears in both lists; it must end up absent, as in the map.
    for (const k of added) this.sorted.splice(lowerBound(this.sorted, k), 0, k);
    for (const k of removed) {
      const at = lowerBound(this.sorted, k);
      if (this.sorted[at] === k) this.sorted.splice(at, 1);
    }
  }

  private sortedKeys(): string[] {
    // Default sort compares UTF-16 code units: byte order for latin1 keys.
    this.sorted ??= [...this.entries.keys()].sort();
    return this.sorted;
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreError('STORE_CLOSED', `store ${this.name} is closed`, false);
  }
}
