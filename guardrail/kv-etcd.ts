/**
 * The KvDriver on a real etcd through the `etcd3` client (1.1.2). Every unary call carries a deadline
 * (`callDeadlineMs`) and is retried with backoff within `operationBudgetMs`: with etcd3's defaults a leader loss
 * stalled writes about 7 s on our machines, with a 1 s deadline about 2 s (issue #5). Retrying a transaction is
 * safe here: every transaction compares mod revisions, and core.ts recognises its own earlier success. Watches
 * and lease keepalives are streams without deadlines; etcd3 reconnects them (watches resume at their revision).
 */
import { Etcd3, type IKeyValue, type Lease, type Watcher } from 'etcd3';
import { GuardrailError, GuardrailUnavailableError, isRetriableEtcdError } from './errors.ts';
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
import { retry } from './retry.ts';

export interface EtcdKvOptions {
  endpoints: string[];
  /** Deadline of each etcd call; default 1000 ms. */
  callDeadlineMs?: number;
  /** How long one operation keeps retrying (across an election) before UNAVAILABLE; default 10000 ms. */
  operationBudgetMs?: number;
  /** How long connecting may take; default 3000 ms. */
  dialTimeoutMs?: number;
}

const revisionOf = (value: string | number | undefined): number => {
  const n = Number(value ?? 0);
  if (!Number.isSafeInteger(n)) throw new GuardrailError('INVALID_ARGUMENT', `etcd revision ${value} is too large`);
  return n;
};

function entryOf(kv: IKeyValue): KvEntry {
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    createRevision: revisionOf(kv.create_revision),
    modRevision: revisionOf(kv.mod_revision),
    lease: String(kv.lease ?? '0'),
  };
}

export class EtcdKv implements KvDriver {
  readonly client: Etcd3;
  readonly callDeadlineMs: number;
  readonly operationBudgetMs: number;
  private readonly leases = new Set<Lease>();
  private readonly watchers = new Set<Watcher>();

