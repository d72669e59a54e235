/**
 * N EPaxos replicas in one process with a message pool the caller (a test or the simulator) delivers, drops,
 * duplicates and reorders; crash-restart rebuilds a replica from what it persisted, and `replace` loses a replica's
 * state for good and starts a fresh one under a new id that joins (§4.7). Every committed instance is fed to the
 * replica's executor. Each message carries its causal hop count, so tests can assert message delays
 * (EPAXOS-NOTES.md §7 G1: fast path 2 hops after the leader ingests, slow path 4).
 */
import { Executor } from '../processors/epaxos/core/execution.ts';
import type { DecidedValue } from './checkers.ts';
import type { Message } from '../processors/epaxos/core/messages.ts';
import { Replica, type Input } from '../processors/epaxos/core/replica.ts';
import type { CoreConfig, Ready, UnsafeRule } from '../processors/epaxos/core/state.ts';
import {
  instanceKey,
  parseInstanceKey,
  type Command,
  type InstanceId,
  type InstanceKey,
  type InstanceRecord,
  type ReplicaId,
} from '../processors/epaxos/core/types.ts';

export interface InFlight {
  seq: number;
  message: Message;
  /**
   * The message's sender and receiver, copied, and as one bit each (replica i is 1 << i): the pool is scanned by
   * them at every delivery, and reading them on the messages themselves (nine shapes) and in sets of ids was a
   * fifth of the simulator's time.
   */
  from: ReplicaId;
  to: ReplicaId;
  fromBit: number;
  toBit: number;
  /** Causal depth: 1 for a message sent while handling a proposal, +1 per reply. */
  hops: number;
}

interface Durable {
  records: Map<InstanceKey, InstanceRecord>;
  nextSlot: number;
  /** Still joining (Ready.joining): a restart joins again. */
  joining: boolean;
}

/** One replica's parts, found with one lookup per step (the public maps hold the same objects, for tests). */
interface Node {
  bit: number;
  replica: Replica;
  durable: Durable;
  executor: Executor;
  executed: InstanceRecord[];
  /** When it executed each instance (cluster time): a client's answer comes from its replica's execution. */
  executedAt: Map<InstanceKey, number>;
  commitHops: Map<InstanceKey, number>;
  /** Instances blocking execution and since when (ticks), for recovery of unknown deps. */
  blockedSince: Map<InstanceKey, number>;
  /** Its state is gone for good (replaced under a new id): it never steps again. */
  lost: boolean;
}

export interface GuardedConfig {
  epoch: number;
  mode: 'fast' | 'slow';
  /** The membership in force (default: the cluster's). */
  members?: ReplicaId[];
}

export interface ClusterOptions {
  n: number;
  mode?: 'fast' | 'slow';
  recoveryTimeoutTicks?: number;
  epoch?: number;
  unsafeFastQuorumMinusOne?: boolean;
  unsafeSkipJoin?: boolean;
  /** TEST ONLY: known-wrong recovery rules (state.ts UnsafeRule). */
  unsafeRules?: readonly UnsafeRule[];
}

export class Cluster {
  /** The members in force, in order: the first N ids, with each replaced one's successor in its place. */
  ids: ReplicaId[];
  /** Every replica there ever was, lost ones too (their history stays checked). */
  readonly allIds: ReplicaId[];
  readonly replicas = new Map<ReplicaId, Replica>();
  readonly durable = new Map<ReplicaId, Durable>();
  readonly executors = new Map<ReplicaId, Executor>();
  /** Per replica, instances in the order it executed them. */
  readonly executed = new Map<ReplicaId, InstanceRecord[]>();
  /** Per replica, when it executed each instance. */
  readonly executedAt = new Map<ReplicaId, Map<InstanceKey, number>>();
  /** Per replica, the hop count of the step in which each instance committed there. */
  readonly commitHops = new Map<ReplicaId, Map<InstanceKey, number>>();
  readonly #crashed = new Set<ReplicaId>();
  /** The crashed replicas' bits (see InFlight). */
  #downBits = 0;
  readonly #nodes = new Map<ReplicaId, Node>();
  /** Logical time, advanced by whoever drives the cluster; commits are stamped with it. */
  time = 0;
  /** When each instance first committed at its own leader: the client's acknowledgement. */
  readonly acknowledgedAt = new Map<InstanceKey, number>();
  readonly proposedAt = new Map<InstanceKey, number>();
  pool: InFlight[] = [];
  /**
   * What a leader fast-committed (instance → value), and every decision a recovery took (a commit decided at a
   * ballot above the default one), for the direct check that recovery of a fast commit ends with its attributes
   * (issue #8; checkers.ts checkFastCommitRecovery).
   */
  readonly fastCommitted = new Map<InstanceKey, DecidedValue>();
  readonly recoveryDecisions = new Map<InstanceKey, DecidedValue[]>();
  /** Instances some recoverer sent TryPreAccept for (the optimized recovery's branch was reached). */
  readonly triedPreAccept = new Set<InstanceKey>();
  /** Every commit a leader decided for its own instance (fast, slow or by recovering it), in order. */
  readonly ownDecisions: { replica: ReplicaId; key: InstanceKey }[] = [];
  #seq = 0;
  readonly #config: (id: ReplicaId, guarded?: GuardedConfig) => CoreConfig;

