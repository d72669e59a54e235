/**
 * A consumer-group member on kafkajs. kafkajs has no revocation callback, so assignment changes are derived from
 * the GROUP_JOIN instrumentation event, which kafkajs emits synchronously inside join+sync, before it fetches for
 * the new generation. Each event's `memberAssignment` is diffed against what the handler was last told:
 * onRevoked(lost partitions), then onAssigned(new ones), serialised on one promise chain. A batch of a newly
 * assigned partition waits (heartbeating) inside eachBatch for that chain, so it never reaches onBatch before
 * onAssigned resolved.
 *
 * Rebalancing is EAGER in kafkajs (no cooperative protocol) and its JoinGroup does not wait for our callbacks:
 * when another member triggers a rebalance, this member rejoins and may learn of its losses only after the
 * coordinator has handed them to someone else, so onRevoked can run AFTER the new owner's onAssigned. Safety under
 * exactly-once therefore does not come from callback order but from transactional-id fencing: one transactional
 * producer per task (`<application>-<task>`), initialised by the new owner, fences the old owner's producer and
 * aborts its open transaction, so a zombie can neither commit output nor offsets (kafkajs sends TxnOffsetCommit
 * v0/v1 only, without KIP-447's generation check). Only stop() keeps the order the contract states: it stops
 * delivery, runs onRevoked, and leaves the group afterwards.
 *
 * A partition kept across a rebalance continues where delivery stood (kafkajs would restart it from the committed
 * offset: see #restorePositions). A new member id (kafkajs restarted the consumer after a crash, or the coordinator
 * forgot us) means the old assignment may have had another owner meanwhile: everything is revoked and assigned
 * afresh, from the committed offsets.
 *
 * rejoin() is the way back after the handler learned that it was fenced: it revokes everything, leaves, and joins
 * as a new member, so whatever the coordinator assigns now is assigned afresh (a fenced partition the diff would
 * call "kept" gets a new task instead of none).
 *
 * Errors: a rejected onBatch/onAssigned/onRevoked is not retried. kafkajs would re-deliver the batch forever
 * (its runner retries, then restarts the consumer), hiding a bug or a poison record. Instead the member fails:
 * nothing more is delivered, the failed batch's offset is not resolved, the consumer leaves the group (so the
 * partitions move to other members, which start from the committed offsets), and handler.onError gets the error.
 */
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { GroupHandler, GroupMember, GroupOptions, PartitionOffset, TopicPartition } from '../types.ts';
import { coPartitionedAssigner } from './assigner.ts';
import { KafkaError, toBackendError } from './errors.ts';
import { toBackendRecord, tpKey } from './records.ts';

/**
 * PARLEY_DEBUG_GROUP=1: every join, seek, position and batch of the member, on stderr. The line is built only
 * then: some are per batch.
 */
const debug = process.env['PARLEY_DEBUG_GROUP']
  ? (line: () => string) => console.error(line())
  : (_line: () => string) => undefined;

export interface GroupSettings {
  heartbeatIntervalMs: number;
  maxWaitTimeMs: number;
  partitionsConsumedConcurrently: number;
}

type State = 'running' | 'stopping' | 'failed' | 'stopped';

/** Heartbeat answers after which kafkajs rejoins the group by itself (its isRebalancing, plus a forgotten member). */
const REJOIN_TYPES = new Set([
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'NOT_COORDINATOR_FOR_GROUP',
  'UNKNOWN_MEMBER_ID',
]);

function byTopic(partitions: TopicPartition[]): { topic: string; partitions: number[] }[] {
  const map = new Map<string, number[]>();
  for (const { topic, partition } of partitions) map.set(topic, [...(map.get(topic) ?? []), partition]);
  return [...map].map(([topic, list]) => ({ topic, partitions: list }));
}

function flatten(assignment: Record<string, number[]>): Map<string, TopicPartition> {
  const result = new Map<string, TopicPartition>();
  for (const [topic, partitions] of Object.entries(assignment)) {
    for (const partition of partitions) result.set(tpKey({ topic, partition }), { topic, partition });
  }
  return result;
}

