/**
 * A replica's protocol state and the Ready value a step produces (STYLE.md §1, after etcd-raft): the driver
 * makes `persist` durable, then sends `send` — in Parley one Kafka transaction does both, with the input offset.
 */
import type { Message } from './messages.ts';
import {
  compareBallots,
  instanceKey,
  keysOf,
  quorums,
  type Attributes,
  type Ballot,
  type Command,
  type InstanceId,
  type InstanceKey,
  type InstanceRecord,
  type Quorums,
  type ReplicaId,
} from './types.ts';

export class InvariantViolation extends Error {
  override name = 'InvariantViolation';
  readonly retriable = false;
}

/** `message` may be a function: asserts on hot paths then build their text only when they fail (issue #7). */
export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantViolation(typeof message === 'string' ? message : message());
}

export interface Ready {
  /** Records changed by the step (latest version of each). */
  persist: InstanceRecord[];
  /** The next slot this replica will use; persisted so slots are never reused after a restart. */
  nextSlot: number;
  /** Only after `persist` is durable (votes wait for the disk: STYLE.md §2). */
  send: Message[];
  /** Instances that became committed in this step. */
  committed: InstanceRecord[];
  /**
   * Still joining under a new id (§4.7, join.ts): persisted with the records, so a joiner that crashes before it
   * went live joins again instead of voting with a state it never finished learning.
   */
  joining: boolean;
}

export interface CoreConfig {
  self: ReplicaId;
  members: ReplicaId[];
  epoch: number;
  /** 'slow' disables the fast path (the guardrail's mode). */
  mode: 'fast' | 'slow';
  /** Ticks an uncommitted instance may wait before this replica starts Explicit Prepare on it. */
  recoveryTimeoutTicks: number;
  /** TEST ONLY: shrink the fast quorum by one, to show the simulator catches an unsafe core (issue #7). */
  unsafeFastQuorumMinusOne?: boolean;
  /**
   * TEST ONLY: a replica under a new id votes while it joins — before it learned what its predecessor voted for
   * (§4.7) — to show the simulator catches it.
   */
  unsafeSkipJoin?: boolean;
  /**
   * TEST ONLY: recovery rules switched off or replaced by a known-wrong variant (issue #8), so each directed
   * scenario (testdata/*.txt) and the simulator can show that it fails without the rule it targets.
   */
  unsafeRules?: readonly UnsafeRule[];
}

/**
 * Known-wrong variants of the recovery rules, for tests only (unsafeRuleDescriptions says what each does).
 */
export type UnsafeRule =
  | 'tryPreAcceptErasesEqVote'
  | 'uncommittedConflictAsCommitted'
  | 'noSeqGuard'
  | 'promiseOverwritesVbal'
  | 'mutualDeferralPhase1'
  | 'trustsReVotedDeps'
  | 'seqGuardCountsLateCommits';

export const unsafeRuleDescriptions: Readonly<Record<UnsafeRule, string>> = {
  tryPreAcceptErasesEqVote:
    'a recoverer re-saves the default-ballot EQ votes it TryPreAccepts at its own ballot (not EQ), and recovery ' +
    'counts EQ votes only among the replies with the highest vbal (the core before issue #8)',
  uncommittedConflictAsCommitted:
    'a TryPreAccept refused for a conflict that is not committed yet sends the recoverer to plain Phase 1, as if ' +
    'the conflict were committed',
  noSeqGuard: 'the fast path does not wait for every dep to be known committed (the §4.4 seq guard is off)',
  mutualDeferralPhase1:
    'two TryPreAccept recoveries deferred on each other both take plain Phase 1, as if neither could have been ' +
    'fast-committed (the core before issue #8; at most one of them can have been, and it may be the one recovered)',
  trustsReVotedDeps:
    "TryPreAccept trusts an interfering instance's latest deps at a member even when that member re-voted it (a " +
    "recovery's Phase 1 or an Accept) and an earlier vote, still behind a value that can be chosen, did not name γ",
  seqGuardCountsLateCommits:
    'the §4.4 seq guard also counts a dep the leader learned committed after the votes were cast (the core before ' +
    "issue #8): the votes' seq may then not exceed the dep's final seq",
  promiseOverwritesVbal:
    'one ballot variable per instance: a promise also overwrites the last voted ballot, so recovery effectively ' +
    'chooses by the promised ballot (the flaw Sutra found in the specification)',
};

/** Per key, per replica: the highest slot seen on that key and its seq (paper §4.5 compact deps). */
/**
 * Per key, per replica: the slots of that replica's instances on the key this replica knows, ascending, from the
 * latest one committed with a real command on the key (which stands for everything older) up.
 */
type ConflictIndex = Map<string, Map<ReplicaId, number[]>>;