  constructor(options: EtcdKvOptions) {
    this.callDeadlineMs = options.callDeadlineMs ?? 1_000;
    this.operationBudgetMs = options.operationBudgetMs ?? 10_000;
    const deadline = this.callDeadlineMs;
    this.client = new Etcd3({
      hosts: options.endpoints,
      dialTimeout: options.dialTimeoutMs ?? 3_000,
      // Streams (watch, keepalive) live long and must not time out; every unary call gets the deadline.
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + deadline }),
    });
  }

  private run<T>(what: string, call: () => Promise<T>): Promise<T> {
    return retry(call, { budgetMs: this.operationBudgetMs, isRetriable: isRetriableEtcdError, what });
  }

  async get(key: string): Promise<KvRead> {
    const res = await this.run(`get ${key}`, () => this.client.get(key).exec());
    return { entries: res.kvs.map(entryOf), revision: revisionOf(res.header.revision) };
  }

  async range(prefix: string, options: KvRangeOptions = {}): Promise<KvRead> {
    const res = await this.run(`range ${prefix}`, () => {
      const builder = this.client
        .getAll()
        .prefix(prefix)
        .sort('Key', options.newestFirst ? 'Descend' : 'Ascend');
      return (options.limit ? builder.limit(options.limit) : builder).exec();
    });
    return { entries: res.kvs.map(entryOf), revision: revisionOf(res.header.revision) };
  }

  count(prefix: string): Promise<number> {
    return this.run(`count ${prefix}`, () => this.client.getAll().prefix(prefix).count());
  }

  async txn(compares: KvCompare[], ops: KvOp[]): Promise<KvTxnResult> {
    if (compares.length === 0) throw new GuardrailError('INVALID_ARGUMENT', 'every transaction compares a revision');
    const res = await this.run(`transaction on ${compares.map((c) => c.key).join(', ')}`, () => {
      let txn = this.client.if(compares[0]!.key, 'Mod', '==', compares[0]!.modRevision);
      for (const c of compares.slice(1)) txn = txn.and(c.key, 'Mod', '==', c.modRevision);
      return txn.then(...ops.map((op) => this.operation(op))).commit();
    });
    return { succeeded: res.succeeded, revision: revisionOf(res.header.revision) };
  }

  private operation(op: KvOp) {
    if (op.type === 'put') {
      const put = this.client.put(op.key).value(op.value);
      return op.lease && op.lease !== '0' ? put.lease(op.lease) : put;
    }
    const del = this.client.delete();
    return op.end === undefined ? del.key(op.key) : del.inRange({ start: op.key, end: op.end });
  }

  async watch(key: string, prefix: boolean, fromRevision: number, handlers: KvWatchHandlers): Promise<KvWatch> {
    const builder = this.client.watch();
    const watcher = (prefix ? builder.prefix(key) : builder.key(key)).startRevision(String(fromRevision)).watcher();
    watcher.on('data', (res) => {
      const events: KvEvent[] = res.events.map((e) => ({
        type: e.type === 'Delete' ? 'delete' : 'put',
        key: e.kv.key.toString(),
        value: e.kv.value.toString(),
        modRevision: revisionOf(e.kv.mod_revision),
      }));
      if (events.length > 0) handlers.onEvents(events);
    });
    // 'disconnected' is routine: etcd3 reconnects and resumes from the last revision seen. 'error' is not.
    let failed: ((error: Error) => void) | undefined;
    watcher.on('error', (error) => (failed ? failed(error) : handlers.onError(error)));
    const cancel = async () => {
      this.watchers.delete(watcher);
      await watcher.cancel().catch(() => undefined);
    };
    this.watchers.add(watcher);
    // etcd3 would wait for the stream forever while no member answers; a watch, like a call, gets a budget.
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new GuardrailUnavailableError(
                `watch ${key}: no etcd member answered within ${this.operationBudgetMs} ms`,
              ),
            ),
          this.operationBudgetMs,
        );
        failed = (error) => (clearTimeout(timer), reject(error));
        watcher.once('connected', () => (clearTimeout(timer), resolve()));
      });
    } catch (error) {
      await cancel();
      throw error;
    } finally {
      failed = undefined;
    }
    return { cancel };
  }

  async grantLease(ttlS: number): Promise<KvLease> {
    const lease = await this.run(`grant a ${ttlS}s lease`, async () => {
      const candidate = this.client.lease(ttlS);
      candidate.on('lost', () => undefined); // a failed grant also emits 'lost'; the rejection below reports it
      try {
        await candidate.grant();
        return candidate;
      } catch (error) {
        candidate.release();
        throw error;
      }
    });
    this.leases.add(lease);
    return watchLease(lease, String(await lease.grant()), ttlS, () => this.leases.delete(lease));
  }

  async close(): Promise<void> {
    for (const lease of this.leases) lease.release();
    this.leases.clear();
    await Promise.all([...this.watchers].map((w) => w.cancel().catch(() => undefined)));
    this.watchers.clear();
    this.client.close();
  }
}

/**
 * Lease state from etcd3's events, plus suspicion: etcd3 reports `lost` only after 2×TTL without an ack, but the
 * server may expire the lease after 1×TTL. A replica must stop leading before that (DESIGN.md §4), so two thirds
 * of a TTL without an acknowledged keepalive (two missed ones) make the lease 'suspect' until the next ack.
 */
function watchLease(lease: Lease, id: string, ttlS: number, forget: () => void): KvLease {
  const listeners: ((state: KvLeaseState, reason: string) => void)[] = [];
  const emit = (state: KvLeaseState, reason: string) => listeners.forEach((l) => l(state, reason));
  let state: KvLeaseState = 'alive';
  let suspicion: NodeJS.Timeout | undefined;
  const suspectAfterMs = (ttlS * 1000 * 2) / 3;
  const arm = () => {
    clearTimeout(suspicion);
    suspicion = setTimeout(() => {
      if (state !== 'alive') return;
      state = 'suspect';
      emit('suspect', `no keepalive acknowledged for ${suspectAfterMs} ms`);
    }, suspectAfterMs);
    suspicion.unref();
  };
  arm();
  lease.on('keepaliveSucceeded', () => {
    if (state === 'lost') return;
    arm();
    if (state === 'suspect') {
      state = 'alive';
      emit('alive', 'keepalive acknowledged again');
    }
  });
  lease.on('lost', (error) => {
    if (state === 'lost') return;
    state = 'lost';
    clearTimeout(suspicion);
    forget();
    emit('lost', `lease ${id} lost: ${error.message}`);
  });
  const stop = () => {
    clearTimeout(suspicion);
    forget();
    lease.release();
  };
  return {
    id,
    ttlS,
    onState: (listener) => void listeners.push(listener),
    revoke: async () => {
      state = 'lost';
      clearTimeout(suspicion);
      forget();
      await lease.revoke();
    },
    abandon: stop,
  };
}
