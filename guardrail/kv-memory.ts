/**
 * etcd's key-value semantics in process, for the embedded default, the simulator and tests (DESIGN.md §5): a
 * global revision, per-key create/mod revisions, atomic transactions, leases on an injected clock, and watches
 * that replay from a revision. One `InMemoryEtcd` is the shared "cluster"; each `MemoryKv` is one client of it.
 * Watch events are delivered on the microtask queue, after the write that caused them returned, as etcd's are.
 */
import { systemClock, type Clock, type TimerHandle } from './clock.ts';
import { GuardrailError } from './errors.ts';
import type {
  KvCompare,
  KvDriver,
  KvEntry,
  KvEvent,
  KvLease,
  KvLeaseState,
  KvOp,
  KvRangeOptions,
  KvRead,
  KvTxnResult,
  KvWatch,
  KvWatchHandlers,
} from './kv.ts';

/** Events kept for watches that start in the past; older ones count as compacted, as in etcd. */
const eventLogMax = 10_000;

interface MemoryLease {
  ttlMs: number;
  timer: TimerHandle;
  listeners: Set<(reason: string) => void>;
}

interface MemoryWatcher {
  matches(key: string): boolean;
  handlers: KvWatchHandlers;
  cancelled: boolean;
}

export class InMemoryEtcd {
  private revision = 1;
  private nextLease = 1;
  private readonly kvs = new Map<string, KvEntry>();
  private readonly leases = new Map<string, MemoryLease>();
  private readonly watchers = new Set<MemoryWatcher>();
  private readonly log: KvEvent[] = [];

  constructor(readonly clock: Clock = systemClock) {}

  currentRevision(): number {
    return this.revision;
  }

  get(key: string): KvRead {
    const entry = this.kvs.get(key);
    return { entries: entry ? [{ ...entry }] : [], revision: this.revision };
  }

  range(prefix: string, options: KvRangeOptions = {}): KvRead {
    const keys = [...this.kvs.keys()].filter((k) => k.startsWith(prefix)).sort();
    if (options.newestFirst) keys.reverse();
    const limited = options.limit ? keys.slice(0, options.limit) : keys;
    return { entries: limited.map((k) => ({ ...this.kvs.get(k)! })), revision: this.revision };
  }

  txn(compares: KvCompare[], ops: KvOp[]): KvTxnResult {
    const succeeded = compares.every((c) => (this.kvs.get(c.key)?.modRevision ?? 0) === c.modRevision);
    if (!succeeded) return { succeeded, revision: this.revision };
    for (const op of ops) {
      if (op.type === 'put' && op.lease && op.lease !== '0' && !this.leases.has(op.lease)) {
        throw new GuardrailError('LEASE_LOST', `etcdserver: requested lease not found (${op.lease})`);
      }
    }
    const next = this.revision + 1;
    const events: KvEvent[] = [];
    for (const op of ops) events.push(...(op.type === 'put' ? [this.applyPut(op, next)] : this.applyDelete(op, next)));
    if (events.length > 0) this.commit(next, events);
    return { succeeded, revision: this.revision };
  }

  private applyPut(op: Extract<KvOp, { type: 'put' }>, revision: number): KvEvent {
    const old = this.kvs.get(op.key);
    const lease = op.lease ?? '0';
    this.kvs.set(op.key, {
      key: op.key,
      value: op.value,
      createRevision: old?.createRevision ?? revision,
      modRevision: revision,
      lease,
    });
    return { type: 'put', key: op.key, value: op.value, modRevision: revision };
  }

  private applyDelete(op: Extract<KvOp, { type: 'delete' }>, revision: number): KvEvent[] {
    const doomed = op.end === undefined ? [op.key] : [...this.kvs.keys()].filter((k) => k >= op.key && k < op.end!);
    return doomed
      .filter((k) => this.kvs.delete(k))
      .map((k) => ({ type: 'delete' as const, key: k, value: '', modRevision: revision }));
  }

  private commit(revision: number, events: KvEvent[]): void {
    this.revision = revision;
    this.log.push(...events);
    if (this.log.length > eventLogMax) this.log.splice(0, this.log.length - eventLogMax);
    for (const watcher of this.watchers) {
      const mine = events.filter((e) => watcher.matches(e.key));
      if (mine.length > 0) this.deliver(watcher, mine);
    }
  }

  private deliver(watcher: MemoryWatcher, events: KvEvent[]): void {
    queueMicrotask(() => {
      if (!watcher.cancelled) watcher.handlers.onEvents(events);
    });
  }

  watch(key: string, prefix: boolean, fromRevision: number, handlers: KvWatchHandlers): () => void {
    const watcher: MemoryWatcher = {
      matches: (k) => (prefix ? k.startsWith(key) : k === key),
      handlers,
      cancelled: false,
    };
    const oldest = this.log[0]?.modRevision ?? this.revision + 1;
    if (fromRevision < oldest && this.log.length >= eventLogMax) {
      queueMicrotask(() => handlers.onError(new Error(`watch from revision ${fromRevision}: compacted`)));
      return () => undefined;
    }
    const replay = this.log.filter((e) => e.modRevision >= fromRevision && watcher.matches(e.key));
    if (replay.length > 0) this.deliver(watcher, replay);
    this.watchers.add(watcher);
    return () => {
      watcher.cancelled = true;
      this.watchers.delete(watcher);
    };
  }

