/**
 * The etcd guardrail as the simulator models it (DESIGN.md §4; processors/README.md, "The guardrail"): the
 * config in force (epoch, mode) and each member's lease — and, per replica, what its processor last saw of them.
 * A processor reads the guardrail only at its ticks (`EpaxosProcessor.#followGuardrail`), so each replica learns
 * of a change at its own step, late if its clock is slow:
 *  - a newer epoch or another mode becomes a `configure` input; messages of older epochs are fenced from then on;
 *  - a member whose lease was live at the last tick and is gone now becomes a `leaderDown` input (its instances are
 *    recovered one timeout early) — also when that member is alive and well, only slow to renew;
 *  - a replica that saw its own lease gone holds new proposals (its batch) until it sees a lease again, then
 *    proposes them as one instance. Until that tick it still leads: etcd may already have told the others.
 *  - a replacement (a replica that lost its state for good, §4.7) is a new membership at a new epoch: the fresh
 *    replica starts from it, the others get it with their next `configure`; the lost one's lease is gone.
 * What a processor saw is volatile: a restarted one reads the guardrail afresh, with its core configured from it.
 */
import { freshMemberId } from '../guardrail/config.ts';
import { instanceKey, type ReplicaId } from '../processors/epaxos/core/types.ts';
import { command, type Cluster } from './cluster.ts';
import type { Trace } from './trace.ts';

export class Guardrail {
  epoch: number;
  mode: 'fast' | 'slow';
  /** The membership in force (the cluster follows it: `Cluster.ids`). */
  members: ReplicaId[];
  /** Members whose lease is live in etcd. */
  readonly #leases: Set<ReplicaId>;
  /** Per replica, the members it saw live at its last tick (the processor's `#live`). */
  readonly #seenLive = new Map<ReplicaId, Set<ReplicaId>>();
  /** Bumped at every change, so a tick with nothing new to read costs nothing (most ticks). */
  #version = 0;
  /** Per replica, the version it read at its last tick. */
  readonly #read = new Map<ReplicaId, number>();
  /** Per replica, whether it saw its own lease at its last tick (the processor's `lease.canLead`). */
  readonly #canLead = new Map<ReplicaId, boolean>();
  /** Per replica, proposals held while it cannot lead (the processor's batch). */
  readonly held = new Map<ReplicaId, { id: string; keys: string[] }[]>();
  /** What happened, for the simulator's tests: the faults must really occur. */
  readonly counts = { expiries: 0, liveExpiries: 0, leaderDowns: 0, configures: 0, held: 0, replacements: 0 };

  constructor(
    readonly cluster: Cluster,
    readonly trace?: Trace,
  ) {
    this.epoch = cluster.options.epoch ?? 1;
    this.mode = cluster.options.mode ?? 'fast';
    this.members = [...cluster.ids];
    this.#leases = new Set(cluster.ids);
    for (const r of cluster.ids) this.#reset(r);
  }

  get heldCount(): number {
    let count = 0;
    for (const batch of this.held.values()) count += batch.length;
    return count;
  }

  hasLease(r: ReplicaId): boolean {
    return this.#leases.has(r);
  }

  /** The lease is gone in etcd (not renewed in time: crashed, cut off, or just slow). */
  expire(r: ReplicaId): void {
    this.#leases.delete(r);
    this.#version++;
    this.counts.expiries++;
    if (!this.cluster.crashed.has(r)) this.counts.liveExpiries++;
    this.trace?.add(this.cluster.time, `guardrail: lease of ${r} expired`);
  }

  /** The replica registered again on a new lease (a crashed process cannot: it does so once restarted). */
  renew(r: ReplicaId): void {
    if (this.cluster.crashed.has(r)) throw new Error(`${r} is down: it cannot register`);
    this.#leases.add(r);
    this.#version++;
    this.trace?.add(this.cluster.time, `guardrail: ${r} registered on a new lease`);
  }

  switchMode(): void {
    this.mode = this.mode === 'fast' ? 'slow' : 'fast';
    this.#version++;
    this.trace?.add(this.cluster.time, `guardrail: mode ${this.mode} (epoch ${this.epoch})`);
  }

