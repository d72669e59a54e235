/**
 * The RocksDB BytesStore (@nxtedition/rocksdb; the `rocksdb` package is archived), with buffer encodings set
 * once at construction so no call pays for per-call encoding options.
 */
import { RocksLevel } from '@nxtedition/rocksdb';
import { StoreCorruptError, StoreError, StoreLockedError } from './errors.ts';
import { checkRangeQuery } from './keys.ts';
import type { BytesStore, KeyValue, RangeQuery } from './types.ts';

export interface RocksDbStoreOptions {
  /**
   * fsync RocksDB's write-ahead log on every `write` (default true). The task store writes the checkpoint
   * right after a batch; without the sync, a power loss could take back writes the checkpoint already counts
   * as applied, and restoring from the checkpoint would never bring them back. One fsync per batch (per
   * commit, per restore batch), never per put. Turning it off is only safe where losing the machine means
   * losing the state directory too.
   */
  sync?: boolean;
}

/** Entries fetched from the native iterator per round trip during a range scan. */
const rangeBatchEntries = 256;

type Db = RocksLevel<Buffer, Buffer>;

/**
 * Opens (creating if missing) the database in `dir`. A database that cannot be opened as it is surfaces as a
 * StoreCorruptError (not retriable: wipe `dir` and rebuild from the changelog); a LOCK held by another
 * handle surfaces as a StoreLockedError (retriable, and the directory must NOT be wiped: someone uses it).
 */
export async function openRocksDbStore(
  dir: string,
  name: string,
  options: RocksDbStoreOptions = {},
): Promise<RocksDbBytesStore> {
  const db: Db = new RocksLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  try {
    await db.open({ createIfMissing: true });
  } catch (error) {
    throw openError(dir, error);
  }
  return new RocksDbBytesStore(name, dir, db, options.sync ?? true);
}

export class RocksDbBytesStore implements BytesStore {
  private closed = false;

  constructor(
    readonly name: string,
    readonly path: string,
    private readonly db: Db,
    private readonly sync: boolean,
  ) {}

  async get(key: Buffer): Promise<Buffer | undefined> {
    this.checkOpen();
    try {
      // getMany reports a missing key as undefined; get would build and throw an Error for every miss.
      const [value] = await this.db.getMany([key]);
      return value;
    } catch (error) {
      throw this.wrap(error);
    }
  }

  async *range(query: RangeQuery<Buffer> = {}): AsyncGenerator<KeyValue<Buffer, Buffer>> {
    this.checkOpen();
    checkRangeQuery(query);
    if (query.limit === 0) return;
    const iterator = this.db.iterator({
      ...(query.from !== undefined && { gte: query.from }),
      ...(query.to !== undefined && { lt: query.to }),
      ...(query.reverse !== undefined && { reverse: query.reverse }),
      ...(query.limit !== undefined && { limit: query.limit }),
    });
    try {
      for (;;) {
        let entries: [Buffer, Buffer][];
        try {
          entries = await iterator.nextv(rangeBatchEntries);
        } catch (error) {
          throw this.wrap(error);
        }
        if (entries.length === 0) return;
        for (const [key, value] of entries) yield { key, value };
      }
    } finally {
      // Runs on exhaustion, on error and when the consumer breaks out early: native iterators pin memory.
      await iterator.close();
    }
  }

  /** Atomic (one RocksDB WriteBatch); in order, so a later write to the same key wins. */
  async write(batch: readonly { key: Buffer; value: Buffer | null }[]): Promise<void> {
    this.checkOpen();
    if (batch.length === 0) return;
    const operations = batch.map(({ key, value }) =>
      value === null ? { type: 'del' as const, key } : { type: 'put' as const, key, value },
    );
    try {
      await this.db.batch(operations, { sync: this.sync });
    } catch (error) {
      throw this.wrap(error);
    }
  }

  /** RocksDB's own estimate (`rocksdb.estimate-num-keys`): cheap, and off by deletes not yet compacted. */
  async approximateSize(): Promise<number> {
    this.checkOpen();
    return Number(this.db.getProperty('rocksdb.estimate-num-keys'));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreError('STORE_CLOSED', `store ${this.name} is closed`, false);
  }

  /** Corruption found while reading (a bad block, say) is as fatal as corruption found at open. */
  private wrap(error: unknown): unknown {
    return causeCode(error) === 'LEVEL_CORRUPTION' || /^Corruption:/.test(errorMessage(error))
      ? new StoreCorruptError(this.path, errorMessage(error), { cause: error })
      : error;
  }
}

function openError(dir: string, error: unknown): StoreError {
  // abstract-level wraps the native failure: code LEVEL_DATABASE_NOT_OPEN, the reason in `cause`.
  const code = causeCode(error);
  if (code === 'LEVEL_LOCKED') return new StoreLockedError(dir, { cause: error });
  return new StoreCorruptError(dir, errorMessage(error), { cause: error });
}

function causeCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  const code = cause?.code ?? (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The most specific message: the native cause's, when abstract-level wrapped one. */
function errorMessage(error: unknown): string {
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  const inner = cause instanceof Error ? cause : error;
  return inner instanceof Error ? inner.message : String(inner);
}