/**
 * A replica that lost its state and joins under a new id (§4.7, join.ts): it votes on nothing until F+1 members
 * configured at its epoch or later have told it what they know, and every instance they knew uncommitted has
 * committed here. Volatile but for the fact of joining (Ready.joining): a restarted joiner asks again.
 */
export interface JoinProgress {
  /** Members whose first answer (everything they knew) arrived. */
  readonly answered: Set<ReplicaId>;
  /** Instances those members knew uncommitted, not committed here yet. */
  readonly awaiting: Set<InstanceKey>;
  /** The tick at which it asks again (members not configured yet ignore a Join; commits reach it this way). */
  askAt: number;
  /**
   * Per awaited instance, the members that answered a later ask holding no vote for it, at epoch `unknownEpoch`
   * (join.ts: once every other member says so, nobody can still decide it with a real command).
   */
  readonly unknownBy: Map<InstanceKey, Set<ReplicaId>>;
  unknownEpoch: number;
}

/** What a replica coordinating an instance (as leader or recoverer) tracks; volatile, rebuilt by recovery. */
export interface Coordination {
  phase: 'preaccept' | 'accept' | 'prepare' | 'try-preaccept';
  ballot: Ballot;
  commands: Command[];
  /** The attributes the leader proposed first (fast path needs every reply to equal them). */
  initial: Attributes;
  attributes: Attributes;
  /** Replies by sender for the current phase. */
  replies: Map<ReplicaId, Message>;
  committedDeps: Set<InstanceKey>;
  /** Recovery may not use the fast path. */
  fastAllowed: boolean;
  /** TryPreAccept only: what the Prepare replies (late ones too) prove about a fast commit (recovery.ts). */
  evidence?: FastCommitEvidence;
}

/**
 * What a recoverer on the TryPreAccept branch knows about whether the leader could have fast-committed: members
 * (not the leader) whose Prepare reply shows they are not, and never will be, EQ voters, and whether the leader
 * itself answered without a commit (then it never fast-committed and never will: recovery.ts).
 */
export interface FastCommitEvidence {
  notEq: Set<ReplicaId>;
  leaderAnswered: boolean;
  /** Refused for an uncommitted conflict: waiting for it, or for evidence that licenses plain Phase 1. */
  deferred: boolean;
}

export class ReplicaState {
  readonly config: CoreConfig;
  /** Follows the membership (`reconfigure`). */
  quorums: Quorums;
  nextSlot = 0;
  readonly instances = new Map<InstanceKey, InstanceRecord>();
  readonly conflicts: ConflictIndex = new Map();
  /**
   * Highest seq of any instance seen on each key. seq must exceed every interfering instance's, not only the
   * deps named: an older instance stood for by a later one can have the higher seq (found by the simulator,
   * seed 384: a real-time violation inside a strongly connected component).
   */
  readonly maxSeqByKey = new Map<string, number>();
  readonly coordinating = new Map<InstanceKey, Coordination>();
  /** Tick at which an uncommitted instance becomes eligible for recovery. */
  readonly deadlines = new Map<InstanceKey, number>();
  /** Recoveries this replica started per uncommitted instance, for their backoff (recoveryRetryDelay). Volatile. */
  readonly recoveryAttempts = new Map<InstanceKey, number>();
  now = 0;
  /**
   * TryPreAccept recoveries deferred, each on the uncommitted instance that blocked it (§4.4). Volatile; an entry
   * goes when either instance commits, so it holds only recoveries waiting now.
   */
  readonly deferredOn = new Map<InstanceKey, InstanceKey>();
  /** Protocol messages dropped because they came from an older epoch. */
  fencedMessages = 0;
  /** Set while this replica joins under a new id (§4.7). */
  join: JoinProgress | undefined;
  /** No longer a member (the guardrail replaced it): it votes on nothing, leads nothing, answers nothing. */
  retired = false;
  /** Instances this replica led that committed on the fast path, on the slow path, and recoveries it started. */
  readonly stats = { fastCommits: 0, slowCommits: 0, recoveries: 0 };
  /** Fast or slow, for each own instance committed in the current step (read by the driver with Ready). */
  readonly fastPath = new Map<InstanceKey, boolean>();
  /** Own instances that took the slow path only because of slow mode: their replies allowed the fast path. */
  readonly fastEligible = new Set<InstanceKey>();
  /**
   * Instances this replica decided (as leader or recoverer) rather than learned from a Commit, until the driver
   * takes them: only a decider reports a commit to the commit log (its Ready is one transaction, so a decision
   * that did not become durable was never seen by anyone, and recovery decides it again elsewhere).
   */
  readonly decidedHere = new Set<InstanceKey>();
  // What the next Ready carries (persist comes from #changed: one latest version per record).
  #send: Message[] = [];
  #committed: InstanceRecord[] = [];
  readonly #changed = new Map<InstanceKey, InstanceRecord>();