  constructor(readonly options: ClusterOptions) {
    this.ids = Array.from({ length: options.n }, (_, i) => `r${i}`);
    this.allIds = [...this.ids];
    this.#config = (self, guarded) => ({
      self,
      members: guarded?.members ?? this.ids,
      epoch: guarded?.epoch ?? options.epoch ?? 1,
      mode: guarded?.mode ?? options.mode ?? 'fast',
      recoveryTimeoutTicks: options.recoveryTimeoutTicks ?? 10,
      ...(options.unsafeFastQuorumMinusOne ? { unsafeFastQuorumMinusOne: true } : {}),
      ...(options.unsafeSkipJoin ? { unsafeSkipJoin: true } : {}),
      ...(options.unsafeRules?.length ? { unsafeRules: options.unsafeRules } : {}),
    });
    for (const id of this.ids) this.#add(id, new Replica(this.#config(id)), false);
  }

  #add(id: ReplicaId, replica: Replica, joining: boolean): void {
    const bit = 2 ** this.#nodes.size;
    if (bit > 2 ** 30) throw new RangeError(`too many replicas for the pool's bit sets: ${id}`);
    const node: Node = {
      bit,
      replica,
      durable: { records: new Map(), nextSlot: 0, joining },
      executor: new Executor(),
      executed: [],
      executedAt: new Map(),
      commitHops: new Map(),
      blockedSince: new Map(),
      lost: false,
    };
    this.#nodes.set(id, node);
    this.replicas.set(id, node.replica);
    this.durable.set(id, node.durable);
    this.executors.set(id, node.executor);
    this.executed.set(id, node.executed);
    this.executedAt.set(id, node.executedAt);
    this.commitHops.set(id, node.commitHops);
  }

  /** Whether the replica's state was lost for good (it was replaced). */
  isLost(id: ReplicaId): boolean {
    return this.#node(id).lost;
  }

  /**
   * `old` loses its state for good, its process gone, and a fresh replica `fresh` takes its place in the
   * membership `guarded` (the guardrail's replacement at a new epoch): it starts empty and joins (§4.7). Messages
   * to `old` have no consumer any more and are dropped; its own in flight are still delivered.
   */
  replace(old: ReplicaId, fresh: ReplicaId, guarded: GuardedConfig & { members: ReplicaId[] }): void {
    const node = this.#node(old);
    node.lost = true;
    this.#crashed.delete(old);
    this.#downBits |= node.bit;
    this.pool = this.pool.filter((f) => f.to !== old);
    this.ids = this.ids.map((id) => (id === old ? fresh : id));
    this.allIds.push(fresh);
    this.#add(fresh, Replica.joining(this.#config(fresh, guarded)), true);
  }

  get crashed(): ReadonlySet<ReplicaId> {
    return this.#crashed;
  }

  /** The bits of a set of replicas (see InFlight). */
  bitsOf(ids: Iterable<ReplicaId>): number {
    let bits = 0;
    for (const id of ids) bits |= this.#node(id).bit;
    return bits;
  }

  replica(id: ReplicaId): Replica {
    return this.#node(id).replica;
  }

  #node(id: ReplicaId): Node {
    const node = this.#nodes.get(id);
    if (!node) throw new Error(`no replica ${id}`);
    return node;
  }

  /** Runs one input at a replica and applies its Ready: persist, then send (STYLE.md §2). */
  step(id: ReplicaId, input: Input, hops = 0): Ready | undefined {
    const node = this.#node(id);
    if ((node.bit & this.#downBits) !== 0) return undefined;
    const ready = node.replica.step(input);
    for (const record of ready.persist) node.durable.records.set(instanceKey(record.id), frozen(record));
    node.durable.nextSlot = ready.nextSlot;
    node.durable.joining = ready.joining;
    for (const record of ready.committed) {
      const key = instanceKey(record.id);
      this.#noteDecision(id, node.replica, record, key);
      node.commitHops.set(key, hops);
      if (record.id.replica === id && !this.acknowledgedAt.has(key)) this.acknowledgedAt.set(key, this.time);
      node.executor.add(record);
    }
    if (ready.committed.length > 0) this.#execute(node);
    for (const message of ready.send) {
      const { from, to } = message;
      if (message.type === 'TryPreAccept') this.triedPreAccept.add(instanceKey(message.instance));
      const receiver = this.#node(to);
      if (receiver.lost) continue; // sent by a member that has not seen the replacement yet: no one reads it
      this.pool.push({ seq: this.#seq++, message, from, to, fromBit: node.bit, toBit: receiver.bit, hops: hops + 1 });
    }
    return ready;
  }

  /**
   * Notes a commit this replica decided itself: on the fast path as the leader, or as a recoverer (at a ballot
   * above the leader's default one). Read from the core's own bookkeeping (fastPath, decidedHere), which the
   * simulator never clears.
   */
  #noteDecision(id: ReplicaId, replica: Replica, record: InstanceRecord, key: InstanceKey): void {
    const s = replica.state;
    if (!s.decidedHere.has(key)) return;
    const decision: DecidedValue = {
      replica: id,
      commands: record.commands.map((c) => c.id),
      seq: record.attributes.seq,
      deps: record.attributes.deps,
      at: this.time,
    };
    if (record.id.replica === id) this.ownDecisions.push({ replica: id, key });
    const { vbal } = record;
    if (vbal.round === 0 && vbal.replica === record.id.replica) {
      if (record.id.replica === id && s.fastPath.get(key) === true) this.fastCommitted.set(key, decision);
      return;
    }
    let list = this.recoveryDecisions.get(key);
    if (!list) this.recoveryDecisions.set(key, (list = []));
    list.push(decision);
  }

  propose(id: ReplicaId, commands: Command[]): InstanceId {
    this.step(id, { type: 'propose', commands });
    const instance = this.replica(id).lastProposed!;
    this.proposedAt.set(instanceKey(instance), this.time);
    return instance;
  }

  #execute(node: Node): void {
    const { executed, blockedOn } = node.executor.run();
    for (const record of executed) {
      node.executed.push(record);
      node.executedAt.set(instanceKey(record.id), this.time);
    }
    if (blockedOn.length === 0 && node.blockedSince.size === 0) return;
    const since = node.blockedSince;
    const now = node.replica.state.now;
    node.blockedSince = new Map(blockedOn.map((k) => [k, since.get(k) ?? now]));
  }

  /** Delivers one message from the pool (by position); a crashed replica cannot receive (its messages wait). */
  deliver(position: number): void {
    const flight = this.pool[position];
    if (!flight) throw new RangeError(`no message at position ${position}`);
    if (this.crashed.has(flight.message.to)) throw new Error(`${flight.message.to} is down: it cannot receive`);
    this.pool.splice(position, 1);
    this.step(flight.message.to, { type: 'message', message: flight.message }, flight.hops);
  }

  /** Positions of messages whose receiver is up and that neither come from nor go to a `held` replica. */
  deliverable(held: ReadonlySet<ReplicaId> = new Set()): number[] {
    const out: number[] = [];
    const heldBits = this.bitsOf(held);
    for (let i = 0; i < this.pool.length; i++) if (this.#canDeliver(this.pool[i]!, heldBits, 0)) out.push(i);
    return out;
  }

  /**
   * The position of the `nth` (0-based) deliverable message in pool order, or -1: `deliverable()[nth]` without
   * building the list at every delivery of the simulator. `countDeliverable` sizes the choice.
   */
  nthDeliverable(nth: number, heldBits = 0, pausedBits = 0): number {
    for (let i = 0, seen = 0; i < this.pool.length; i++) {
      if (this.#canDeliver(this.pool[i]!, heldBits, pausedBits) && seen++ === nth) return i;
    }
    return -1;
  }

  /** `heldBits`: replicas cut off (nothing from or to them); `pausedBits`: paused replicas, whose incoming messages wait. */
  countDeliverable(heldBits = 0, pausedBits = 0): number {
    let count = 0;
    for (const flight of this.pool) if (this.#canDeliver(flight, heldBits, pausedBits)) count++;
    return count;
  }

  #canDeliver(f: InFlight, heldBits: number, pausedBits: number): boolean {
    return ((this.#downBits | pausedBits) & f.toBit) === 0 && ((f.fromBit | f.toBit) & heldBits) === 0;
  }

  /** Delivers the first message matching `where`; returns false when none matches. */
  deliverWhere(where: (m: Message) => boolean): boolean {
    const position = this.pool.findIndex((f) => !this.crashed.has(f.to) && where(f.message));
    if (position < 0) return false;
    this.deliver(position);
    return true;
  }

  drop(where: (m: Message) => boolean): number {
    const before = this.pool.length;
    this.pool = this.pool.filter((f) => !where(f.message));
    return before - this.pool.length;
  }

  /** Delivers in FIFO order until nothing is deliverable (or `limit` deliveries, against livelock). */
  deliverAll(limit = 100_000): void {
    for (let i = 0; ; i++) {
      const next = this.nthDeliverable(0);
      if (next < 0) return;
      if (i >= limit) throw new Error(`still ${this.pool.length} messages in flight after ${limit} deliveries`);
      this.deliver(next);
    }
  }

  /**
   * Advances a replica's ticks. An instance that has blocked execution for two recovery timeouts and that the
   * replica itself never saw (so it has no deadline of its own) is recovered (DESIGN.md §3).
   */
  tick(id?: ReplicaId): void {
    for (const r of id ? [id] : this.ids) {
      const node = this.#node(r);
      if ((node.bit & this.#downBits) !== 0) continue;
      this.step(r, { type: 'tick' });
      const now = node.replica.state.now;
      const timeout = 2 * (this.options.recoveryTimeoutTicks ?? 10);
      for (const [key, since] of node.blockedSince) {
        if (now - since < timeout || node.replica.state.record(key)) continue;
        node.blockedSince.set(key, now);
        this.step(r, { type: 'recover', instance: parseInstanceKey(key) });
      }
    }
  }

  /**
   * Stops a replica between two steps. Messages to it stay in the pool: on Kafka they wait in the protocol topic
   * and are consumed after the restart (a step is atomic: its records and messages commit in one transaction).
   */
  crash(id: ReplicaId): void {
    this.#crashed.add(id);
    this.#downBits |= this.#node(id).bit;
  }

  /**
   * Restarts a crashed replica from what it persisted (its changelog), executor included. `guarded`: the epoch
   * and mode the guardrail holds now, which a restarted processor reads at init (else the cluster's options).
   */
  restart(id: ReplicaId, guarded?: GuardedConfig): void {
    const node = this.#node(id);
    if (node.lost) throw new Error(`${id} lost its state: it cannot restart (it was replaced)`);
    // Persisted records are frozen values (see `frozen`): the new replica may share them without a copy.
    const records = [...node.durable.records.values()];
    const { nextSlot, joining } = node.durable;
    node.replica = new Replica(this.#config(id, guarded), { records, nextSlot, joining });
    node.executor = new Executor(node.executed.map((r) => instanceKey(r.id)));
    for (const record of records) if (record.status === 'committed') node.executor.add(record);
    this.replicas.set(id, node.replica);
    this.executors.set(id, node.executor);
    this.#crashed.delete(id);
    this.#downBits &= ~node.bit;
    this.#execute(node);
  }

  committedAt(id: ReplicaId, instance: InstanceId): InstanceRecord | undefined {
    const record = this.replica(id).state.record(instance);
    return record?.status === 'committed' ? record : undefined;
  }
}

/**
 * What a replica persisted, made immutable instead of copied: the core replaces records, never edits them, so a
 * frozen record is as good as a copy of the changelog — and an in-place edit (which would make the live state
 * differ from what a restart rebuilds) throws at once instead of hiding. structuredClone here was a third of the
 * simulator's time. Payload bytes cannot be frozen (typed arrays); the core never writes them.
 */
function frozen(record: InstanceRecord): InstanceRecord {
  if (Object.isFrozen(record)) return record;
  Object.freeze(record.id);
  Object.freeze(record.ballot);
  Object.freeze(record.vbal);
  Object.freeze(record.attributes.deps);
  Object.freeze(record.attributes);
  if (!Object.isFrozen(record.commands)) {
    for (const c of record.commands) Object.freeze(Object.freeze(c).keys);
    Object.freeze(record.commands);
  }
  return Object.freeze(record);
}

export const command = (id: string, ...keys: string[]): Command => ({ id, keys, payload: new Uint8Array() });
