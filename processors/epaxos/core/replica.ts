/**
 * The pure EPaxos replica: `step(input)` applies one input and returns the Ready to act on. It reads no clock
 * (time arrives as ticks) and no global randomness; the topology processor, unit tests and the simulator drive it
 * identically. Messages of older epochs are fenced (DESIGN.md §4).
 */
import { beginJoin, checkLive, joinTick, onJoin, onJoinReply, refuseTryPreAccept } from './join.ts';
import type { Message } from './messages.ts';
import { onAccept, onAcceptReply, onCommit, onPreAccept, onPreAcceptReply, propose } from './normal.ts';
import { onPrepare, onPrepareReply, onTryPreAccept, onTryPreAcceptReply, startRecovery } from './recovery.ts';
import { assert, ReplicaState, type CoreConfig, type Ready } from './state.ts';
import { parseInstanceKey, type Command, type InstanceId, type InstanceRecord, type ReplicaId } from './types.ts';

export type Input =
  | { type: 'propose'; commands: Command[] }
  | { type: 'message'; message: Message }
  /** Advances the replica's logical time by one tick; overdue uncommitted instances start recovery. */
  | { type: 'tick' }
  /** Recover now (the instance blocks execution, or its leader's lease is gone). */
  | { type: 'recover'; instance: InstanceId }
  /**
   * The guardrail's config changed: the mode in force, and the epoch (never lowered; messages of older epochs are
   * fenced from now on). An instance already in flight keeps its path: the mode is a policy, not a safety rule.
   * `members`, when given, is the membership of that epoch (a member replaced under a new id, §4.7).
   */
  | { type: 'configure'; epoch: number; mode: 'fast' | 'slow'; members?: ReplicaId[] }
  /**
   * A member's lease is gone (guardrail liveness): its uncommitted instances are recovered without waiting for
   * their timeouts. The next replica after it starts at once, the others one recovery timeout apart each, so the
   * survivors do not all duel with ballots for the same instances.
   */
  | { type: 'leaderDown'; replica: string };

export interface ReplicaStatus {
  self: string;
  epoch: number;
  nextSlot: number;
  instances: number;
  uncommitted: number;
  coordinating: number;
  fencedMessages: number;
  fastCommits: number;
  slowCommits: number;
  recoveries: number;
  joining: boolean;
  retired: boolean;
}

/** What a restarted replica reads back from its changelog. */
export interface Restored {
  records: InstanceRecord[];
  nextSlot: number;
  /** It had not finished joining (Ready.joining): it asks again. A fresh replica under a new id starts so. */
  joining?: boolean;
}

export class Replica {
  readonly state: ReplicaState;
  /** The id the last `propose` step created. */
  lastProposed: InstanceId | undefined;

  constructor(config: CoreConfig, restored?: Restored) {
    this.state = new ReplicaState(config);
    if (restored) {
      // A replica rebuilt from its changelog: everything it voted stays voted; coordination is volatile, so
      // anything unfinished is picked up again by recovery once its deadline passes.
      for (const record of restored.records) this.state.save(record);
      this.state.nextSlot = restored.nextSlot;
      if (restored.joining) beginJoin(this.state);
      this.state.takeReady();
    }
  }

  /** A replica that lost its state, started under a new id given by the guardrail: it joins first (§4.7). */
  static joining(config: CoreConfig): Replica {
    return new Replica(config, { records: [], nextSlot: 0, joining: true });
  }

  step(input: Input): Ready {
    const s = this.state;
    switch (input.type) {
      case 'propose':
        // The driver holds proposals meanwhile, as it does without a lease.
        assert(!s.join && !s.retired, () => `${s.self} cannot lead: it is ${s.join ? 'still joining' : 'retired'}`);
        this.lastProposed = propose(s, input.commands);
        break;
      case 'tick':
        this.#tick();
        break;
      case 'recover':
        if (!s.join && !s.retired) startRecovery(s, input.instance);
        break;
      case 'message':
        this.#receive(input.message);
        break;
      case 'configure':
        // A membership older than the epoch in force is stale news: only a newer epoch may change it.
        if (input.members && input.epoch >= s.config.epoch) s.reconfigure(input.members);
        s.config.epoch = Math.max(s.config.epoch, input.epoch);
        s.config.mode = input.mode;
        break;
      case 'leaderDown':
        this.#leaderDown(input.replica);
        break;
      default: {
        const exhaustive: never = input;
        throw new Error(`unknown input ${JSON.stringify(exhaustive)}`);
      }
    }
    if (s.join) checkLive(s);
    return s.takeReady();
  }

