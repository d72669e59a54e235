/**
 * The metered layer, outermost (STYLE.md §12: metrics at the edges). It reports every operation's duration
 * through an injected callback, so state/ does not depend on prom-client: monitoring/ turns the calls into a
 * counter (one call = one operation) and a latency histogram per operation and store.
 */
import { performance } from 'node:perf_hooks';
import type { ChangelogOffsets } from './checkpoint.ts';
import type { ChangelogRecord } from './task-store.ts';
import type { TaskKeyValueStore } from './typed-store.ts';
import type { KeyValue, RangeQuery } from './types.ts';

export type StoreOperation = 'get' | 'put' | 'delete' | 'range' | 'flush' | 'restore';

export interface StoreMetrics {
  /** One completed (or failed) operation on `store`, which took `seconds`. */
  record(operation: StoreOperation, store: string, seconds: number): void;
}

export class MeteredStore<K, V> implements TaskKeyValueStore<K, V> {
  constructor(
    private readonly inner: TaskKeyValueStore<K, V>,
    private readonly metrics: StoreMetrics,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  async get(key: K): Promise<V | undefined> {
    const start = performance.now();
    try {
      return await this.inner.get(key);
    } finally {
      this.record('get', start);
    }
  }

  put(key: K, value: V): void {
    const start = performance.now();
    try {
      this.inner.put(key, value);
    } finally {
      this.record('put', start);
    }
  }

  delete(key: K): void {
    const start = performance.now();
    try {
      this.inner.delete(key);
    } finally {
      this.record('delete', start);
    }
  }

  /** Timed from the first pull until the scan ends (exhausted, failed, or left early by the consumer). */
  async *range(query?: RangeQuery<K>): AsyncGenerator<KeyValue<K, V>> {
    const start = performance.now();
    try {
      yield* this.inner.range(query);
    } finally {
      this.record('range', start);
    }
  }

  approximateSize(): Promise<number> {
    return this.inner.approximateSize();
  }

  pendingChangelog(): ChangelogRecord[] {
    return this.inner.pendingChangelog();
  }

  async flush(offsets: ChangelogOffsets): Promise<void> {
    const start = performance.now();
    try {
      await this.inner.flush(offsets);
    } finally {
      this.record('flush', start);
    }
  }

  discard(): void {
    this.inner.discard();
  }

  async restore(records: readonly ChangelogRecord[]): Promise<void> {
    const start = performance.now();
    try {
      await this.inner.restore(records);
    } finally {
      this.record('restore', start);
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private record(operation: StoreOperation, startMs: number): void {
    this.metrics.record(operation, this.inner.name, (performance.now() - startMs) / 1000);
  }
}
