/**
 * One simulation in progress: the cluster, its guardrail, the faults in force and the clients' log. It applies the
 * events of a schedule (schedule.ts) — drawn from a seed as they come (simulate.ts), or read back to replay or
 * shrink a failure (shrink.ts) — then runs the healed liveness phase and the checkers. Applying draws nothing, and
 * an event that does not fit the state at hand (a replay with events taken out) is skipped, under the same rules
 * the draw follows: at most F replicas down, cut off or joining at once, at most `lossesMax` losses.
 */
import { InvariantViolation, type UnsafeRule } from '../processors/epaxos/core/state.ts';
import { parseInstanceKey, type ReplicaId } from '../processors/epaxos/core/types.ts';
import { checkAll, type Violation } from './checkers.ts';
import { checkClients, isRead, type ClientOp } from './clients.ts';
import type { Clock } from './clock.ts';
import { Cluster, type InFlight } from './cluster.ts';
import { describeMessage } from './describe.ts';
import type { FaultPlan } from './faults.ts';
import { Guardrail } from './guardrail.ts';
import { historyOf } from './history.ts';
import { signature, type Event } from './schedule.ts';
import type { Trace } from './trace.ts';

export interface RunOptions {
  n: number;
  plan: FaultPlan;
  /** Keep the events applied (to replay or shrink this run later). */
  record: boolean;
  trace?: Trace;
  livenessRounds: number;
  /** Cluster time after which a client gives up on its command (clients.ts). */
  clientTimeout: number;
  unsafeFastQuorumMinusOne?: boolean;
  unsafeSkipJoin?: boolean;
  unsafeRules?: readonly UnsafeRule[];
}

/** At most this many replicas lose their state in one run (each replacement is one more replica in the pool). */
export const lossesMax = 2;

export class Run {
  readonly c: Cluster;
  readonly guardrail: Guardrail;
  readonly f: number;
  readonly clocks = new Map<ReplicaId, Clock>();
  readonly cut = new Set<ReplicaId>();
  /**
   * Replicas paused (faults.ts `hide`), like a stopped process: what is sent to them waits, what they sent goes
   * out, their clock stands still, and they keep their volatile state (a leader still waits for its replies).
   */
  readonly paused = new Set<ReplicaId>();
  /** Replicas hidden by a `hide` event (cut or paused), until their `unhide`. */
  readonly hidden = new Set<ReplicaId>();
  readonly counts = { crashes: 0, cuts: 0, modeSwitches: 0, epochs: 0, lostUp: 0, hides: 0 };
  readonly clients: ClientOp[] = [];
  /** The events applied, when recording (the faulty phase only: the liveness phase follows from it). */
  readonly events: Event[] | undefined;
  #recording: boolean;
  messages = 0;
  readonly trace: Trace | undefined;
  /** The failed core assertion (InvariantViolation) that ended the run early, if any. */
  coreFailure: string | undefined;
  #liveness: Violation | undefined;
  /** Message signatures, computed once per message in flight; only recording and replaying need them. */
  #signatures: WeakMap<InFlight, string> | undefined;

  constructor(readonly options: RunOptions) {
    this.c = new Cluster({
      n: options.n,
      recoveryTimeoutTicks: 8,
      ...(options.unsafeFastQuorumMinusOne ? { unsafeFastQuorumMinusOne: true } : {}),
      ...(options.unsafeSkipJoin ? { unsafeSkipJoin: true } : {}),
      ...(options.unsafeRules?.length ? { unsafeRules: options.unsafeRules } : {}),
    });
    this.f = (options.n - 1) / 2;
    this.trace = options.trace;
    this.guardrail = new Guardrail(this.c, this.trace);
    this.c.ids.forEach((r, i) => this.clocks.set(r, options.plan.clocks[i]!));
    this.events = options.record ? [] : undefined;
    this.#recording = options.record;
  }

  up(r: ReplicaId): boolean {
    return !this.c.crashed.has(r) && !this.cut.has(r) && !this.paused.has(r);
  }

