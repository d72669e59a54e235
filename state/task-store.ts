/**
 * The per-task store: caching and changelogging over a BytesStore, in one layer.
 *
 * Why writes wait in a dirty map until the task commits (exactly-once):
 * - The task's changelog records, its output records and its input offsets commit in ONE Kafka transaction.
 *   A local store that took writes before that commit would, after a crash before it, hold state the
 *   changelog (the source of truth, read `read_committed`) never had; the rebuilt replica would disagree
 *   with the one that crashed. So `put`/`delete` only touch the dirty map; `pendingChangelog()` hands its
 *   entries to the transaction; `flush()` moves them into the inner store only after the commit succeeded;
 *   `discard()` drops them after an abort.
 * - A crash between the commit and the flush (or between the batch and the checkpoint) loses nothing: the
 *   checkpoint still names the older offset, so restoration replays the changelog from there. Replays are
 *   idempotent because changelog records carry absolute values (the key's whole new value, or a tombstone),
 *   never deltas: applying a record twice leaves what applying it once did.
 *
 * Why one layer and not Kafka Streams' separate caching and changelogging layers: under exactly-once the
 * records to log are exactly the dirty entries (last write per key wins, which is also what compaction
 * keeps), so one map serves both and nothing is logged twice.
 *
 * Buffers passed to `put` are kept as they are until the flush: do not mutate them afterwards.
 */
import type { ChangelogOffsets } from './checkpoint.ts';
import { StoreError } from './errors.ts';
import { checkRangeQuery, keyString, mergeOverlay, type Overlay } from './keys.ts';
import type { BytesStore, KeyValue, KeyValueStore, RangeQuery } from './types.ts';

/** One changelog record: the key's new value, or `null` (a tombstone). */
export interface ChangelogRecord {
  key: Buffer;
  value: Buffer | null;
}

/** What the runtime does with a task's store around its transactions and on assignment. */
export interface StoreLifecycle {
  /** The writes since the last flush or discard, one record per key (the last write wins). */
  pendingChangelog(): ChangelogRecord[];
  /**
   * Call only AFTER the transaction carrying `pendingChangelog()` committed: writes those entries to the
   * inner store in one atomic batch, then records `offsets` (merged over the previous checkpoint) as the
   * changelog position the store reflects (the checkpoint file is rewritten only when they change). Writes
   * made while the flush runs stay pending. If the batch fails, its entries stay pending too. One flush at a
   * time: a second call while one runs throws STORE_BUSY.
   */
  flush(offsets: ChangelogOffsets): Promise<void>;
  /** After an aborted transaction: forget the writes since the last flush. */
  discard(): void;
  /**
   * Applies changelog records straight to the inner store (a tombstone deletes). For restoration on
   * assignment, before processing; throws STORE_BUSY if writes are pending. Call `flush(offsets)` afterwards
   * to checkpoint how far the restore got.
   */
  restore(records: readonly ChangelogRecord[]): Promise<void>;
  /** Drops pending writes (they were never committed) and closes the inner store. */
  close(): Promise<void>;
}

/** The checkpoint sink of one store; a no-op for stores whose state does not outlive the process. */
export interface Checkpointer {
  write(offsets: ChangelogOffsets): Promise<void>;
}

export const noCheckpoint: Checkpointer = { write: async () => {} };

export class TaskStore implements KeyValueStore<Buffer, Buffer>, StoreLifecycle {
  private dirty = new Map<string, ChangelogRecord>();
  /** The batch a running flush is writing: still visible to reads until the inner store has it. */
  private flushing: Map<string, ChangelogRecord> | undefined;
  /** From the batch write to the checkpoint write included: one flush at a time. */
  private flushRunning = false;
  private flushDone: Promise<void> | undefined;
  private offsets: ChangelogOffsets;
  /** `offsets` moved on since the checkpoint was last written. */
  private checkpointStale = false;
  private closed = false;

  constructor(
    private readonly inner: BytesStore,
    private readonly checkpointer: Checkpointer = noCheckpoint,
    /** The checkpoint the store was opened with; later flushes merge over it. */
    offsets: ChangelogOffsets = {},
  ) {
    this.offsets = { ...offsets };
  }

  get name(): string {
    return this.inner.name;
  }

  async get(key: Buffer): Promise<Buffer | undefined> {
    this.checkOpen();
    const k = keyString(key);
    const pending = this.dirty.get(k) ?? this.flushing?.get(k);
    if (pending !== undefined) return pending.value ?? undefined;
    return this.inner.get(key);
  }