export class KafkaGroupMember implements GroupMember {
  readonly groupId: string;
  readonly #consumer: Consumer;
  readonly #options: GroupOptions;
  readonly #handler: GroupHandler;
  readonly #settings: GroupSettings;
  /** What the handler was told it owns. */
  #owned = new Map<string, TopicPartition>();
  /** Per owned partition: the callback chain step that ends with its onAssigned. */
  readonly #ready = new Map<string, Promise<void>>();
  #callbacks: Promise<void> = Promise.resolve();
  #memberId: string | undefined;
  /** Next offset to hand over per owned partition: kafkajs forgets fetch positions at every rejoin. */
  readonly #positions = new Map<string, number>();
  readonly #paused = new Map<string, TopicPartition>();
  readonly #inFlight = new Set<Promise<void>>();
  #state: State = 'running';
  #failed = false;
  #disconnecting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #rejoining: Promise<void> | undefined;
  /**
   * kafkajs's runner is stopped (a rejoin, or a crash it restarts from) and has not joined again: there is no
   * consumer group to seek in until the next GROUP_JOIN, which comes with a new member id and assigns afresh.
   */
  #runnerStopped = false;

  constructor(kafka: Kafka, options: GroupOptions, settings: GroupSettings) {
    this.groupId = options.groupId;
    this.#options = options;
    this.#handler = options.handler;
    this.#settings = settings;
    this.#consumer = kafka.consumer({
      groupId: options.groupId,
      readUncommitted: !options.readCommitted,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: settings.heartbeatIntervalMs,
      maxWaitTimeInMs: settings.maxWaitTimeMs,
      partitionAssigners: [coPartitionedAssigner],
    });
  }

  /** Connects, subscribes and joins; resolves after the first join (onAssigned may still be running). */
  async start(): Promise<void> {
    const consumer = this.#consumer;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: this.#options.topics, fromBeginning: this.#options.fromBeginning });
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
        this.#onGroupJoin(payload.memberId, payload.memberAssignment),
      );
      // Batches of only markers or aborted records never reach eachBatch; kafkajs resolves them itself and
      // reports how far it got here (runner.js, kafkajs#1256). batchSize 0 tells them from delivered batches.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const key = tpKey(payload);
        if (payload.batchSize !== 0 || this.#state !== 'running' || !this.#owned.has(key)) return;
        const nextOffset = Number(payload.lastOffset) + 1;
        debug(() => `position ${key} ${nextOffset} (no records)`);
        this.#positions.set(key, nextOffset);
        this.#handler.onPosition?.({
          topic: payload.topic,
          partition: payload.partition,
          nextOffset,
          highWatermark: Number(payload.highWatermark),
        });
      });
      consumer.on(consumer.events.STOP, () => (this.#runnerStopped = true));
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) this.#fail(toBackendError(payload.error, `consumer of group ${this.groupId}`));
      });
      await this.#run();
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      throw toBackendError(error, `joining group ${this.groupId}`);
    }
  }

  #run(): Promise<void> {
    return this.#consumer.run({
      autoCommit: false, // offsets are committed by commitOffsets or inside transactions
      eachBatchAutoResolve: false, // a skipped (paused, stopping) batch must be fetched again
      partitionsConsumedConcurrently: this.#settings.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
  }

  rejoin(): void {
    if (this.#state !== 'running' || this.#rejoining) return;
    this.#rejoining = this.#rejoin()
      .catch((error: unknown) => this.#fail(toBackendError(error, `rejoining group ${this.groupId}`)))
      .finally(() => (this.#rejoining = undefined));
  }

  /**
   * kafkajs has no unsubscribe; stopping the runner (it waits for eachBatch calls to return, then leaves the
   * group) and running it again is its way to join as a new member. Not awaited by whoever asked for it: it may
   * be inside eachBatch, which stopping waits for.
   */
  async #rejoin(): Promise<void> {
    debug(() => `rejoin ${this.#memberId ?? '(no member id)'}`);
    await this.#consumer.stop(); // emits STOP: #runnerStopped until the next join
    await this.#callbacks;
    if (this.#state !== 'running') return; // stop() came meanwhile and revokes what is left
    const owned = [...this.#owned.values()];
    this.#owned = new Map();
    this.#ready.clear();
    this.#positions.clear();
    this.#memberId = undefined;
    if (owned.length > 0) await this.#handler.onRevoked(owned);
    if (this.#state !== 'running') return;
    await this.#run();
  }

  #onGroupJoin(memberId: string, assignment: Record<string, number[]>): void {
    this.#runnerStopped = false;
    if (this.#state !== 'running') return;
    const next = flatten(assignment);
    debug(() => `join ${memberId} ${JSON.stringify(assignment)}`);
    const lost = this.#memberId !== undefined && this.#memberId !== memberId;
    this.#memberId = memberId;
    if (lost) this.#positions.clear();
    const revoked = [...this.#owned].filter(([key]) => lost || !next.has(key));
    const assigned = [...next].filter(([key]) => lost || !this.#owned.has(key));
    this.#owned = next;
    for (const [key] of revoked) this.#positions.delete(key);
    this.#restorePositions(next);
    if (revoked.length === 0 && assigned.length === 0) return;
    const step = this.#callbacks.then(async () => {
      if (revoked.length > 0) await this.#handler.onRevoked(revoked.map(([, tp]) => tp));
      if (assigned.length > 0) {
        const starts = await this.#handler.onAssigned(assigned.map(([, tp]) => tp));
        // The handler knows where its tasks stand; seeking there does not depend on how kafkajs resolves a
        // partition without a committed offset (a restarted app once found such partitions at their end).
        for (const start of starts ?? []) {
          const key = tpKey(start);
          // A stopped runner has no consumer group to seek in ("consumer#run must be called first"); the next
          // join revokes this assignment anyway and assigns afresh.
          if (!this.#owned.has(key) || this.#runnerStopped) continue;
          this.#positions.set(key, start.offset);
          debug(() => `seek ${key} to ${start.offset} (onAssigned)`);
          this.#consumer.seek({ topic: start.topic, partition: start.partition, offset: String(start.offset) });
        }
      }
    });
    this.#callbacks = step.catch((error: unknown) => this.#fail(error));
    for (const [key] of revoked) this.#ready.delete(key);
    for (const [key] of assigned) this.#ready.set(key, step);
  }

  /**
   * Every rejoin gives kafkajs a fresh OffsetManager that fetches from the committed offset, so a partition kept
   * across a rebalance would be handed over again from there (duplicates the handler was never told about, as it
   * was not revoked). Seeking kept partitions back to where delivery stood keeps them continuous; with autoCommit
   * off, kafkajs's seek only moves the fetch position (offsetManager.seek). Pauses are reapplied the same way,
   * since a consumer restarted after a crash forgets them.
   */
  #restorePositions(owned: Map<string, TopicPartition>): void {
    try {
      for (const [key, tp] of owned) {
        const position = this.#positions.get(key);
        if (position === undefined) continue;
        debug(() => `seek ${key} to ${position} (rejoin)`);
        this.#consumer.seek({ ...tp, offset: String(position) });
      }
      const paused = [...this.#paused.values()].filter((tp) => owned.has(tpKey(tp)));
      if (paused.length > 0) this.#consumer.pause(byTopic(paused));
    } catch (error) {
      this.#fail(toBackendError(error, `restoring positions in group ${this.groupId}`));
    }
  }

  #deliverable(key: string, ready: Promise<void>): boolean {
    return this.#state === 'running' && !this.#paused.has(key) && this.#ready.get(key) === ready;
  }

  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const tp = { topic: batch.topic, partition: batch.partition };
    const key = tpKey(tp);
    const ready = this.#ready.get(key);
    debug(
      () =>
        `eachBatch ${key} n=${batch.messages.length} ready=${!!ready} paused=${this.#paused.has(key)} state=${this.#state}`,
    );
    // Returning without resolveOffset leaves the fetch position where it was: the batch comes again later.
    if (!ready || !this.#deliverable(key, ready)) return;
    if (!(await this.#awaitReady(ready, payload)) || !this.#deliverable(key, ready)) return;
    // A batch fetched before a seek (onAssigned's start offsets, a rejoin's restored positions) can be delivered
    // after it, and kafkajs applies the pending seek at its next fetch: the same records would come twice. The
    // position this member last delivered up to is the truth; records below it were handed over already.
    const position = this.#positions.get(key);
    const fresh = position === undefined ? batch.messages : batch.messages.filter((m) => Number(m.offset) >= position);
    if (fresh.length === 0 && position !== undefined && batch.messages.length > 0) {
      debug(() => `eachBatch ${key} stale below ${position}`);
      payload.resolveOffset(String(position - 1));
      return;
    }
    const records = fresh.map((message) => toBackendRecord(batch.topic, batch.partition, message));
    // Async wrapper: a handler that throws synchronously fails the member like one that rejects.
    const delivery = (async () =>
      this.#handler.onBatch({
        ...tp,
        records,
        highWatermark: Number(batch.highWatermark),
        nextOffset: Number(batch.lastOffset()) + 1,
        heartbeat: () => this.#heartbeat(payload),
      }))();
    this.#inFlight.add(delivery);
    try {
      await delivery;
    } catch (error) {
      this.#fail(error);
      return;
    } finally {
      this.#inFlight.delete(delivery);
    }
    // lastOffset() counts control records and aborted records after the last delivered one (batch.js).
    payload.resolveOffset(batch.lastOffset());
    this.#positions.set(key, Number(batch.lastOffset()) + 1);
    debug(() => `eachBatch done ${key}`);
  }

  /**
   * Waits for onAssigned, heartbeating so a long restore does not cost the membership. A heartbeat error (the
   * group is rebalancing) propagates to kafkajs, which rejoins and fetches this batch again later.
   */
  async #awaitReady(ready: Promise<void>, payload: EachBatchPayload): Promise<boolean> {
    let settled = false;
    const outcome = ready.then(
      () => (settled = true),
      () => !(settled = true),
    );
    while (!settled) {
      let timer: NodeJS.Timeout | undefined;
      const tick = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#settings.heartbeatIntervalMs)));
      await Promise.race([outcome, tick]);
      clearTimeout(timer);
      if (!settled) await payload.heartbeat();
    }
    return outcome;
  }

  /** For handlers: a rebalance in progress is not their error; kafkajs rejoins after the batch (runner.js). */
  async #heartbeat(payload: EachBatchPayload): Promise<void> {
    try {
      await payload.heartbeat();
    } catch (error) {
      const type = (error as { type?: string }).type;
      if (REJOIN_TYPES.has(type ?? '')) return;
      throw toBackendError(error, `heartbeat of group ${this.groupId}`);
    }
  }

  /** The first failure stops delivery and is reported, also while stopping (stop() then does the leaving). */
  #fail(error: unknown): void {
    if (this.#failed || this.#state === 'stopped') return;
    this.#failed = true;
    let left = Promise.resolve();
    if (this.#state === 'running') {
      this.#state = 'failed';
      // Not awaited: this may run inside eachBatch, and disconnecting waits for eachBatch to return.
      left = this.#disconnecting = this.#consumer.disconnect().catch(() => undefined);
    }
    void left.then(() => {
      if (this.#handler.onError) this.#handler.onError(error);
      else
        queueMicrotask(() => {
          throw error;
        });
    });
  }

  pause(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.#paused.set(tpKey(tp), tp);
    this.#withConsumer((consumer) => consumer.pause(byTopic(partitions)));
  }

  resume(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.#paused.delete(tpKey(tp));
    this.#withConsumer((consumer) => consumer.resume(byTopic(partitions)));
  }

  /** kafkajs throws while its consumer restarts after a crash; the pause set is reapplied on the next join. */
  #withConsumer(action: (consumer: Consumer) => void): void {
    if (this.#state !== 'running') return;
    try {
      action(this.#consumer);
    } catch {
      // reapplied by #onGroupJoin
    }
  }

  async commitOffsets(offsets: PartitionOffset[]): Promise<void> {
    if (this.#state === 'failed' || this.#state === 'stopped') {
      throw new KafkaError('MEMBER_STOPPED', `group ${this.groupId}: this member has stopped`, false);
    }
    try {
      await this.#consumer.commitOffsets(
        offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: String(offset) })),
      );
    } catch (error) {
      throw toBackendError(error, `committing offsets of group ${this.groupId}`);
    }
  }

  stop(): Promise<void> {
    return (this.#stopping ??= this.#stop());
  }

  /** Stops delivery, waits for batches and callbacks in flight, runs onRevoked, and only then leaves the group. */
  async #stop(): Promise<void> {
    if (this.#state === 'running') {
      this.#state = 'stopping';
      try {
        this.#consumer.pause(this.#options.topics.map((topic) => ({ topic })));
      } catch {
        // not running (crashed and restarting): nothing to pause
      }
    }
    await Promise.allSettled(this.#inFlight);
    await this.#rejoining;
    await this.#callbacks;
    const owned = [...this.#owned.values()];
    this.#owned = new Map();
    this.#ready.clear();
    let revokeError: unknown;
    if (owned.length > 0) await this.#handler.onRevoked(owned).catch((error: unknown) => (revokeError = error));
    await (this.#disconnecting ??= this.#consumer.disconnect().catch(() => undefined));
    this.#state = 'stopped';
    if (revokeError !== undefined) throw revokeError;
  }
}
