/**
 * Store interfaces, after Kafka Streams' KeyValueStore: small interfaces composed in layers,
 * metered(caching(changelogging(rocksdb | memory))). Serdes and metrics belong to the outer layer only.
 */

export interface KeyValue<K, V> {
  key: K;
  value: V;
}

export interface RangeQuery<K> {
  /** Inclusive lower bound; undefined = from the first key. */
  from?: K;
  /** Exclusive upper bound; undefined = to the last key. */
  to?: K;
  reverse?: boolean;
  limit?: number;
}

/** What processors use. Writes are buffered per task and become durable at the task's commit. */
export interface KeyValueStore<K, V> {
  readonly name: string;
  get(key: K): Promise<V | undefined>;
  put(key: K, value: V): void;
  delete(key: K): void;
  /** Keys in byte order of their serialized form; sees this task's own uncommitted writes. */
  range(query?: RangeQuery<K>): AsyncIterable<KeyValue<K, V>>;
  /** Approximate number of entries, for metrics. */
  approximateSize(): Promise<number>;
}

/** The innermost layer: ordered bytes, written in atomic batches. Implemented by RocksDB and memory. */
export interface BytesStore {
  readonly name: string;
  get(key: Buffer): Promise<Buffer | undefined>;
  range(query: RangeQuery<Buffer>): AsyncIterable<KeyValue<Buffer, Buffer>>;
  /** Applies every operation or none (`value: null` deletes). */
  write(batch: readonly { key: Buffer; value: Buffer | null }[]): Promise<void>;
  approximateSize(): Promise<number>;
  close(): Promise<void>;
}
