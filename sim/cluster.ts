/**
 * N EPaxos replicas in one process with a message pool the caller (a test or the simulator) delivers, drops,
 * duplicates and reorders; crash-restart rebuilds a replica from what it persisted. Every committed instance is
 * fed to the replica's executor. Each message carries its causal hop count, so tests can assert message delays
 * (EPAXOS-NOTES.md §7 G1: fast path 2 hops after the leader ingests, slow path 4).
 */
import { Executor } from '../processors/epaxos/core/execution.ts';
import type { Message } from '../processors/epaxos/core/messages.ts';
import { Replica, type Input } from '../processors/epaxos/core/replica.ts';
import type { CoreConfig, Ready } from '../processors/epaxos/core/state.ts';
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
  /** Causal depth: 1 for a message sent while handling a proposal, +1 per reply. */
  hops: number;
}

interface Durable {
  records: Map<InstanceKey, InstanceRecord>;
  nextSlot: number;
}

export interface ClusterOptions {
  n: number;
  mode?: 'fast' | 'slow';
  recoveryTimeoutTicks?: number;
  epoch?: number;
  unsafeFastQuorumMinusOne?: boolean;
}

export class Cluster {
  readonly ids: ReplicaId[];
  readonly replicas = new Map<ReplicaId, Replica>();
  readonly durable = new Map<ReplicaId, Durable>();
  readonly executors = new Map<ReplicaId, Executor>();
  /** Per replica, instances in the order it executed them. */
  readonly executed = new Map<ReplicaId, InstanceRecord[]>();
  /** Per replica, the hop count of the step in which each instance committed there. */
  readonly commitHops = new Map<ReplicaId, Map<InstanceKey, number>>();
  readonly crashed = new Set<ReplicaId>();
  /** Logical time, advanced by whoever drives the cluster; commits are stamped with it. */
  time = 0;
  /** When each instance first committed at its own leader: the client's acknowledgement. */
  readonly acknowledgedAt = new Map<InstanceKey, number>();
  readonly proposedAt = new Map<InstanceKey, number>();
  /** Per replica, instances blocking execution and since when (ticks), for recovery of unknown deps. */
  readonly #blockedSince = new Map<ReplicaId, Map<InstanceKey, number>>();
  pool: InFlight[] = [];
  #seq = 0;
  readonly #config: (id: ReplicaId) => CoreConfig;

