/**
 * The `memory` backend: an in-process partitioned log with consumer groups and transactions, for the embedded
 * default, the test driver and the simulator. It is not a Kafka replacement; it keeps Kafka's visibility rules
 * (see log.ts) so a topology gives the same results on both backends.
 *
 * Delivery is either `auto` (batches flow by themselves, concurrently across partitions) or `manual` (only
 * `runUntilIdle()` delivers, one batch at a time, in an order drawn from the injected `random`): manual mode with
 * a seeded generator makes a whole run reproducible.
 */
import type { TopicSpec } from '../../model.ts';
import { BackendError } from '../errors.ts';
import { defaultPartition } from '../partitioner.ts';
import type {
  Backend,
  BackendRecord,
  GroupMember,
  GroupOptions,
  OutgoingRecord,
  Producer,
  TopicPartition,
  TransactionalProducer,
} from '../types.ts';
import { GroupState, tpKey, type MemberState } from './groups.ts';
import { PartitionLog } from './log.ts';
import { MemoryTransactions } from './transactions.ts';

export interface MemoryBackendOptions {
  mode?: 'auto' | 'manual';
  /** Chooses the next delivery in manual mode; seed it for reproducible runs. Default: first ready partition. */
  random?: () => number;
  maxBatchRecords?: number;
  /** Timestamp for records sent without one. */
  clock?: () => number;
}

interface Delivery {
  member: MemberState;
  tp: TopicPartition;
}

export class MemoryBackend implements Backend {
  readonly kind = 'memory' as const;
  readonly #topics = new Map<string, PartitionLog[]>();
  readonly #groups = new Map<string, GroupState>();
  readonly #transactions = new MemoryTransactions(this);
  readonly #inFlight = new Set<Promise<void>>();
  readonly #waiters = new Set<() => void>();
  readonly #options: Required<Omit<MemoryBackendOptions, 'random'>> & { random?: () => number };
  #memberSeq = 0;
  /** Topics whose records are not delivered for now: a slow fetch, for tests and the simulator. */
  readonly #held = new Set<string>();
  #kickScheduled = false;
  #closed = false;

  constructor(options: MemoryBackendOptions = {}) {
    this.#options = { mode: 'auto', maxBatchRecords: 500, clock: Date.now, ...options };
  }

  // ---- topics -------------------------------------------------------------------------------------------