  /** A joiner votes on nothing: it counts against the F replicas that may be down at once. */
  joining(): number {
    let count = 0;
    for (const r of this.c.ids) if (this.c.replica(r).state.join) count++;
    return count;
  }

  down(): number {
    return this.c.crashed.size + this.cut.size + this.paused.size + this.joining();
  }

  /**
   * Applies one event; false when it does not fit the state (skipped). A failed core assertion ends the run: it is
   * the run's violation (later events are skipped).
   */
  apply(e: Event): boolean {
    if (this.coreFailure) return false;
    try {
      const applied = this.#apply(e);
      if (applied && e.type !== 'deliver' && this.#recording) this.events!.push({ ...e, t: this.c.time });
      return applied;
    } catch (error) {
      this.#fail(error);
      return false;
    }
  }

  /** Delivers the pool's message at `position` (the draw's choice); `dup` keeps a copy in flight. */
  deliverAt(position: number, dup: boolean): void {
    if (this.coreFailure) return;
    const c = this.c;
    const flight = c.pool[position]!;
    const m = flight.message;
    if (this.#recording) {
      const message = this.#signature(flight);
      this.events!.push({ type: 'deliver', message, copy: this.#copyOf(position, message), dup, t: c.time });
    }
    if (dup) c.pool.push({ ...flight, seq: -1 });
    this.trace?.add(c.time, `deliver ${describeMessage(m)}${this.#fenced(flight) ? ' (fenced: older epoch)' : ''}`);
    this.messages++;
    try {
      c.deliver(position);
    } catch (error) {
      this.#fail(error);
    }
  }

  /** The bits of the cut-off replicas: their messages wait (cluster.ts `countDeliverable`). */
  heldBits(): number {
    return this.c.bitsOf(this.cut);
  }

  /** The bits of the paused replicas: messages to them wait. */
  pausedBits(): number {
    return this.paused.size === 0 ? 0 : this.c.bitsOf(this.paused);
  }

  /** A chance for r to tick: as many ticks as its clock gives, each after its processor follows the guardrail. */
  tickChance(r: ReplicaId, ticks = this.clocks.get(r)!.next()): void {
    if (this.paused.has(r)) return;
    for (; ticks > 0; ticks--) {
      this.guardrail.follow(r);
      this.c.tick(r);
    }
  }

  #apply(e: Event): boolean {
    const { c, guardrail, trace } = this;
    const at = 'at' in e ? c.ids[e.at] : undefined;
    if ('at' in e && at === undefined) return false;
    switch (e.type) {
      case 'propose': {
        if (c.crashed.has(at!)) return false;
        const keys = e.keys.length > 1 ? [...new Set(e.keys)] : e.keys;
        this.clients.push({ id: e.id, keys, read: isRead(e.id), call: c.time });
        guardrail.propose(at!, e.id, keys);
        return true;
      }
      case 'deliver': {
        const position = this.#find(e.message, e.copy);
        if (position < 0) return false;
        this.deliverAt(position, e.dup);
        return true;
      }
      case 'tick':
        this.tickChance(at!, e.ticks);
        return true;
      case 'crash':
        if (!this.up(at!) || this.down() >= this.f) return false;
        c.crash(at!);
        this.counts.crashes++;
        trace?.add(c.time, `crash ${at}`);
        return true;
      case 'restart':
        if (!c.crashed.has(at!)) return false;
        guardrail.restart(at!);
        trace?.add(c.time, `restart ${at} from its persisted records`);
        return true;
      case 'lose':
        return this.#lose(at!);
      case 'cut':
        if (!this.up(at!) || this.down() >= this.f) return false;
        this.cut.add(at!);
        this.counts.cuts++;
        trace?.add(c.time, `cut off ${at}`);
        return true;
      case 'heal': {
        // A hidden replica stays hidden until its own unhide.
        const healed = [...this.cut].filter((r) => !this.hidden.has(r));
        if (healed.length === 0) return false;
        for (const r of healed) this.cut.delete(r);
        trace?.add(c.time, 'heal partition');
        return true;
      }
      case 'hide':
        if (!this.up(at!) || this.down() >= this.f) return false;
        (e.mode === 'cut' ? this.cut : this.paused).add(at!);
        this.hidden.add(at!);
        this.counts.hides++;
        trace?.add(
          c.time,
          e.mode === 'cut'
            ? `hide ${at}: cut off`
            : `hide ${at}: paused (what is sent to it waits, its clock stands still)`,
        );
        return true;
      case 'unhide':
        if (!this.hidden.has(at!)) return false;
        this.hidden.delete(at!);
        this.cut.delete(at!);
        this.paused.delete(at!);
        trace?.add(c.time, `unhide ${at}`);
        return true;
      case 'expire':
        if (!guardrail.hasLease(at!)) return false;
        guardrail.expire(at!);
        return true;
      case 'renew':
        if (guardrail.hasLease(at!) || c.crashed.has(at!)) return false;
        guardrail.renew(at!);
        return true;
      case 'switchMode':
        guardrail.switchMode();
        this.counts.modeSwitches++;
        return true;
      case 'bumpEpoch':
        guardrail.bumpEpoch();
        this.counts.epochs++;
        return true;
    }
  }

  /** `victim` (up, or crashed: its disk did not survive) loses its state; a fresh replica joins on its clock. */
  #lose(victim: ReplicaId): boolean {
    const wasUp = this.up(victim);
    if (this.guardrail.counts.replacements >= lossesMax) return false;
    if (!this.c.crashed.has(victim) && (!wasUp || this.down() >= this.f)) return false;
    const fresh = this.guardrail.replace(victim);
    this.clocks.set(fresh, this.clocks.get(victim)!);
    if (wasUp) this.counts.lostUp++;
    return true;
  }

  #signature(flight: InFlight): string {
    const signatures = (this.#signatures ??= new WeakMap());
    let s = signatures.get(flight);
    if (s === undefined) signatures.set(flight, (s = signature(flight.message)));
    return s;
  }

  /** The deliverable messages with this exact content, in pool order. */
  #positionsOf(message: string): number[] {
    const held = this.heldBits();
    const paused = this.pausedBits();
    const count = this.c.countDeliverable(held, paused);
    const out: number[] = [];
    for (let nth = 0; nth < count; nth++) {
      const position = this.c.nthDeliverable(nth, held, paused);
      if (this.#signature(this.c.pool[position]!) === message) out.push(position);
    }
    return out;
  }

  /** Which copy the message at `position` is among those alike. */
  #copyOf(position: number, message: string): number {
    return this.#positionsOf(message).indexOf(position);
  }