  constructor(config: CoreConfig) {
    assert(config.members.includes(config.self), `${config.self} is not a member of ${config.members.join(',')}`);
    this.config = { ...config, members: [...config.members].sort() };
    this.quorums = quorums(config.members.length);
    this.nextSlot = 0;
  }

  get self(): ReplicaId {
    return this.config.self;
  }

  /** Whether a test switched this rule to its known-wrong variant (CoreConfig.unsafeRules). */
  unsafe(rule: UnsafeRule): boolean {
    return this.config.unsafeRules?.includes(rule) === true;
  }

  get fastQuorum(): number {
    return this.quorums.fast - (this.config.unsafeFastQuorumMinusOne ? 1 : 0);
  }

  /**
   * Ticks before this replica recovers an instance: the leader itself first, then the others in member order
   * after it, one timeout apart, so replicas rarely duel over the same instance.
   */
  recoveryDelay(id: InstanceId): number {
    // A leader that is no longer a member (replaced after losing its state) keeps its place in the ring, so its
    // survivors still take its instances one after the other rather than all at once.
    let ring = this.config.members;
    let leader = ring.indexOf(id.replica);
    if (leader < 0) {
      ring = [...ring, id.replica].sort();
      leader = ring.indexOf(id.replica);
    }
    const distance = (ring.indexOf(this.self) - leader + ring.length) % ring.length;
    return this.config.recoveryTimeoutTicks * (1 + distance);
  }

  /**
   * Ticks until this replica tries again after starting its `attempt`-th recovery of an instance: recoveryDelay
   * doubled per attempt (up to 8×), plus up to one timeout of jitter drawn from (self, instance, attempt). A fixed
   * delay livelocks once a Prepare-Accept round takes longer than it: every retry raises the ballot over the round
   * still in flight, its replies are then ignored, and replicas whose delays coincide preempt each other (the real
   * stack under CI load did this: ballots kept rising and the instance never committed). Growing delays let a
   * round finish; the jitter keeps two recoverers from firing together. Deterministic, so runs replay.
   */
  recoveryRetryDelay(id: InstanceId, attempt: number): number {
    const timeout = this.config.recoveryTimeoutTicks;
    const jitter = fnv1a(`${this.self}/${instanceKey(id)}/${attempt}`) % Math.max(1, timeout);
    return this.recoveryDelay(id) * 2 ** Math.min(attempt, 3) + jitter;
  }

  /**
   * A new membership from the guardrail (a member replaced under a new id, §4.7). Quorums follow its size. A
   * replica left out retires: what it voted stays in its records, but it takes part in nothing from now on.
   */
  reconfigure(members: readonly ReplicaId[]): void {
    this.config.members = [...members].sort();
    this.quorums = quorums(members.length);
    if (members.includes(this.self)) return;
    this.retired = true;
    this.coordinating.clear();
    this.deadlines.clear();
    this.recoveryAttempts.clear();
  }

  others(): ReplicaId[] {
    return this.config.members.filter((m) => m !== this.self);
  }

  record(id: InstanceId | InstanceKey): InstanceRecord | undefined {
    return this.instances.get(typeof id === 'string' ? id : instanceKey(id));
  }

  /** Stores a new version of a record, keeps the conflict index current, and schedules it for persistence. */
  save(record: InstanceRecord): void {
    const key = instanceKey(record.id);
    const previous = this.instances.get(key);
    assert(
      !previous || previous.status !== 'committed' || record.status === 'committed',
      () => `instance ${key} went back from committed to ${record.status}`,
    );
    assert(!record.attributes.deps.includes(key), () => `instance ${key} depends on itself`);
    this.instances.set(key, record);
    this.#index(record);
    this.#changed.set(key, record);
    if (record.status === 'committed') {
      this.deadlines.delete(key);
      this.recoveryAttempts.delete(key);
      // A deferral ends with its cause: the deferred instance or the one it waited for committed (issue #10).
      if (this.deferredOn.size > 0) {
        this.deferredOn.delete(key);
        for (const [deferred, on] of this.deferredOn) if (on === key) this.deferredOn.delete(deferred);
      }
      if (previous?.status !== 'committed') this.#committed.push(record);
    } else if (!this.deadlines.has(key)) {
      this.deadlines.set(key, this.now + this.recoveryDelay(record.id));
    }
  }