  /**
   * `old` lost its state: the guardrail gives its place to a fresh id at a new epoch, named as the real
   * guardrail's rejoin names it (`<id>.e<epoch>`). Clients whose proposals `old` held send them to the fresh replica, which holds them
   * until it has joined. Returns the fresh id.
   */
  replace(old: ReplicaId): ReplicaId {
    this.epoch++;
    const fresh = freshMemberId(old, this.epoch);
    this.members = this.members.map((m) => (m === old ? fresh : m));
    this.#leases.delete(old);
    this.#version++;
    this.counts.replacements++;
    this.cluster.replace(old, fresh, { epoch: this.epoch, mode: this.mode, members: this.members });
    this.#leases.add(fresh);
    this.held.set(fresh, this.held.get(old) ?? []);
    this.held.delete(old);
    this.#reset(fresh);
    this.trace?.add(this.cluster.time, `guardrail: ${old} lost its state; ${fresh} replaces it at epoch ${this.epoch}`);
    return fresh;
  }

  bumpEpoch(): void {
    this.epoch++;
    this.#version++;
    this.trace?.add(this.cluster.time, `guardrail: epoch ${this.epoch} (mode ${this.mode})`);
  }

  /** A client's proposal reaches replica `at`: proposed now, or held while `at` knows it has no lease. */
  propose(at: ReplicaId, id: string, keys: string[]): void {
    if (this.#leads(at)) {
      const instance = this.cluster.propose(at, [command(id, ...keys)]);
      this.trace?.add(this.cluster.time, `propose ${id} ${keys.join('+')} at ${at} as ${instanceKey(instance)}`);
      return;
    }
    this.held.get(at)!.push({ id, keys });
    this.counts.held++;
    const why = this.#canLead.get(at) ? 'it is still joining' : 'it has no lease';
    this.trace?.add(this.cluster.time, `hold ${id} ${keys.join('+')} at ${at}: ${why}`);
  }

  /** Proposals go to the core only while the replica saw its lease and has joined (a joiner votes on nothing). */
  #leads(r: ReplicaId): boolean {
    return this.#canLead.get(r) === true && !this.cluster.replica(r).state.join;
  }

  /** What replica r's processor does at a tick before the core's tick: follow the config and the leases. */
  follow(r: ReplicaId): void {
    const c = this.cluster;
    if (c.crashed.has(r)) return;
    // A joiner that went live since the last tick proposes what it held, whatever else changed.
    if (this.#read.get(r) === this.#version) {
      if (this.held.get(r)!.length > 0 && this.#leads(r)) this.#flush(r);
      return;
    }
    this.#read.set(r, this.#version);
    const core = c.replica(r).state.config;
    // Only a replacement changes the membership (compared only then: this runs at every change of the guardrail).
    const membersChanged = this.counts.replacements > 0 && core.members.join() !== [...this.members].sort().join();
    if (this.epoch > core.epoch || this.mode !== core.mode || membersChanged) {
      const members = membersChanged ? { members: this.members } : {};
      c.step(r, { type: 'configure', epoch: this.epoch, mode: this.mode, ...members });
      this.counts.configures++;
      const change = membersChanged ? ` members ${this.members.join(',')}` : '';
      this.trace?.add(c.time, `${r}: configure epoch ${this.epoch} mode ${this.mode}${change}`);
    }
    const seen = this.#seenLive.get(r)!;
    for (const member of c.allIds) {
      const live = this.#leases.has(member);
      if (!live && seen.has(member) && member !== r) {
        c.step(r, { type: 'leaderDown', replica: member });
        this.counts.leaderDowns++;
        this.trace?.add(c.time, `${r}: leaderDown ${member}`);
      }
      if (live) seen.add(member);
      else seen.delete(member);
    }
    this.#canLead.set(r, this.#leases.has(r));
    if (this.#leads(r)) this.#flush(r);
  }

  /** A restarted replica: its core takes the config in force, its processor sees the leases as they are now. */
  restart(r: ReplicaId): void {
    this.cluster.restart(r, { epoch: this.epoch, mode: this.mode, members: this.members });
    this.#reset(r);
  }

  #reset(r: ReplicaId): void {
    this.#read.delete(r);
    this.#seenLive.set(r, new Set(this.cluster.allIds.filter((m) => this.#leases.has(m))));
    this.#canLead.set(r, this.#leases.has(r));
    // Held proposals outlive a crash: the simulator's clients do not retry elsewhere (that would be a second
    // instance for one command id, which the exactly-once checker counts), so they wait for this replica.
    if (!this.held.has(r)) this.held.set(r, []);
  }

  /** The held batch as one instance (the processor proposes its whole batch at once). */
  #flush(r: ReplicaId): void {
    const batch = this.held.get(r)!;
    if (batch.length === 0) return;
    this.held.set(r, []);
    const instance = this.cluster.propose(
      r,
      batch.map((p) => command(p.id, ...p.keys)),
    );
    const ids = batch.map((p) => p.id).join(',');
    this.trace?.add(this.cluster.time, `${r} leads again: proposes ${ids} as ${instanceKey(instance)}`);
  }
}
