/** The public API of state/: what topology/ and processors/ may use. Everything else is internal. */
export type { BytesStore, KeyValue, KeyValueStore, RangeQuery } from './types.ts';
export { StoreCorruptError, StoreError, StoreLockedError, type StoreErrorCode } from './errors.ts';
export { MemoryBytesStore } from './memory-bytes-store.ts';
export { openRocksDbStore, RocksDbBytesStore, type RocksDbStoreOptions } from './rocksdb-bytes-store.ts';
export {
  checkpointPath,
  readCheckpoint,
  removeCheckpoint,
  writeCheckpoint,
  type ChangelogOffsets,
  type CheckpointRead,
} from './checkpoint.ts';
export { noCheckpoint, TaskStore, type ChangelogRecord, type Checkpointer, type StoreLifecycle } from './task-store.ts';
export { TypedStore, type TaskKeyValueStore } from './typed-store.ts';
export { MeteredStore, type StoreMetrics, type StoreOperation } from './metered-store.ts';
export { openStore, storeChangelogTopic, storeDirectory, type OpenedStore, type OpenStoreOptions } from './open.ts';