  async createTopics(topics: TopicSpec[]): Promise<void> {
    for (const spec of topics) {
      const existing = this.#topics.get(spec.name);
      if (existing && existing.length !== spec.partitions) {
        throw new BackendError(
          'PARTITION_COUNT_MISMATCH',
          `topic ${spec.name} exists with ${existing.length} partitions, but ${spec.partitions} were requested`,
        );
      }
      if (!existing) {
        this.#topics.set(
          spec.name,
          Array.from({ length: spec.partitions }, (_, p) => new PartitionLog(spec.name, p)),
        );
      }
    }
  }

  async partitionCount(topic: string): Promise<number | undefined> {
    return this.#topics.get(topic)?.length;
  }

  async endOffsets(topic: string): Promise<number[]> {
    return this.logs(topic).map((log) => log.lastStableOffset); // as kafka's admin reports it
  }

  async committedOffsets(groupId: string, topic: string): Promise<(number | undefined)[]> {
    const group = this.#groups.get(groupId);
    return this.logs(topic).map((log) => group?.committed.get(tpKey(log)));
  }

  logs(topic: string): PartitionLog[] {
    const logs = this.#topics.get(topic);
    if (!logs) throw new BackendError('UNKNOWN_TOPIC', `topic ${topic} does not exist`);
    return logs;
  }

  /** Resolves a record's partition (explicit, or by key like Kafka's default partitioner). */
  logFor(record: OutgoingRecord): PartitionLog {
    const logs = this.logs(record.topic);
    const partition = record.partition ?? defaultPartition(record.key, logs.length);
    const log = logs[partition];
    if (!log) {
      throw new BackendError('UNKNOWN_PARTITION', `topic ${record.topic} has no partition ${record.partition}`);
    }
    return log;
  }

  now(): number {
    return this.#options.clock();
  }

  group(groupId: string): GroupState {
    let group = this.#groups.get(groupId);
    if (!group) this.#groups.set(groupId, (group = new GroupState(groupId)));
    return group;
  }

  // ---- producers ----------------------------------------------------------------------------------------

  async producer(): Promise<Producer> {
    return {
      send: async (records) => {
        this.#assertOpen();
        for (const record of records) {
          this.logFor(record).append({
            key: record.key,
            value: record.value,
            timestamp: record.timestamp ?? this.now(),
            headers: record.headers ?? {},
          });
        }
        this.kick();
      },
      close: async () => {},
    };
  }

  async transactionalProducer(transactionalId: string): Promise<TransactionalProducer> {
    this.#assertOpen();
    return this.#transactions.producer(transactionalId);
  }

  // ---- reading outside groups ---------------------------------------------------------------------------

  async readPartition(
    topic: string,
    partition: number,
    from: number,
    to: number,
    onRecords: (records: BackendRecord[]) => Promise<void>,
  ): Promise<void> {
    const log = this.logs(topic)[partition];
    if (!log) throw new BackendError('UNKNOWN_PARTITION', `topic ${topic} has no partition ${partition}`);
    let position = from;
    while (position < to) {
      const { records, next } = log.read(position, to, true, this.#options.maxBatchRecords);
      if (records.length > 0) await onRecords(records);
      // Stuck behind an open transaction: wait until something changes, as a read_committed fetch would.
      if (next === position) await this.#changed();
      position = next;
    }
  }

  // ---- consumer groups ----------------------------------------------------------------------------------

  async joinGroup(options: GroupOptions): Promise<GroupMember> {
    this.#assertOpen();
    for (const topic of options.topics) this.logs(topic);
    const group = this.group(options.groupId);
    const member: MemberState = {
      id: `${options.groupId}-member-${++this.#memberSeq}`,
      groupId: options.groupId,
      topics: [...options.topics],
      handler: options.handler,
      readCommitted: options.readCommitted,
      fromBeginning: options.fromBeginning,
      assigned: [],
      positions: new Map(),
      paused: new Set(),
      inFlight: new Set(),
      ready: false,
      stopped: false,
      failed: false,
    };
    group.members.push(member);
    await this.#rebalance(group);
    return {
      groupId: options.groupId,
      pause: (tps) => tps.forEach((tp) => member.paused.add(tpKey(tp))),
      resume: (tps) => {
        tps.forEach((tp) => member.paused.delete(tpKey(tp)));
        this.kick();
      },
      commitOffsets: async (offsets) => {
        group.commit(offsets);
      },
      // An eager rebalance revokes everything and assigns afresh, which is what a rejoin amounts to here.
      rejoin: () => {
        if (member.stopped || member.failed) return;
        this.#rebalance(group).catch((error: unknown) => failMember(member, error));
      },
      stop: async () => {
        if (member.stopped) return;
        member.stopped = true;
        await this.#rebalance(group);
        group.members.splice(group.members.indexOf(member), 1);
      },
    };
  }

  #rebalances = new Map<string, Promise<void>>();
  /** Rebalances not finished yet, of any group: runUntilIdle waits for them (one may follow a rejoin()). */
  readonly #rebalancing = new Set<Promise<void>>();

  /** Eager rebalance: every member gives up everything, then the new assignment is handed out. Serialised. */
  #rebalance(group: GroupState): Promise<void> {
    const previous = this.#rebalances.get(group.groupId) ?? Promise.resolve();
    const next = previous.then(() => this.#doRebalance(group));
    const settled = next.catch(() => undefined);
    this.#rebalances.set(group.groupId, settled);
    this.#rebalancing.add(settled);
    void settled.then(() => this.#rebalancing.delete(settled));
    return next;
  }

  async #doRebalance(group: GroupState): Promise<void> {
    group.generation++;
    for (const member of group.members) member.ready = false;
    await this.#drainInFlight(group.members);
    for (const member of group.members) {
      if (member.assigned.length > 0) await member.handler.onRevoked(member.assigned);
      member.assigned = [];
      member.positions.clear();
    }
    const assignment = group.assign((topic) => this.logs(topic).length);
    for (const [member, partitions] of assignment) {
      member.assigned = partitions;
      for (const tp of partitions) {
        const committed = group.committed.get(tpKey(tp));
        const log = this.logs(tp.topic)[tp.partition]!;
        member.positions.set(tpKey(tp), committed ?? (member.fromBeginning ? 0 : log.highWatermark));
      }
      const starts = await member.handler.onAssigned(partitions);
      for (const start of starts ?? []) {
        if (member.positions.has(tpKey(start))) member.positions.set(tpKey(start), start.offset);
      }
      member.ready = true;
    }
    this.kick();
  }

  async #drainInFlight(members: MemberState[]): Promise<void> {
    while (members.some((m) => m.inFlight.size > 0)) await this.#changed();
  }

  // ---- delivery -----------------------------------------------------------------------------------------

  #deliverable(): Delivery[] {
    const ready: Delivery[] = [];
    for (const group of this.#groups.values()) {
      for (const member of group.members) {
        if (!member.ready || member.stopped || member.failed) continue;
        for (const tp of member.assigned) {
          if (this.#held.has(tp.topic)) continue;
          const key = tpKey(tp);
          if (member.paused.has(key) || member.inFlight.has(key)) continue;
          const log = this.logs(tp.topic)[tp.partition]!;
          if (member.positions.get(key)! < log.readableEnd(member.readCommitted)) ready.push({ member, tp });
        }
      }
    }
    return ready;
  }

  async #deliver({ member, tp }: Delivery): Promise<void> {
    const key = tpKey(tp);
    const log = this.logs(tp.topic)[tp.partition]!;
    const position = member.positions.get(key)!;
    const { records, next } = log.read(position, Infinity, member.readCommitted, this.#options.maxBatchRecords);
    member.inFlight.add(key);
    try {
      if (records.length > 0) {
        await member.handler.onBatch({
          topic: tp.topic,
          partition: tp.partition,
          records,
          highWatermark: log.highWatermark,
          nextOffset: next,
          heartbeat: async () => {},
        });
      } else if (next > position) {
        member.handler.onPosition?.({ ...tp, nextOffset: next, highWatermark: log.highWatermark });
      }
      // A rebalance during the batch reset positions; only a still-assigned partition moves on.
      if (member.positions.get(key) === position) member.positions.set(key, next);
    } catch (error) {
      // Not retried (a handler that failed once would likely fail again): the member stops delivering and
      // its batch stays unconsumed for whoever owns the partition next.
      failMember(member, error);
    } finally {
      member.inFlight.delete(key);
      this.kick();
    }
  }

  /** Whether some member could be handed a batch (or a position move) right now. */
  hasDeliverable(): boolean {
    return this.#deliverable().length > 0;
  }

  /** Stops delivering a topic's records (as if its fetches were slow) until `release`. */
  hold(topic: string): void {
    this.#held.add(topic);
  }

  release(topic: string): void {
    this.#held.delete(topic);
    this.kick();
  }

  /** Delivers until nothing is deliverable and no delivery or rebalance is in flight (manual mode's driver; works in auto too). */
  async runUntilIdle(): Promise<void> {
    for (;;) {
      const ready = this.#deliverable();
      if (ready.length > 0) {
        const pick = this.#options.random ? Math.floor(this.#options.random() * ready.length) : 0;
        await this.#deliver(ready[pick]!);
        continue;
      }
      if (this.#inFlight.size === 0 && this.#rebalancing.size === 0) return;
      await Promise.race([...this.#inFlight, ...this.#rebalancing]);
    }
  }

  /** Something changed: wake waiters, and in auto mode start every delivery that became possible. */
  kick(): void {
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
    if (this.#options.mode !== 'auto' || this.#kickScheduled || this.#closed) return;
    this.#kickScheduled = true;
    setImmediate(() => {
      this.#kickScheduled = false;
      for (const delivery of this.#deliverable()) {
        const running = this.#deliver(delivery).catch((error: unknown) => {
          // No onError to tell: like kafkajs without a listener, the error would otherwise vanish.
          console.error(`memory backend: handler of ${delivery.member.id} failed on ${tpKey(delivery.tp)}`, error);
        });
        this.#inFlight.add(running);
        void running.finally(() => this.#inFlight.delete(running));
      }
    });
  }

  #changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.add(resolve));
  }

  #assertOpen(): void {
    if (this.#closed) throw new BackendError('BACKEND_CLOSED', 'the memory backend is closed');
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled(this.#inFlight);
    for (const wake of this.#waiters) wake();
  }
}

/** The member stops delivering and tells its handler; without onError the error is thrown (kafkajs does too). */
function failMember(member: MemberState, error: unknown): void {
  member.failed = true;
  if (!member.handler.onError) throw error;
  member.handler.onError(error);
}
