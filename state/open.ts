/**
 * Opens one store of one task, layered as metered(typed(task store(rocksdb | memory))), and says where its
 * restoration must start.
 *
 * Layout: `<dir>/<application>/<taskId>/<store>/` holds the RocksDB database in `rocksdb/` and the checkpoint
 * file `.checkpoint` (checkpoint.ts) beside it.
 *
 * The local copy of a changelogged store is only a cache of its changelog, so whenever it cannot be trusted
 * it is wiped and rebuilt from offset 0 (`rebuilt: true`, with the reason):
 * - the database does not open (corrupt CURRENT/MANIFEST, bad files): StoreCorruptError;
 * - the checkpoint is damaged: we cannot know how far the store got;
 * - a database without a checkpoint (or the reverse): its contents are of unknown origin. Replaying from 0
 *   over it would not do, since a key whose tombstone compaction already removed would survive in it. (A
 *   fresh database gets an empty checkpoint at once, so a restart before the first flush is not this case.)
 * A locked database (StoreLockedError, retriable) is never wiped: another handle still uses it.
 * Stores with `changelog: false` have nothing to rebuild from; their checkpoint is not consulted, and a
 * corrupt database is still wiped (the data is lost, which `rebuilt` reports).
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Serde } from '../schemas/serde.ts';
import type { StoreSpec } from '../topology/model.ts';
import { readCheckpoint, writeCheckpoint, type ChangelogOffsets } from './checkpoint.ts';
import { StoreCorruptError } from './errors.ts';
import { MemoryBytesStore } from './memory-bytes-store.ts';
import { MeteredStore, type StoreMetrics } from './metered-store.ts';
import { openRocksDbStore, type RocksDbBytesStore } from './rocksdb-bytes-store.ts';
import { noCheckpoint, TaskStore, type Checkpointer } from './task-store.ts';
import { TypedStore, type TaskKeyValueStore } from './typed-store.ts';
import type { BytesStore } from './types.ts';

export interface OpenStoreOptions<K, V> {
  /** The state directory (Kafka Streams' state.dir). */
  dir: string;
  /** Names the directory level under `dir` and the changelog topic the serdes serialize for. */
  application: string;
  taskId: string;
  /** Must serialize synchronously (see typed-store.ts); may deserialize asynchronously. */
  keySerde: Serde<K>;
  valueSerde: Serde<V>;
  metrics?: StoreMetrics;
  /** The changelog partitions this task restores; each gets an explicit entry in `restoreFrom`. */
  changelogPartitions?: number[];
  /** fsync RocksDB writes (default true; see rocksdb-bytes-store.ts for why). */
  sync?: boolean;
}

export interface OpenedStore<K, V> {
  store: TaskKeyValueStore<K, V>;
  /** Changelog partition → first offset to restore from; a partition that is absent restores from 0. */
  restoreFrom: ChangelogOffsets;
  /** The local state was wiped (or there was none to trust) and must be rebuilt from the changelog. */
  rebuilt: boolean;
  /** Why it was wiped, for the log line. */
  reason?: string;
}

export function storeDirectory(dir: string, application: string, taskId: string, store: string): string {
  return join(dir, application, taskId, store);
}

/** Mirrors topology/model.ts `changelogTopicName` (state/ may not import topology/ code; a test pins it). */
export function storeChangelogTopic(application: string, store: string): string {
  return `${application}-${store}-changelog`;
}

export async function openStore<K, V>(spec: StoreSpec, options: OpenStoreOptions<K, V>): Promise<OpenedStore<K, V>> {
  const opened =
    spec.kind === 'memory'
      ? { inner: new MemoryBytesStore(spec.name), checkpointer: noCheckpoint, offsets: {}, rebuilt: false }
      : await openPersistent(spec, options);
  const task = new TaskStore(opened.inner, opened.checkpointer, opened.offsets);
  const typed = new TypedStore(
    task,
    options.keySerde,
    options.valueSerde,
    storeChangelogTopic(options.application, spec.name),
  );
  const store = options.metrics === undefined ? typed : new MeteredStore(typed, options.metrics);
  const restoreFrom: ChangelogOffsets = {};
  for (const partition of options.changelogPartitions ?? []) restoreFrom[partition] = 0;
  Object.assign(restoreFrom, opened.offsets);
  return {
    store,
    restoreFrom,
    rebuilt: opened.rebuilt,
    ...(opened.reason !== undefined && { reason: opened.reason }),
  };
}

interface Opened {
  inner: BytesStore;
  checkpointer: Checkpointer;
  offsets: ChangelogOffsets;
  rebuilt: boolean;
  reason?: string;
}

async function openPersistent<K, V>(spec: StoreSpec, options: OpenStoreOptions<K, V>): Promise<Opened> {
  const storeDir = storeDirectory(options.dir, options.application, options.taskId, spec.name);
  const dbDir = join(storeDir, 'rocksdb');
  await mkdir(storeDir, { recursive: true });
  const dbExisted = await exists(dbDir);
  let { offsets, reason } = spec.changelog ? await trustedOffsets(storeDir, dbExisted) : { offsets: {} };
  if (reason !== undefined) await wipe(storeDir);
  const rocksOptions = { sync: options.sync ?? true };
  let inner: RocksDbBytesStore;
  try {
    inner = await openRocksDbStore(dbDir, spec.name, rocksOptions);
  } catch (error) {
    if (!(error instanceof StoreCorruptError)) throw error;
    reason = error.message;
    offsets = {};
    await wipe(storeDir);
    inner = await openRocksDbStore(dbDir, spec.name, rocksOptions);
  }
  if (spec.changelog && (reason !== undefined || !dbExisted)) {
    // A fresh, empty database reflects the changelog up to offset 0: say so, so that a restart before the
    // first flush finds a database WITH a checkpoint and does not take it for one of unknown origin.
    await writeCheckpoint(storeDir, {});
  }
  const checkpointer: Checkpointer = spec.changelog
    ? { write: (next) => writeCheckpoint(storeDir, next) }
    : noCheckpoint;
  return { inner, checkpointer, offsets, rebuilt: reason !== undefined, ...(reason !== undefined && { reason }) };
}

/** The checkpoint's offsets if it can be trusted together with the database beside it; else why not. */
async function trustedOffsets(
  storeDir: string,
  dbExists: boolean,
): Promise<{ offsets: ChangelogOffsets; reason?: string }> {
  const checkpoint = await readCheckpoint(storeDir);
  if (!checkpoint.ok) return { offsets: {}, reason: `checkpoint unusable: ${checkpoint.reason}` };
  if (checkpoint.found && !dbExists) return { offsets: {}, reason: 'checkpoint without a database' };
  if (!checkpoint.found && dbExists) return { offsets: {}, reason: 'database without a checkpoint' };
  return { offsets: checkpoint.offsets };
}

async function wipe(storeDir: string): Promise<void> {
  await rm(storeDir, { recursive: true, force: true });
  await mkdir(storeDir, { recursive: true });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
