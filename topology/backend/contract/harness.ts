/**
 * What the backend contract tests share: unique names, topic specs, a wake-up signal to wait on observable events
 * (never on fixed sleeps), a bounded poll for state that is asynchronous by design, and a consumer-group collector
 * that records deliveries and ownership and flags contract violations as they happen.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { TopicSpec } from '../../model.ts';
import type { Backend, BackendRecord, GroupHandler, GroupMember, RecordBatch, TopicPartition } from '../types.ts';

export interface ContractContext {
  backend: Backend;
  signal: Signal;
  /** Bound for every wait; a timeout fails the test with the state it waited on. */
  waitMs: number;
  /** A name no other test (or run) uses, so tests share a broker without seeing each other's data. */
  name(prefix: string): string;
}

export function uniqueName(prefix: string): string {
  return `contract-${prefix}-${randomUUID().slice(0, 8)}`;
}

export function topicSpec(name: string, partitions: number, compacted = false): TopicSpec {
  return {
    name,
    partitions,
    replicationFactor: 1,
    key: { type: 'bytes' },
    value: { type: 'bytes' },
    compacted,
    internal: false,
    config: {},
  };
}

export const buf = (text: string): Buffer => Buffer.from(text);
export const text = (record: BackendRecord): string => record.value?.toString() ?? '<null>';
export const tpKey = (tp: TopicPartition): string => `${tp.topic}/${tp.partition}`;

/** Wakes waiters whenever something they might wait for happened; each waiter re-checks its own condition. */
export class Signal {
  readonly #waiters = new Set<() => void>();

  notify(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  until(what: string, check: () => boolean, state: () => unknown, timeoutMs: number): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = (): void => {
        if (!check()) return;
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; state: ${JSON.stringify(state())}`));
      }, timeoutMs);
      this.#waiters.add(wake);
    });
  }
}

/**
 * Polls until `accept` takes the value. Only for what becomes visible asynchronously by design: Kafka writes
 * transaction markers, and so offsets committed in a transaction, after EndTxn returns.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Asserts the error is the contract's fencing error: code PRODUCER_FENCED, not retriable. */
export function isFenced(error: unknown): boolean {
  const { code, retriable } = error as { code?: unknown; retriable?: unknown };
  assert.equal(code, 'PRODUCER_FENCED', `expected a fencing error, got ${String(error)}`);
  assert.equal(retriable, false, 'a fencing error is not retriable');
  return true;
}

export interface CollectOptions {
  groupId: string;
  topics: string[];
  readCommitted: boolean;
  /** Names this member in `journal` entries. */
  label?: string;
  /** Shared, ordered log of callbacks across members: `<label> assigned|revoked <topic>/<partition>`. */
  journal?: string[];
  /** Runs inside onAssigned before the partitions count as owned. */
  beforeAssigned?: (partitions: TopicPartition[]) => Promise<void>;
  /** Runs inside onBatch after the batch was recorded; may throw to test error handling. */
  inBatch?: (batch: RecordBatch) => Promise<void>;
}

/** A group member that records what it was given; every test asserts `violations` stays empty. */
export class Collector {
  member!: GroupMember;
  readonly records: BackendRecord[] = [];
  batches = 0;
  readonly owned = new Map<string, TopicPartition>();
  readonly violations: string[] = [];
  readonly errors: unknown[] = [];
  readonly #ctx: ContractContext;
  readonly #options: CollectOptions;
  readonly #label: string;
  /** Last offset delivered per partition since its latest onAssigned: a new assignment may restart earlier. */
  readonly #last = new Map<string, number>();

  constructor(ctx: ContractContext, options: CollectOptions) {
    this.#ctx = ctx;
    this.#options = options;
    this.#label = options.label ?? options.groupId;
  }

  values(topic: string, partition: number): string[] {
    return this.records.filter((r) => r.topic === topic && r.partition === partition).map(text);
  }

  offsets(topic: string, partition: number): number[] {
    return this.records.filter((r) => r.topic === topic && r.partition === partition).map((r) => r.offset);
  }

  until(what: string, check: (c: Collector) => boolean): Promise<void> {
    return this.#ctx.signal.until(
      `${this.#label}: ${what}`,
      () => check(this),
      () => this.summary(),
      this.#ctx.waitMs,
    );
  }

  summary(): unknown {
    return {
      owned: [...this.owned.keys()],
      records: this.records.map((r) => `${r.topic}/${r.partition}@${r.offset}=${text(r)}`).slice(-20),
      violations: this.violations,
      errors: this.errors.map(String),
    };
  }

  #check(ok: boolean, violation: string): void {
    if (!ok) this.violations.push(violation);
  }

  #note(event: string, partitions: TopicPartition[]): void {
    for (const tp of partitions) this.#options.journal?.push(`${this.#label} ${event} ${tpKey(tp)}`);
    this.#ctx.signal.notify();
  }

  handler(): GroupHandler {
    return {
      onAssigned: async (partitions) => {
        for (const tp of partitions) this.#check(!this.owned.has(tpKey(tp)), `assigned twice: ${tpKey(tp)}`);
        await this.#options.beforeAssigned?.(partitions);
        for (const tp of partitions) {
          this.owned.set(tpKey(tp), tp);
          this.#last.delete(tpKey(tp));
        }
        this.#note('assigned', partitions);
      },
      onRevoked: async (partitions) => {
        for (const tp of partitions) this.#check(this.owned.delete(tpKey(tp)), `revoked, not owned: ${tpKey(tp)}`);
        this.#note('revoked', partitions);
      },
      onBatch: async (batch) => {
        this.#record(batch);
        this.#ctx.signal.notify();
        await this.#options.inBatch?.(batch);
      },
      onError: (error) => {
        this.errors.push(error);
        this.#ctx.signal.notify();
      },
    };
  }

  #record(batch: RecordBatch): void {
    const key = tpKey(batch);
    this.batches++;
    this.#check(this.owned.has(key), `batch for ${key} before onAssigned resolved or after onRevoked`);
    this.#check(batch.records.length > 0, `empty batch for ${key}`);
    let previous = this.#last.get(key) ?? -1;
    for (const record of batch.records) {
      this.#check(record.topic === batch.topic && record.partition === batch.partition, `foreign record in ${key}`);
      this.#check(record.offset > previous, `${key}: offset ${record.offset} after ${previous} (order/duplicate)`);
      previous = record.offset;
      this.records.push(record);
    }
    this.#last.set(key, previous);
    this.#check(batch.highWatermark > previous, `${key}: highWatermark ${batch.highWatermark} <= offset ${previous}`);
  }
}

/** Joins a group (from the beginning, session timeout 10 s) with a collecting handler. */
export async function collect(ctx: ContractContext, options: CollectOptions): Promise<Collector> {
  const collector = new Collector(ctx, options);
  collector.member = await ctx.backend.joinGroup({
    groupId: options.groupId,
    topics: options.topics,
    readCommitted: options.readCommitted,
    fromBeginning: true,
    sessionTimeoutMs: 10_000,
    handler: collector.handler(),
  });
  return collector;
}
