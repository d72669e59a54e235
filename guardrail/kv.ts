/**
 * The few key-value operations the guardrail needs, with etcd's semantics: a global revision bumped by every
 * write, per-key create and mod revisions, multi-key transactions guarded by mod-revision compares, leases that
 * delete their keys on expiry, and watches that replay from a revision. `EtcdKv` (kv-etcd.ts) speaks to etcd;
 * `MemoryKv` (kv-memory.ts) keeps the same rules in process. The guardrail's logic (core.ts) is written once
 * against this interface, so the two implementations cannot drift apart.
 */
export interface KvEntry {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  /** The lease holding the key, '0' for none. */
  lease: string;
}

export interface KvRead {
  entries: KvEntry[];
  /** The store's revision when the read was served. */
  revision: number;
}

/** A compare on a key's mod revision; 0 means "the key is absent". */
export interface KvCompare {
  key: string;
  modRevision: number;
}

export type KvOp =
  | { type: 'put'; key: string; value: string; lease?: string }
  /** Deletes `key`, or every key in [key, end) when end is given. */
  | { type: 'delete'; key: string; end?: string };

export interface KvTxnResult {
  succeeded: boolean;
  /** The store's revision after the transaction (the new mod revision of its puts when it succeeded). */
  revision: number;
}

export interface KvEvent {
  type: 'put' | 'delete';
  key: string;
  value: string;
  modRevision: number;
}

export interface KvRangeOptions {
  limit?: number;
  newestFirst?: boolean;
}

export interface KvWatchHandlers {
  /** Events of one revision or more, in revision order. */
  onEvents(events: KvEvent[]): void;
  /** The watch broke and could not resume (for instance its start revision was compacted). */
  onError(error: Error): void;
}

export interface KvWatch {
  cancel(): Promise<void>;
}

export type KvLeaseState = 'alive' | 'suspect' | 'lost';

export interface KvLease {
  readonly id: string;
  readonly ttlS: number;
  /**
   * 'suspect' when keepalives stopped being acknowledged long enough that the lease may have expired; 'alive'
   * again on the next acknowledgement; 'lost' for good once the store says it expired or was revoked.
   */
  onState(listener: (state: KvLeaseState, reason: string) => void): void;
  revoke(): Promise<void>;
  /** Stops keepalives without revoking: the lease expires after its TTL, as when the process dies. */
  abandon(): void;
}

export interface KvDriver {
  get(key: string): Promise<KvRead>;
  /** Keys starting with prefix, in key order (or reversed). */
  range(prefix: string, options?: KvRangeOptions): Promise<KvRead>;
  count(prefix: string): Promise<number>;
  txn(compares: KvCompare[], ops: KvOp[]): Promise<KvTxnResult>;
  /** Watches a key, or every key under a prefix when `prefix` is true, from `fromRevision` on. */
  watch(key: string, prefix: boolean, fromRevision: number, handlers: KvWatchHandlers): Promise<KvWatch>;
  grantLease(ttlS: number): Promise<KvLease>;
  close(): Promise<void>;
}
