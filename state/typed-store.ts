/**
 * The typed layer: KeyValueStore<K, V> over the task store, through the store's key and value serdes.
 *
 * Serialization must be synchronous here, by design. `put` and `delete` are synchronous (processors do not
 * await them), the dirty map orders keys by their serialized bytes, and the runtime collects
 * `pendingChangelog()` synchronously when it builds a transaction. So a serde whose `serialize` returns a
 * Promise is refused at the first write with SERDE_NOT_SYNC (not retriable: it is a wiring mistake), rather
 * than papering over it by keeping typed values pending and making the commit path async. Registry-backed
 * Avro serdes qualify once they return bytes synchronously from their schema-id cache (the Serde type allows
 * `Buffer | Promise<Buffer>` for exactly that); string, JSON and bytes serdes always do.
 * Deserialization may be async: `get` and `range` are async anyway.
 *
 * A value that serializes to `null` is a tombstone, as on a Kafka topic: `put(k, v)` then deletes `k`.
 * Range order is the byte order of the serialized keys (not the order of K, e.g. for numbers).
 */
import type { Serde } from '../schemas/serde.ts';
import { StoreError } from './errors.ts';
import type { ChangelogOffsets } from './checkpoint.ts';
import type { ChangelogRecord, StoreLifecycle, TaskStore } from './task-store.ts';
import type { KeyValue, KeyValueStore, RangeQuery } from './types.ts';

/** What the runtime holds per store and task: the processors' typed view plus the commit lifecycle. */
export interface TaskKeyValueStore<K, V> extends KeyValueStore<K, V>, StoreLifecycle {}

export class TypedStore<K, V> implements TaskKeyValueStore<K, V> {
  constructor(
    private readonly inner: TaskStore,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    /** The changelog topic: serdes name their registry subjects after it. */
    private readonly topic: string,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  async get(key: K): Promise<V | undefined> {
    const bytes = await this.inner.get(this.keyBytes(key));
    return bytes === undefined ? undefined : this.valueSerde.deserialize(this.topic, bytes);
  }

  put(key: K, value: V): void {
    const keyBytes = this.keyBytes(key);
    const valueBytes = this.serializeSync(this.valueSerde, value, 'value');
    if (valueBytes === null) this.inner.delete(keyBytes);
    else this.inner.put(keyBytes, valueBytes);
  }

  delete(key: K): void {
    this.inner.delete(this.keyBytes(key));
  }

  async *range(query: RangeQuery<K> = {}): AsyncGenerator<KeyValue<K, V>> {
    const bytesQuery: RangeQuery<Buffer> = {
      ...(query.from !== undefined && { from: this.keyBytes(query.from) }),
      ...(query.to !== undefined && { to: this.keyBytes(query.to) }),
      ...(query.reverse !== undefined && { reverse: query.reverse }),
      ...(query.limit !== undefined && { limit: query.limit }),
    };
    for await (const entry of this.inner.range(bytesQuery)) {
      yield {
        key: await this.keySerde.deserialize(this.topic, entry.key),
        value: await this.valueSerde.deserialize(this.topic, entry.value),
      };
    }
  }

  approximateSize(): Promise<number> {
    return this.inner.approximateSize();
  }

  pendingChangelog(): ChangelogRecord[] {
    return this.inner.pendingChangelog();
  }

  flush(offsets: ChangelogOffsets): Promise<void> {
    return this.inner.flush(offsets);
  }

  discard(): void {
    this.inner.discard();
  }

  restore(records: readonly ChangelogRecord[]): Promise<void> {
    return this.inner.restore(records);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private keyBytes(key: K): Buffer {
    const bytes = this.serializeSync(this.keySerde, key, 'key');
    if (bytes === null) throw new TypeError(`store ${this.name}: a key serialized to null`);
    return bytes;
  }

  private serializeSync<T>(serde: Serde<T>, value: T, what: 'key' | 'value'): Buffer | null {
    const bytes = serde.serialize(this.topic, value);
    if (isPromiseLike(bytes)) {
      // Refused below; its eventual outcome must not surface as an unhandled rejection.
      Promise.resolve(bytes).catch(() => {});
      throw new StoreError(
        'SERDE_NOT_SYNC',
        `store ${this.name}: the ${what} serde serialized asynchronously; store serdes must return bytes ` +
          'synchronously because put/delete and pendingChangelog() are synchronous',
        false,
      );
    }
    return bytes;
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
