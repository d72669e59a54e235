/**
 * What the guardrail contract needs from an implementation under test, and small helpers for waiting on events.
 * Waits are on events the implementation emits, bounded by real time (`waitMs`); time the implementation must
 * let pass (a lease TTL) passes through `elapse`, which advances a manual clock or, on etcd, returns at once.
 */
import type { GuardrailOptions } from '../core.ts';
import type { Guardrail } from '../types.ts';

export interface GuardrailContractContext {
  /** A new client (its own connections, leases and watches) of the store under test. */
  open(cluster: string, options?: GuardrailOptions): Promise<Guardrail>;
  /** Writes a value as an operator with etcdctl would, bypassing every check. */
  putRaw(key: string, value: string): Promise<void>;
  getRaw(key: string): Promise<string | undefined>;
  /** Revokes, server-side, the lease holding `key`: to its owner this looks like an expiry. */
  revokeLeaseOf(key: string): Promise<void>;
  /** Lets `ms` pass on the implementation's clock. */
  elapse(ms: number): Promise<void>;
  /** The implementation's clock. */
  now(): number;
  /** How late past its TTL the store may expire a lease (etcd's lessor checks every 500 ms). */
  expiryLatenessMs: number;
  /** Bound of every wait for an event, in real time. */
  waitMs: number;
}

export interface GuardrailContractCase {
  title: string;
  run(ctx: GuardrailContractContext, cluster: string): Promise<void>;
}

/** Collects events; `until` resolves with the first (past or future) event matching, or rejects after waitMs. */
export class EventLog<T> {
  readonly events: T[] = [];
  private readonly waiters: { match: (e: T) => boolean; resolve: (e: T) => void }[] = [];

  push = (event: T): void => {
    this.events.push(event);
    for (const w of this.waiters.filter((w) => w.match(event))) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve(event);
    }
  };

  until(what: string, match: (e: T) => boolean, waitMs: number): Promise<T> {
    const seen = this.events.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`${what}: not seen within ${waitMs} ms; events: ${JSON.stringify(this.events)}`));
      }, waitMs);
      const waiter = {
        match,
        resolve: (e: T) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      this.waiters.push(waiter);
    });
  }
}

/** `promise`, or a rejection naming `what` after `ms` of real time; the timer never outlives the wait. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Views of the guardrails whose readConfig resolves only once every one of them has read. */
export function barrierOnRead(guardrails: Guardrail[]): Guardrail[] {
  let waiting = guardrails.length;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  return guardrails.map((g) =>
    Object.assign(Object.create(g) as Guardrail, {
      readConfig: async () => {
        const read = await g.readConfig();
        if (--waiting === 0) release();
        await all;
        return read;
      },
    }),
  );
}
