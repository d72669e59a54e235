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
      this.commitHops.get(id)!.set(instanceKey(record.id), hops);
      this.executors.get(id)!.add(record);
    }
    if (ready.committed.length > 0) this.executed.get(id)!.push(...this.executors.get(id)!.run().executed);
    for (const message of ready.send) this.pool.push({ seq: this.#seq++, message, hops: hops + 1 });
    return ready;
  }

  propose(id: ReplicaId, commands: Command[]): InstanceId {
    this.step(id, { type: 'propose', commands });
    return this.replica(id).lastProposed!;
  }

  /** Delivers one message from the pool (by position); a message to a crashed replica is lost. */
  deliver(position: number): void {
    const [flight] = this.pool.splice(position, 1);
    if (!flight) throw new RangeError(`no message at position ${position}`);
    this.step(flight.message.to, { type: 'message', message: flight.message }, flight.hops);
  }

  /** Delivers the first message matching `where`; returns false when none matches. */
  deliverWhere(where: (m: Message) => boolean): boolean {
    const position = this.pool.findIndex((f) => where(f.message));
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
  deliverAll(limit = 100_000): void {
    for (let i = 0; this.pool.length > 0; i++) {
      if (i >= limit) throw new Error(`still ${this.pool.length} messages in flight after ${limit} deliveries`);
      this.deliver(0);
    }
  }

  tick(id?: ReplicaId): void {
    for (const r of id ? [id] : this.ids) this.step(r, { type: 'tick' });
  }

  crash(id: ReplicaId): void {
    this.crashed.add(id);
    this.pool = this.pool.filter((f) => f.message.to !== id);
  }

  /** Restarts a crashed replica from what it persisted (its changelog), executor included. */
  restart(id: ReplicaId): void {
    const durable = this.durable.get(id)!;
    const records = [...durable.records.values()].map((r) => structuredClone(r));
    this.replicas.set(id, new Replica(this.#config(id), { records, nextSlot: durable.nextSlot }));
    const executor = new Executor(this.executed.get(id)!.map((r) => instanceKey(r.id)));
    for (const record of records) if (record.status === 'committed') executor.add(record);
    this.executors.set(id, executor);
    this.executed.get(id)!.push(...executor.run().executed);
    this.crashed.delete(id);
  }

  committedAt(id: ReplicaId, instance: InstanceId): InstanceRecord | undefined {
    const record = this.replica(id).state.record(instance);
    return record?.status === 'committed' ? record : undefined;
  }
}

export const command = (id: string, ...keys: string[]): Command => ({ id, keys, payload: new Uint8Array() });