  /** The `copy`-th deliverable message with this content (the last one when fewer are left), or -1. */
  #find(message: string, copy: number): number {
    const positions = this.#positionsOf(message);
    return positions.length === 0 ? -1 : positions[Math.min(copy, positions.length - 1)]!;
  }

  #fenced(flight: InFlight): boolean {
    const m = flight.message;
    return m.epoch < this.c.replica(m.to).state.config.epoch && m.type !== 'Commit';
  }

  #fail(error: unknown): void {
    if (!(error instanceof InvariantViolation)) throw error;
    this.coreFailure = error.message;
    this.trace?.add(this.c.time, `core assertion failed: ${error.message}`);
  }

  /**
   * No more faults: everything restarts, heals and renews; every proposal must commit and execute everywhere
   * within the bound, counted in ticks of the slowest clock (a replica ticking once every 4 rounds gets 4× the
   * rounds to reach its timeouts).
   */
  liveness(): void {
    if (this.coreFailure) return;
    const { c, guardrail } = this;
    this.#recording = false;
    try {
      for (const r of [...c.crashed]) guardrail.restart(r);
      this.cut.clear();
      this.paused.clear();
      this.hidden.clear();
      for (const r of c.ids) if (!guardrail.hasLease(r)) guardrail.renew(r);
      this.trace?.add(c.time, 'liveness phase');
      const bound = this.options.livenessRounds * Math.max(...this.options.plan.clocks.map((k) => k.slowdown));
      let round = 0;
      for (; round < bound && !this.#done(); round++) {
        c.time++;
        if (!this.#deliverAll(20_000)) {
          // Messages that beget messages forever: a liveness failure.
          const detail = `livelock: still ${c.pool.length} messages in flight after 20000 deliveries`;
          this.#liveness = { invariant: 'liveness', detail };
          return;
        }
        if (this.coreFailure) return;
        for (const r of c.ids) this.tickChance(r);
      }
      if (!this.#done()) this.#liveness = { invariant: 'liveness', detail: this.#stuck(round) };
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Delivers in pool order until nothing is deliverable (true), or `limit` deliveries (false), traced. */
  #deliverAll(limit: number): boolean {
    for (let i = 0; ; i++) {
      const next = this.c.nthDeliverable(0);
      if (next < 0) return true;
      if (i >= limit || this.coreFailure) return this.coreFailure !== undefined;
      this.deliverAt(next, false);
    }
  }

  #done(): boolean {
    const c = this.c;
    if (c.pool.length > 0 || this.guardrail.heldCount > 0 || this.joining() > 0) return false;
    return this.#unexecuted().length === 0;
  }

  #stuck(rounds: number): string {
    const missing = this.#unexecuted().map(({ replica, missing }) => `${replica}: ${missing.join(',')} not executed`);
    const heldCount = this.guardrail.heldCount;
    const held = heldCount > 0 ? `, ${heldCount} proposals still held` : '';
    const joiners = this.joining() > 0 ? `, ${this.joining()} replicas still joining` : '';
    return `after ${rounds} healed rounds ${missing.join('; ') || 'all executed'}${held}${joiners}`;
  }

  /**
   * Per member, the instances it has not executed that it must have once healed: every proposed instance, but for
   * those of a replica that lost its state which no member ever heard of (its PreAccepts were fenced or never left:
   * no one can recover what no one knows, and its client times out).
   */
  #unexecuted(): { replica: ReplicaId; missing: string[] }[] {
    const c = this.c;
    const members = c.ids;
    const replaced = c.allIds.length > members.length;
    // Without a replacement, every instance executed is a proposed one: the count tells (the common case, and
    // this runs at every healed round).
    if (!replaced && members.every((r) => c.executed.get(r)!.length >= c.proposedAt.size)) return [];
    const known = (key: string): boolean => members.some((r) => c.replica(r).state.instances.has(key));
    const expected = [...c.proposedAt.keys()].filter(
      (key) => !replaced || !c.isLost(parseInstanceKey(key).replica) || known(key),
    );
    const out: { replica: ReplicaId; missing: string[] }[] = [];
    for (const r of members) {
      const executor = c.executors.get(r)!;
      const missing = expected.filter((key) => !executor.isExecuted(key));
      if (missing.length > 0) out.push({ replica: r, missing });
    }
    return out;
  }

  /** Every checker's findings on the finished run: the core's assertion first, then safety, clients, liveness. */
  violations(): Violation[] {
    const found = checkAll(historyOf(this.c));
    if (this.coreFailure) found.unshift({ invariant: 'core assertion', detail: this.coreFailure });
    else found.push(...checkClients(this.c, this.clients, this.options.clientTimeout));
    if (this.#liveness && !this.coreFailure) found.push(this.#liveness);
    // Healed and done, nothing waits any more: a deferral left behind is state that only grows (issue #10).
    if (!this.coreFailure && !this.#liveness) {
      for (const r of this.c.ids) {
        const left = this.c.replica(r).state.deferredOn;
        if (left.size > 0) {
          const entries = [...left].map(([k, on]) => `${k} on ${on}`).join(', ');
          found.push({ invariant: 'bounded state', detail: `${r} still holds deferred recoveries: ${entries}` });
        }
      }
    }
    return found;
  }
}
