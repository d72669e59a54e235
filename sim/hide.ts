/**
 * The `hide` fault family (issue #8): decisions hidden from the recovery quorum. Without it the simulator almost
 * never recovers an instance that its leader already fast-committed out of everyone's sight — a crash does not hold
 * a leader's Commits back, cuts are rare and short, and heals come before the recovery timeouts — so a recovery
 * rule could be wrong in ways no seed showed (an agreement violation at N=5 went unseen in every sweep). Here:
 *  - the moment a leader decides one of its instances (fast or slow), it may be cut off: its Commits wait;
 *  - right after a leader proposes, it may be paused like a stopped process (a long GC pause, SIGSTOP): what is
 *    sent to it waits and its clock stands still, so it does not give up on its own instance; its acceptors'
 *    replies come in late — delivered in the order they were sent, before the Prepares of the recovery that ran
 *    meanwhile — and it fast-commits what recovery may have decided otherwise;
 *  - either way its lease expires, so the others recover its instance after one timeout, and it is heard (or
 *    hears) again only once another member has committed that instance, or after a long hold;
 *  - PreAccepts, replies and Commits, anyone's, may be delayed by many steps (reordered against everything else).
 * Every choice draws from the family's own stream, and every effect is an event of the schedule (hide, unhide,
 * expire, renew, deliver), so a run replays and shrinks like any other; the delays shape only which messages the
 * draw delivers.
 */
import type { Message } from '../processors/epaxos/core/messages.ts';
import type { InstanceKey, ReplicaId } from '../processors/epaxos/core/types.ts';
import type { InFlight } from './cluster.ts';
import type { Random } from './random.ts';
import type { Run } from './run.ts';

/**
 * Chance that a leader is cut off the moment it decides one of its instances: fast commits are the ones recovery
 * must rebuild from votes alone, and they are the rarer decisions (few at N=7 and 9), so they are hidden most.
 */
const cutOnFastDecision = 0.75;
const cutOnSlowDecision = 0.25;
/** Chance that a leader is paused right after it proposes. */
const pauseOnPropose = 0.15;
/** Chance that a PreAccept, a reply or a Commit is delayed, and by how many steps at most. */
const delayChance = 0.2;
const delayMax = 300;
/** Steps after which a hidden replica is heard again even if no one recovered its instance. */
const holdMax = 1500;
/** While a replica is hidden, the share of steps that are clock ticks elsewhere (recovery needs timeouts). */
export const tickShareWhileHidden = 0.35;

/**
 * A delayed PreAccept makes its acceptor learn the instance late — after interfering ones — so a leader decides on
 * the fewest votes while other members see another order: what recovery must then rebuild from those few votes.
 */
const delayable = new Set<Message['type']>([
  'PreAccept',
  'PreAcceptReply',
  'AcceptReply',
  'PrepareReply',
  'TryPreAcceptReply',
  'Commit',
]);

interface Hiding {
  key: InstanceKey;
  since: number;
  mode: 'cut' | 'paused';
}

export class Hider {
  readonly #delayedUntil = new WeakMap<InFlight, number>();
  /** The highest pool sequence number looked at for delays. */
  #seenSeq = -1;
  #decisionsSeen = 0;
  #proposalsSeen = 0;
  readonly #hiding = new Map<ReplicaId, Hiding>();

  constructor(
    readonly run: Run,
    readonly rng: Random,
  ) {}

  /** Someone is hidden now: the faulty phase goes on until they are heard again (bounded by the caller). */
  get active(): boolean {
    return this.#hiding.size > 0;
  }

  /** Whether the message at `position` must wait for its delay to pass. */
  delayed(position: number): boolean {
    const until = this.#delayedUntil.get(this.run.c.pool[position]!);
    return until !== undefined && until > this.run.c.time;
  }

  /** Reacts to what the last event did: new messages, decisions and proposals; hidden replicas due to be heard. */
  afterEvent(): void {
    this.#delayNew();
    this.#hideDeciders();
    this.#hideProposers();
    this.#unhideRecovered();
  }

  #delayNew(): void {
    const { pool, time } = this.run.c;
    let highest = this.#seenSeq;
    // New messages are appended: walk back from the end to the first one already seen (copies carry seq -1).
    for (let i = pool.length - 1; i >= 0; i--) {
      const flight = pool[i]!;
      if (flight.seq < 0) continue;
      if (flight.seq <= this.#seenSeq) break;
      highest = Math.max(highest, flight.seq);
      if (delayable.has(flight.message.type) && this.rng.chance(delayChance)) {
        this.#delayedUntil.set(flight, time + 1 + this.rng.int(delayMax));
      }
    }
    this.#seenSeq = highest;
  }

  #hideDeciders(): void {
    const decisions = this.run.c.ownDecisions;
    for (; this.#decisionsSeen < decisions.length; this.#decisionsSeen++) {
      const { replica, key } = decisions[this.#decisionsSeen]!;
      const fast = this.run.c.fastCommitted.get(key)?.replica === replica;
      if (this.rng.chance(fast ? cutOnFastDecision : cutOnSlowDecision)) this.#hide(replica, key, 'cut');
    }
  }

  #hideProposers(): void {
    const proposed = this.run.c.proposedAt;
    if (proposed.size === this.#proposalsSeen) return;
    const keys = [...proposed.keys()].slice(this.#proposalsSeen);
    this.#proposalsSeen = proposed.size;
    for (const key of keys) {
      const leader = key.slice(0, key.lastIndexOf('.'));
      if (this.rng.chance(pauseOnPropose)) this.#hide(leader, key, 'paused');
    }
  }

  #hide(replica: ReplicaId, key: InstanceKey, mode: 'cut' | 'paused'): void {
    const { run } = this;
    const at = run.c.ids.indexOf(replica);
    if (at < 0 || this.#hiding.has(replica)) return;
    if (!run.apply({ type: 'hide', at, mode })) return;
    this.#hiding.set(replica, { key, since: run.c.time, mode });
    if (run.guardrail.hasLease(replica)) run.apply({ type: 'expire', at });
  }

  /** A hidden replica is heard again once another member committed its instance, or after `holdMax` steps. */
  #unhideRecovered(): void {
    const { run } = this;
    const c = run.c;
    for (const [replica, hiding] of this.#hiding) {
      const at = c.ids.indexOf(replica);
      const recovered = c.ids.some(
        (r) => r !== replica && !c.crashed.has(r) && c.replica(r).state.record(hiding.key)?.status === 'committed',
      );
      if (at >= 0 && !recovered && c.time - hiding.since < holdMax) continue;
      this.#hiding.delete(replica);
      if (at < 0) continue; // lost and replaced meanwhile: nothing left to unhide
      run.apply({ type: 'unhide', at });
      if (!run.guardrail.hasLease(replica) && !c.crashed.has(replica)) run.apply({ type: 'renew', at });
      if (hiding.mode === 'paused') this.#deliverWaiting(replica);
    }
  }

  /** What waited for a paused replica, in the order it was sent: its late replies before the recovery's Prepares. */
  #deliverWaiting(replica: ReplicaId): void {
    const { run } = this;
    const waiting = new Set(run.c.pool.filter((f) => f.to === replica));
    for (let i = 0; i < run.c.pool.length && !run.coreFailure;) {
      const flight = run.c.pool[i]!;
      if (!waiting.has(flight) || !run.up(replica) || (run.heldBits() & flight.fromBit) !== 0) {
        i++;
        continue;
      }
      waiting.delete(flight);
      run.deliverAt(i, false); // takes it out of the pool: position i now holds the next one
    }
  }
}