  grantLease(ttlS: number): string {
    const id = String(this.nextLease++);
    const ttlMs = ttlS * 1000;
    this.leases.set(id, {
      ttlMs,
      timer: this.clock.setTimeout(() => this.endLease(id, 'expired'), ttlMs),
      listeners: new Set(),
    });
    return id;
  }

  /** Renews a lease for a full TTL; false when it is gone (expired or revoked). */
  keepAlive(id: string): boolean {
    const lease = this.leases.get(id);
    if (!lease) return false;
    this.clock.clearTimeout(lease.timer);
    lease.timer = this.clock.setTimeout(() => this.endLease(id, 'expired'), lease.ttlMs);
    return true;
  }

  onLeaseEnd(id: string, listener: (reason: string) => void): void {
    const lease = this.leases.get(id);
    if (lease) lease.listeners.add(listener);
    else queueMicrotask(() => listener('not found'));
  }

  revokeLease(id: string): void {
    this.endLease(id, 'revoked');
  }

  /** Test hook: the lease holding `key`, as an operator would find it with `etcdctl get -w json`. */
  leaseOf(key: string): string | undefined {
    const lease = this.kvs.get(key)?.lease;
    return lease && lease !== '0' ? lease : undefined;
  }

  private endLease(id: string, reason: string): void {
    const lease = this.leases.get(id);
    if (!lease) return;
    this.leases.delete(id);
    this.clock.clearTimeout(lease.timer);
    const doomed = [...this.kvs.values()].filter((e) => e.lease === id).map((e) => e.key);
    if (doomed.length > 0) {
      const next = this.revision + 1;
      const events = doomed.flatMap((key) => this.applyDelete({ type: 'delete', key }, next));
      this.commit(next, events);
    }
    for (const listener of lease.listeners) queueMicrotask(() => listener(reason));
  }
}

/** One client of an InMemoryEtcd: its leases are kept alive on the store's clock until revoked or abandoned. */
export class MemoryKv implements KvDriver {
  private closed = false;
  private readonly abandons = new Set<() => void>();
  private readonly cancels = new Set<() => void>();

  constructor(readonly store: InMemoryEtcd) {}

  private check(): void {
    if (this.closed) throw new GuardrailError('CLOSED', 'the in-process guardrail client is closed');
  }

  async get(key: string): Promise<KvRead> {
    this.check();
    return this.store.get(key);
  }

  async range(prefix: string, options?: KvRangeOptions): Promise<KvRead> {
    this.check();
    return this.store.range(prefix, options);
  }

  async count(prefix: string): Promise<number> {
    this.check();
    return this.store.range(prefix).entries.length;
  }

  async txn(compares: KvCompare[], ops: KvOp[]): Promise<KvTxnResult> {
    this.check();
    return this.store.txn(compares, ops);
  }

  async watch(key: string, prefix: boolean, fromRevision: number, handlers: KvWatchHandlers): Promise<KvWatch> {
    this.check();
    const cancel = this.store.watch(key, prefix, fromRevision, handlers);
    this.cancels.add(cancel);
    return {
      cancel: async () => {
        cancel();
        this.cancels.delete(cancel);
      },
    };
  }

  async grantLease(ttlS: number): Promise<KvLease> {
    this.check();
    if (!Number.isInteger(ttlS) || ttlS < 1)
      throw new GuardrailError('INVALID_ARGUMENT', `lease TTL ${ttlS}: whole seconds >= 1`);
    const { store } = this;
    const id = store.grantLease(ttlS);
    const listeners: ((state: KvLeaseState, reason: string) => void)[] = [];
    let timer: TimerHandle | undefined;
    // Like etcd3's client: a keepalive every TTL/3, so two may be missed before the lease runs out.
    const schedule = () => {
      timer = store.clock.setTimeout(
        () => {
          if (store.keepAlive(id)) schedule();
        },
        (ttlS * 1000) / 3,
      );
    };
    const abandon = () => {
      if (timer) store.clock.clearTimeout(timer);
      timer = undefined;
      this.abandons.delete(abandon);
    };
    schedule();
    this.abandons.add(abandon);
    store.onLeaseEnd(id, (reason) => {
      abandon();
      for (const l of listeners) l('lost', `lease ${id} ${reason}`);
    });
    return {
      id,
      ttlS,
      onState: (listener) => void listeners.push(listener),
      revoke: async () => {
        abandon();
        store.revokeLease(id);
      },
      abandon,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const abandon of [...this.abandons]) abandon();
    for (const cancel of [...this.cancels]) cancel();
    this.cancels.clear();
  }
}
