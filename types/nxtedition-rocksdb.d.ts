// @nxtedition/rocksdb ships no type declarations. This covers the abstract-level surface Parley uses;
// extend it here when a new method is needed, never with `any` at the call site.
// `RocksLevel<K, V>` is generic over the key and value types its encodings produce: the default (utf8) gives
// strings; `new RocksLevel<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' })` gives
// Buffers. The type parameters must match the encodings passed to the constructor; TypeScript cannot check that.
declare module '@nxtedition/rocksdb' {
  type Key = string | Buffer;
  type Value = string | Buffer;
  interface Encodings {
    keyEncoding?: 'utf8' | 'buffer';
    valueEncoding?: 'utf8' | 'buffer';
  }
  interface WriteOptions extends Encodings {
    /** fsync the write-ahead log before the write resolves (RocksDB WriteOptions.sync). */
    sync?: boolean;
  }
  interface RangeOptions extends Encodings {
    gt?: Key;
    gte?: Key;
    lt?: Key;
    lte?: Key;
    reverse?: boolean;
    limit?: number;
  }
  type BatchOperation = { type: 'put'; key: Key; value: Value } | { type: 'del'; key: Key };
  interface Iterator<K, V> extends AsyncIterable<[K, V]> {
    next(): Promise<[K, V] | undefined>;
    /** Up to `size` entries; an empty array once the iterator is exhausted. */
    nextv(size: number): Promise<[K, V][]>;
    all(): Promise<[K, V][]>;
    close(): Promise<void>;
  }
  export class RocksLevel<K extends Key = string, V extends Value = string> {
    constructor(location: string, options?: Encodings);
    static open(location: string, options?: Encodings): Promise<RocksLevel>;
    readonly status: 'opening' | 'open' | 'closing' | 'closed';
    readonly location: string;
    /**
     * Rejects with `code: 'LEVEL_DATABASE_NOT_OPEN'` and a `cause` whose `code` tells why: `LEVEL_CORRUPTION`
     * (e.g. a garbled CURRENT or MANIFEST), `LEVEL_LOCKED` (another handle holds the LOCK file), ...
     */
    open(options?: { createIfMissing?: boolean; errorIfExists?: boolean; readOnly?: boolean }): Promise<void>;
    close(): Promise<void>;
    /** Rejects with `code: 'LEVEL_NOT_FOUND'` when the key is absent. */
    get(key: Key, options?: Encodings): Promise<V>;
    /** `undefined` where a key is absent. */
    getMany(keys: Key[], options?: Encodings): Promise<(V | undefined)[]>;
    put(key: Key, value: Value, options?: WriteOptions): Promise<void>;
    del(key: Key, options?: WriteOptions): Promise<void>;
    batch(operations: BatchOperation[], options?: WriteOptions): Promise<void>;
    iterator(options?: RangeOptions): Iterator<K, V>;
    /** A RocksDB property such as `rocksdb.estimate-num-keys`, as a string; throws unless open. */
    getProperty(property: string): string;
  }
  export default RocksLevel;
}