  #receive(m: Message): void {
    const s = this.state;
    if (m.to !== s.self || s.retired) return;
    // A Commit carries a value already chosen, which no epoch changes: fencing it too left a replica that had
    // fenced an instance's other messages unable ever to learn it (nothing sends a commit again, and only a later
    // dependent would start recovery) — the simulator's epoch bumps, issue #7 (seed 3 at N=3, 12 of seeds 1–400).
    if (m.epoch < s.config.epoch && m.type !== 'Commit') {
      s.fencedMessages++;
      return;
    }
    // A joiner learns commits and drops every request for a vote, as if it were lost — but for TryPreAccept,
    // whose recoverer waits for every member that could still agree (join.ts).
    if (s.join && !s.config.unsafeSkipJoin && m.type !== 'Commit' && m.type !== 'Join' && m.type !== 'JoinReply') {
      if (m.type === 'TryPreAccept') refuseTryPreAccept(s, m);
      return;
    }
    switch (m.type) {
      case 'Join':
        return onJoin(s, m);
      case 'JoinReply':
        return onJoinReply(s, m);
      case 'PreAccept':
        return onPreAccept(s, m);
      case 'PreAcceptReply':
        return onPreAcceptReply(s, m);
      case 'Accept':
        return onAccept(s, m);
      case 'AcceptReply':
        return onAcceptReply(s, m);
      case 'Commit':
        return onCommit(s, m);
      case 'Prepare':
        return onPrepare(s, m);
      case 'PrepareReply':
        return onPrepareReply(s, m);
      case 'TryPreAccept':
        return onTryPreAccept(s, m);
      case 'TryPreAcceptReply':
        return onTryPreAcceptReply(s, m);
      default: {
        const exhaustive: never = m;
        throw new Error(`unknown message ${JSON.stringify(exhaustive)}`);
      }
    }
  }

  #tick(): void {
    const s = this.state;
    s.now++;
    if (s.retired) return;
    if (s.join) return joinTick(s);
    // Most ticks find nothing due: copy the deadlines (the loop below edits them) only when one is.
    let due = false;
    for (const deadline of s.deadlines.values()) if (deadline <= s.now) due = true;
    if (!due) return;
    for (const [key, deadline] of [...s.deadlines]) {
      if (deadline > s.now) continue;
      // Also when this replica coordinates it: replies may have been lost, and a new ballot starts over. Each
      // further attempt waits longer (recoveryRetryDelay), so a slow round is not preempted forever.
      const id = parseInstanceKey(key);
      const attempt = (s.recoveryAttempts.get(key) ?? 0) + 1;
      s.recoveryAttempts.set(key, attempt);
      s.deadlines.set(key, s.now + s.recoveryRetryDelay(id, attempt));
      startRecovery(s, id);
    }
  }

  #leaderDown(replica: string): void {
    const s = this.state;
    if (replica === s.self || s.join || s.retired) return;
    for (const [key, deadline] of s.deadlines) {
      const id = parseInstanceKey(key);
      if (id.replica !== replica) continue;
      // recoveryDelay is timeout × (1 + distance from the leader): drop the one timeout spent waiting for it.
      const soon = s.now + s.recoveryDelay(id) - s.config.recoveryTimeoutTicks;
      if (soon < deadline) s.deadlines.set(key, soon);
    }
  }

  status(): ReplicaStatus {
    const s = this.state;
    return {
      self: s.self,
      epoch: s.config.epoch,
      nextSlot: s.nextSlot,
      instances: s.instances.size,
      uncommitted: [...s.instances.values()].filter((r) => r.status !== 'committed').length,
      coordinating: s.coordinating.size,
      fencedMessages: s.fencedMessages,
      ...s.stats,
      joining: s.join !== undefined,
      retired: s.retired,
    };
  }
}