  constructor(readonly options: ClusterOptions) {
    this.ids = Array.from({ length: options.n }, (_, i) => `r${i}`);
    this.#config = (self) => ({
      self,
      members: this.ids,
      epoch: options.epoch ?? 1,
      mode: options.mode ?? 'fast',
      recoveryTimeoutTicks: options.recoveryTimeoutTicks ?? 10,
      ...(options.unsafeFastQuorumMinusOne ? { unsafeFastQuorumMinusOne: true } : {}),
    });
    for (const id of this.ids) {
      this.replicas.set(id, new Replica(this.#config(id)));
      this.durable.set(id, { records: new Map(), nextSlot: 0 });
      this.executors.set(id, new Executor());
      this.executed.set(id, []);
      this.commitHops.set(id, new Map());
    }
  }

  replica(id: ReplicaId): Replica {
    const replica = this.replicas.get(id);
    if (!replica) throw new Error(`no replica ${id}`);
    return replica;
  }

  /** Runs one input at a replica and applies its Ready: persist, then send (STYLE.md §2). */
  step(id: ReplicaId, input: Input, hops = 0): Ready | undefined {
    if (this.crashed.has(id)) return undefined;
    const ready = this.replica(id).step(input);
    const durable = this.durable.get(id)!;
    for (const record of ready.persist) durable.records.set(instanceKey(record.id), structuredClone(record));
    durable.nextSlot = ready.nextSlot;
    for (const record of ready.committed) {
      const key = instanceKey(record.id);
      this.commitHops.get(id)!.set(key, hops);
      if (record.id.replica === id && !this.acknowledgedAt.has(key)) this.acknowledgedAt.set(key, this.time);
      this.executors.get(id)!.add(record);
    }
    if (ready.committed.length > 0) this.#execute(id);
    for (const message of ready.send) this.pool.push({ seq: this.#seq++, message, hops: hops + 1 });
    return ready;
  }

  propose(id: ReplicaId, commands: Command[]): InstanceId {
    this.step(id, { type: 'propose', commands });
    const instance = this.replica(id).lastProposed!;
    this.proposedAt.set(instanceKey(instance), this.time);
    return instance;
  }

  #execute(id: ReplicaId): void {
    const { executed, blockedOn } = this.executors.get(id)!.run();
    this.executed.get(id)!.push(...executed);
    const since = this.#blockedSince.get(id) ?? new Map<InstanceKey, number>();
    const now = this.replica(id).state.now;
    this.#blockedSince.set(id, new Map(blockedOn.map((k) => [k, since.get(k) ?? now])));
  }

  /** Delivers one message from the pool (by position); a message to a crashed replica is lost. */
  deliver(position: number): void {
    const flight = this.pool[position];
    if (!flight) throw new RangeError(`no message at position ${position}`);
    if (this.crashed.has(flight.message.to)) throw new Error(`${flight.message.to} is down: it cannot receive`);
    this.pool.splice(position, 1);
    this.step(flight.message.to, { type: 'message', message: flight.message }, flight.hops);
  }

  /** Positions of messages whose receiver is up (and that `blocked` does not hold back). */
  deliverable(blocked: (m: Message) => boolean = () => false): number[] {
    const out: number[] = [];
    this.pool.forEach((f, i) => {
      if (!this.crashed.has(f.message.to) && !blocked(f.message)) out.push(i);
    });
    return out;
  }

  /** Delivers the first message matching `where`; returns false when none matches. */
  deliverWhere(where: (m: Message) => boolean): boolean {
    const position = this.pool.findIndex((f) => !this.crashed.has(f.message.to) && where(f.message));
    if (position < 0) return false;
    this.deliver(position);
    return true;
  }

  drop(where: (m: Message) => boolean): number {
    const before = this.pool.length;
    this.pool = this.pool.filter((f) => !where(f.message));
    return before - this.pool.length;
  }

  /** Delivers in FIFO order until the pool is empty (or `limit` deliveries, against livelock). */
  /** Delivers in FIFO order until nothing is deliverable (or `limit` deliveries, against livelock). */
  deliverAll(limit = 100_000): void {
    for (let i = 0; ; i++) {
      const [next] = this.deliverable();
      if (next === undefined) return;
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
      if (this.crashed.has(r)) continue;
      this.step(r, { type: 'tick' });
      const now = this.replica(r).state.now;
      const timeout = 2 * (this.options.recoveryTimeoutTicks ?? 10);
      for (const [key, since] of this.#blockedSince.get(r) ?? []) {
        if (now - since < timeout || this.replica(r).state.record(key)) continue;
        this.#blockedSince.get(r)!.set(key, now);
        this.step(r, { type: 'recover', instance: parseInstanceKey(key) });
      }
    }
  }

  /**
   * Stops a replica between two steps. Messages to it stay in the pool: on Kafka they wait in the protocol topic
   * and are consumed after the restart (a step is atomic: its records and messages commit in one transaction).
   */
  crash(id: ReplicaId): void {
    this.crashed.add(id);
  }

  /** Restarts a crashed replica from what it persisted (its changelog), executor included. */
  restart(id: ReplicaId): void {
    const durable = this.durable.get(id)!;
    const records = [...durable.records.values()].map((r) => structuredClone(r));
    this.replicas.set(id, new Replica(this.#config(id), { records, nextSlot: durable.nextSlot }));
    const executor = new Executor(this.executed.get(id)!.map((r) => instanceKey(r.id)));
    for (const record of records) if (record.status === 'committed') executor.add(record);
    this.executors.set(id, executor);
    this.crashed.delete(id);
    this.#execute(id);
  }

  committedAt(id: ReplicaId, instance: InstanceId): InstanceRecord | undefined {
    const record = this.replica(id).state.record(instance);
    return record?.status === 'committed' ? record : undefined;
  }
}

export const command = (id: string, ...keys: string[]): Command => ({ id, keys, payload: new Uint8Array() });
