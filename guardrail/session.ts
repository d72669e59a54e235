/**
 * A member's registration: `members/<id>` on a lease, put only when no live registration of that id exists.
 * `canLead` follows the lease (DESIGN.md §4: refuse to lead without a live lease): false once it is lost, or
 * while keepalives go unanswered long enough that it may have expired; true again after an acknowledged
 * keepalive of the same lease, or after `reregister()` took a new one.
 */
import { GuardrailConflictError } from './errors.ts';
import type { KvDriver, KvLease } from './kv.ts';
import type { MemberSession, RegisterOptions } from './types.ts';

export class LeaseSession implements MemberSession {
  private lease: KvLease | undefined;
  private leading = false;
  private readonly listeners = new Set<(canLead: boolean, reason: string) => void>();

  constructor(
    private readonly kv: KvDriver,
    readonly memberId: string,
    private readonly key: string,
    private readonly options: RegisterOptions,
    private readonly now: () => number,
  ) {}

  get canLead(): boolean {
    return this.leading;
  }

  onCanLeadChange(listener: (canLead: boolean, reason: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(canLead: boolean, reason: string): void {
    if (canLead === this.leading) return;
    this.leading = canLead;
    for (const listener of [...this.listeners]) listener(canLead, reason);
  }

  /** Takes a lease and puts the member key on it; GuardrailConflictError when the id is live elsewhere. */
  async register(): Promise<void> {
    const lease = await this.kv.grantLease(this.options.ttlS);
    const value = JSON.stringify({
      id: this.memberId,
      ...(this.options.address === undefined ? {} : { address: this.options.address }),
      registeredAt: new Date(this.now()).toISOString(),
    });
    let put;
    try {
      put = await this.kv.txn(
        [{ key: this.key, modRevision: 0 }],
        [{ type: 'put', key: this.key, value, lease: lease.id }],
      );
    } catch (error) {
      await lease.revoke().catch(() => undefined);
      throw error;
    }
    if (!put.succeeded) {
      const [existing] = (await this.kv.get(this.key)).entries;
      // A retried put that had already landed finds the key on its own lease: that is a success.
      if (existing?.lease !== lease.id) {
        await lease.revoke().catch(() => undefined);
        throw new GuardrailConflictError(this.key, 0, existing?.modRevision ?? 0, `registering ${this.memberId}`);
      }
    }
    this.lease = lease;
    lease.onState((state, reason) => {
      if (this.lease === lease) this.set(state === 'alive', reason);
    });
    this.set(true, `registered on lease ${lease.id}`);
  }

  async reregister(): Promise<void> {
    const old = this.lease;
    this.lease = undefined;
    this.set(false, 're-registering');
    // The old lease may still hold the key (a partition, not an expiry): revoke it so the new put can land.
    await old?.revoke().catch(() => undefined);
    await this.register();
  }

  async release(): Promise<void> {
    const lease = this.lease;
    this.lease = undefined;
    this.set(false, 'released');
    await lease?.revoke();
  }

  /** Stops keepalives without revoking (used by close(): the lease expires as after a crash). */
  abandon(): void {
    this.lease?.abandon();
    this.set(false, 'guardrail closed: the lease is no longer kept alive');
  }
}