  put(key: Buffer, value: Buffer): void {
    this.checkOpen();
    this.dirty.set(keyString(key), { key, value });
  }

  delete(key: Buffer): void {
    this.checkOpen();
    this.dirty.set(keyString(key), { key, value: null });
  }

  range(query: RangeQuery<Buffer> = {}): AsyncIterable<KeyValue<Buffer, Buffer>> {
    this.checkOpen();
    checkRangeQuery(query);
    const overlay = this.overlay(query);
    const reverse = query.reverse ?? false;
    // Each overlay entry hides or replaces at most one inner entry, so this many inner entries suffice.
    const innerLimit = query.limit === undefined ? undefined : query.limit + overlay.length;
    const inner = this.inner.range({ ...query, limit: innerLimit });
    return mergeOverlay(overlay, inner, reverse, query.limit);
  }

  /** The inner store's estimate plus pending puts (which may overwrite existing keys: an upper bound). */
  async approximateSize(): Promise<number> {
    this.checkOpen();
    let puts = 0;
    for (const record of this.dirty.values()) if (record.value !== null) puts++;
    return (await this.inner.approximateSize()) + puts;
  }

  pendingChangelog(): ChangelogRecord[] {
    this.checkOpen();
    return [...this.dirty.values()];
  }

  async flush(offsets: ChangelogOffsets): Promise<void> {
    this.checkOpen();
    if (this.flushRunning) {
      throw new StoreError('STORE_BUSY', `store ${this.name}: flush called while another flush runs`, false);
    }
    this.flushRunning = true;
    // Take the committed batch now, synchronously: writes arriving while it is written belong to the
    // next transaction and must stay pending.
    const batch = this.dirty;
    this.dirty = new Map();
    this.flushing = batch;
    const done = this.writeBatch(batch, offsets).finally(() => {
      this.flushRunning = false;
    });
    this.flushDone = done.then(
      () => {},
      () => {},
    );
    await done;
  }

  discard(): void {
    this.checkOpen();
    this.dirty = new Map();
  }

  async restore(records: readonly ChangelogRecord[]): Promise<void> {
    this.checkOpen();
    if (this.dirty.size > 0 || this.flushRunning) {
      throw new StoreError('STORE_BUSY', `store ${this.name}: restore called with writes pending`, false);
    }
    await this.inner.write(records);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flushDone;
    this.dirty = new Map();
    await this.inner.close();
  }

  private async writeBatch(batch: Map<string, ChangelogRecord>, offsets: ChangelogOffsets): Promise<void> {
    try {
      if (batch.size > 0) await this.inner.write([...batch.values()]);
    } catch (error) {
      // Back under whatever was written meanwhile (newer writes win). The entries were already committed
      // to the changelog, so logging them again with the next transaction is harmless.
      for (const [k, record] of this.dirty) batch.set(k, record);
      this.dirty = batch;
      throw error;
    } finally {
      this.flushing = undefined;
    }
    const merged = { ...this.offsets, ...offsets };
    // The file depends only on the offsets: a batch that leaves them as they were needs no new file.
    if (!sameOffsets(merged, this.offsets)) this.checkpointStale = true;
    // The batch is in: the store reflects `merged` now, even if writing that down fails below (the next
    // flush then writes it). Never before the batch: a checkpoint must not claim more than the store holds.
    this.offsets = merged;
    if (this.checkpointStale) {
      await this.checkpointer.write(merged);
      this.checkpointStale = false;
    }
  }

  /** Pending entries within the query's bounds, in iteration order; the newest write of a key wins. */
  private overlay(query: RangeQuery<Buffer>): Overlay[] {
    const from = query.from === undefined ? undefined : keyString(query.from);
    const to = query.to === undefined ? undefined : keyString(query.to);
    const selected = new Map<string, Overlay>();
    for (const source of [this.flushing, this.dirty]) {
      if (source === undefined) continue;
      for (const [k, record] of source) {
        if ((from === undefined || k >= from) && (to === undefined || k < to)) selected.set(k, record);
      }
    }
    const keys = [...selected.keys()].sort();
    if (query.reverse) keys.reverse();
    return keys.map((k) => selected.get(k)!);
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreError('STORE_CLOSED', `store ${this.name} is closed`, false);
  }
}

function sameOffsets(a: ChangelogOffsets, b: ChangelogOffsets): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[Number(k)] === b[Number(k)]);
}
