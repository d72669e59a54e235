// @nxtedition/rocksdb ships no type declarations. This covers the abstract-level surface Parley uses;
// extend it here when a new method is needed, never with `any` at the call site.
declare module '@nxtedition/rocksdb' {
  type Key = string | Buffer;
  type Value = string | Buffer;
  interface Encodings {
    keyEncoding?: 'utf8' | 'buffer';
    valueEncoding?: 'utf8' | 'buffer';
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
    all(): Promise<[K, V][]>;
    close(): Promise<void>;
  }
  export class RocksLevel {
    constructor(location: string, options?: Encodings);
    static open(location: string, options?: Encodings): Promise<RocksLevel>;
    readonly status: 'opening' | 'open' | 'closing' | 'closed';
    readonly location: string;
    open(options?: { createIfMissing?: boolean; errorIfExists?: boolean; readOnly?: boolean }): Promise<void>;
    close(): Promise<void>;
    /** Rejects with `code: 'LEVEL_NOT_FOUND'` when the key is absent. */
    get(key: Key, options?: Encodings): Promise<string>;
    put(key: Key, value: Value, options?: Encodings): Promise<void>;
    del(key: Key, options?: Encodings): Promise<void>;
    batch(operations: BatchOperation[], options?: Encodings): Promise<void>;
    iterator(options?: RangeOptions): Iterator<string, string>;
  }
  export default RocksLevel;
}