  #index(record: InstanceRecord): void {
    for (const key of keysOf(record.commands)) {
      this.maxSeqByKey.set(key, Math.max(this.maxSeqByKey.get(key) ?? 0, record.attributes.seq));
      let byReplica = this.conflicts.get(key);
      if (!byReplica) this.conflicts.set(key, (byReplica = new Map()));
      let slots = byReplica.get(record.id.replica);
      if (!slots) byReplica.set(record.id.replica, (slots = []));
      const slot = record.id.slot;
      let at = slots.length;
      while (at > 0 && slots[at - 1]! > slot) at--;
      if (slots[at - 1] !== slot) slots.splice(at, 0, slot);
      else at--;
      // Committed with a real command on the key: it stands for the older ones from now on.
      if (record.status === 'committed' && at > 0) slots.splice(0, at);
    }
  }

  /** True when `record` is committed with a command on `key`: its final deps reach the leader's older instances. */
  #standsIn(record: InstanceRecord | undefined, key: string): boolean {
    return record?.status === 'committed' && keysOf(record.commands).includes(key);
  }

  /**
   * Interfering instances this replica knows of, and the seq above them all. Per key and replica an instance
   * committed with a real command on the key stands for the older ones (its final deps name its leader's previous
   * instance on the key), so the walk down a replica's instances stops there. One that is not committed yet does
   * not: it may still be recovered as a no-op, which names nothing, and the older ones would drop out of the graph
   * (issue #7, simulator seeds 8966 and 12655 at N=3) — so every instance above the stand-in is named.
   * When the instance being (re)computed is not the latest of its own leader on a key — recovery recomputes old
   * instances — the walk goes on below it to a stand-in, or nothing would lead back to the older ones.
   */
  localAttributes(commands: Command[], self: InstanceId): Attributes {
    const selfKey = instanceKey(self);
    const deps = new Set<InstanceKey>();
    let maxSeq = 0;
    const add = (key: InstanceKey, seq: number): void => {
      if (key === selfKey) return;
      deps.add(key);
      maxSeq = Math.max(maxSeq, seq);
    };
    for (const key of keysOf(commands)) {
      // Recomputing an instance already indexed (recovery) may count its own seq: a higher seq is always safe.
      maxSeq = Math.max(maxSeq, this.maxSeqByKey.get(key) ?? 0);
      for (const [replica, slots] of this.conflicts.get(key) ?? []) {
        const own = replica === self.replica;
        let reached = false; // a stand-in below the instance being computed (own replica) or at all (others)
        for (let i = slots.length - 1; i >= 0 && !reached; i--) {
          const id = { replica, slot: slots[i]! };
          const record = this.instances.get(instanceKey(id));
          add(instanceKey(id), record?.attributes.seq ?? 0);
          reached = this.#standsIn(record, key) && (!own || id.slot < self.slot);
        }
        // Recomputing an old own instance below the stand-in (the index dropped what is under it): walk the log.
        // Otherwise the index holds the whole history of the key, and the walk above saw all of it.
        const lowest = slots[0];
        if (own && !reached && lowest !== undefined && lowest >= self.slot) {
          const first = this.instances.get(instanceKey({ replica, slot: lowest }));
          if (this.#standsIn(first, key)) this.#walkBelow(key, self, add);
        }
      }
    }
    return { seq: maxSeq + 1, deps: [...deps].sort() };
  }

  /** Names `self.replica`'s instances on `key` below `self.slot`, down to the first stand-in. Recovery only. */
  #walkBelow(key: string, self: InstanceId, add: (key: InstanceKey, seq: number) => void): void {
    for (let slot = self.slot - 1; slot >= 0; slot--) {
      const record = this.instances.get(instanceKey({ replica: self.replica, slot }));
      if (!record || !keysOf(record.commands).includes(key)) continue;
      add(instanceKey(record.id), record.attributes.seq);
      if (this.#standsIn(record, key)) return;
    }
  }

  send(message: Message): void {
    this.#send.push(message);
  }

  /** Takes the accumulated Ready and starts a new one. */
  takeReady(): Ready {
    // Runs once per step: a plain object and two fresh arrays, no spread (issue #7, simulator speed).
    const ready: Ready = {
      persist: this.#changed.size === 0 ? [] : [...this.#changed.values()],
      nextSlot: this.nextSlot,
      send: this.#send,
      committed: this.#committed,
      joining: this.join !== undefined,
    };
    this.#send = [];
    this.#committed = [];
    this.#changed.clear();
    return ready;
  }

  /** A ballot above every ballot this replica has seen for the instance, owned by this replica. */
  nextBallot(current: Ballot): Ballot {
    const epoch = Math.max(current.epoch, this.config.epoch);
    const next = { epoch, round: (current.epoch === epoch ? current.round : 0) + 1, replica: this.self };
    assert(compareBallots(next, current) > 0, 'a recovery ballot must exceed the promised one');
    return next;
  }
}

/** 32-bit FNV-1a: a cheap, stable hash for deterministic jitter. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
