/**
 * StreamsApp runs a topology on a backend, like a KafkaStreams instance: it creates the topics, joins the
 * application's consumer group, turns assigned partitions into tasks (restoring their stores from changelogs
 * first), feeds them batches with back-pressure, drives wall-clock time, and closes tasks on revocation.
 */
import type { KeyValueStore } from '../../state/types.ts';
import type { PartitionOffset, Backend, GroupMember, Producer, RecordBatch, TopicPartition } from '../backend/types.ts';
import { changelogTopicName, type Subtopology, type Topology } from '../model.ts';
import { internalTopics } from '../validate.ts';
import type { ProcessorRegistry } from '../registry.ts';
import { systemClock, type Clock } from './clock.ts';
import { atLeastOnceOutput, exactlyOnceOutput, type TaskOutput } from './output.ts';
import { topicSerdes, type SerdeFactory, type TopicSerdes } from './serdes.ts';
import type { StoreOpener, TaskStore } from './task-store.ts';
import { StreamTask, TaskCorruptedError, TaskLostError, type TaskEvents } from './task.ts';

export interface AppEvents extends TaskEvents {
  /** In changelog offsets (transaction markers included), from 0 up to exactly `total` once restored. */
  restoreProgress?(taskId: string, store: string, restored: number, total: number): void;
  taskCreated?(taskId: string): void;
  taskClosed?(taskId: string): void;
  /** A retriable commit failure: the task is closed dirty and will be created again. */
  taskCorrupted?(taskId: string, error: Error): void;
  failed?(error: Error): void;
}

export interface StreamsAppOptions {
  topology: Topology;
  registry: ProcessorRegistry;
  backend: Backend;
  serdes: SerdeFactory;
  openStore: StoreOpener;
  clock?: Clock;
  /** How long a task waits for an empty partition known to hold more data before processing anyway. */
  maxTaskIdleMs?: number;
  /** Back-pressure: a partition is paused once this many of its records wait in a task. */
  maxBufferedRecords?: number;
  /** Period of the wall-clock tick (punctuators, idle timeouts); 0 = none (the caller calls tick()). */
  tickMs?: number;
  /**
   * How long a task may keep failing to commit with retriable errors, created again after each, before the
   * application fails (Kafka Streams' task.timeout.ms; `parley run` reads PARLEY_TASK_TIMEOUT_MS). Default 5 min.
   */
  taskTimeoutMs?: number;
  events?: AppEvents;
}

export type AppState = 'created' | 'running' | 'stopped' | 'failed';

export class StreamsApp {
  state: AppState = 'created';
  error: Error | undefined;
  /**
   * While true, batches are only buffered in their tasks; the next tick() processes them (the test driver's
   * settle() does this). Delivered one partition at a time, as the manual memory backend does, a task would
   * process one topic's records before it learned that a co-partitioned topic holds older ones; buffering all
   * that is deliverable first gives the event-time order a first poll across all partitions gives.
   */
  bufferOnly = false;
  readonly #options: Required<Omit<StreamsAppOptions, 'events'>> & { events: AppEvents };
  readonly #serdes: TopicSerdes;
  readonly #tasks = new Map<string, StreamTask>();
  readonly #paused = new Map<string, TopicPartition>();
  /** Tasks lost (fenced or corrupted) and closed; their batches are ignored until reassigned by the rejoin. */
  readonly #lost = new Set<string>();
  /** Per task that failed to commit with a retriable error: since when, until it commits again. */
  readonly #corruptedSince = new Map<string, number>();
  #member: GroupMember | undefined;
  #producer: Producer | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failure: ((error: Error) => void)[] = [];

  constructor(options: StreamsAppOptions) {
    this.#options = {
      clock: systemClock,
      // A cap, not a delay: tasks wait for known data (partition-group.ts); this only bounds a stuck partition.
      maxTaskIdleMs: 10_000,
      maxBufferedRecords: 2_000,
      tickMs: 50,
      taskTimeoutMs: 300_000,
      events: {},
      ...options,
    };
    this.#serdes = topicSerdes(options.topology, options.serdes);
  }

  get application(): string {
    return this.#options.topology.spec.application;
  }

  get groupId(): string {
    return this.application;
  }

  get exactlyOnce(): boolean {
    return this.#options.topology.spec.guarantee === 'exactly_once';
  }

  /** Every task's inputs (buffered, fetch position, known end) and whether it waits for data. */
  describeTasks() {
    return [...this.#tasks.values()].map((t) => t.describe());
  }

  taskIds(): string[] {
    return [...this.#tasks.keys()].sort();
  }

  /** A store of the task that owns `partition` of the store's sub-topology (for the test driver and queries). */
  store<K, V>(name: string, partition: number): KeyValueStore<K, V> | undefined {
    const sub = this.#options.topology.subtopologies.find((s) => s.stores.includes(name));
    return this.#tasks.get(`${sub?.id}_${partition}`)?.store(name) as KeyValueStore<K, V> | undefined;
  }

  /** Resolves with the error that failed the application (it never resolves if none does). */
  whenFailed(): Promise<Error> {
    if (this.error) return Promise.resolve(this.error);
    return new Promise((resolve) => this.#failure.push(resolve));
  }

  async start(): Promise<void> {
    if (this.state !== 'created') throw new Error(`application ${this.application} was already started`);
    const { backend, topology } = this.#options;
    await backend.createTopics([...topology.spec.topics, ...internalTopics(topology)]);
    if (!this.exactlyOnce) this.#producer = await backend.producer();
    this.state = 'running';
    const sources = [...new Set(topology.subtopologies.flatMap((s) => s.sourceTopics))];
    this.#member = await backend.joinGroup({
      groupId: this.groupId,
      topics: sources,
      readCommitted: this.exactlyOnce,
      fromBeginning: true,
      handler: {
        onAssigned: async (tps) => {
          let starts: PartitionOffset[] = [];
          await this.#guard(async () => void (starts = await this.#onAssigned(tps)));
          return starts;
        },
        onRevoked: (tps) => this.#guard(() => this.#onRevoked(tps)),
        onBatch: (batch) => this.#guard(() => this.#onBatch(batch)),
        onPosition: (p) =>
          void this.#guard(async () => {
            await this.#tasks
              .get(`${this.#subtopologyOf(p.topic).id}_${p.partition}`)
              ?.advance(p.topic, p.nextOffset, this.#knownEnd(p.highWatermark, p.nextOffset), !this.bufferOnly);
          }),
        // The client gave up (the handlers above never reject): nothing more will be delivered.
        onError: (error) => this.#fail(error instanceof Error ? error : new Error(String(error))),
      },
    });
    // The first assignment ran inside joinGroup, before #member was set: if it failed the app, #fail could not
    // leave the group, and the member would hold its partitions for nobody (the handlers ignore a failed app).
    if ((this.state as AppState) === 'failed') {
      await this.#member.stop().catch(() => undefined);
      return;
    }
    if (this.#options.tickMs > 0) {
      this.#timer = setInterval(() => void this.tick(), this.#options.tickMs);
      this.#timer.unref();
    }
  }

  /** Advances wall-clock work on every task: punctuators and idle timeouts. */
  async tick(): Promise<void> {
    if (this.state !== 'running') return;
    await this.#guard(async () => {
      for (const task of this.#tasks.values()) await task.run();
      this.#resumeDrained();
    });
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    if (this.state === 'stopped') return;
    if (this.state === 'running') this.state = 'stopped';
    // Batches in flight end after the record in hand (each task commits it): stopping waits for those, not for
    // every buffered record.
    for (const task of this.#tasks.values()) task.stopProcessing();
    await this.#member?.stop().catch(() => undefined); // revokes and closes every task
    for (const task of this.#tasks.values()) await task.close().catch(() => undefined);
    this.#tasks.clear();
    await this.#producer?.close();
  }

  /**
   * Errors never escape into the backend: they fail the application, which stops consuming — except a lost task
   * (TaskLostError), which is closed on its own while the others go on, and created again after the rejoin.
   */
  async #guard(fn: () => Promise<void>): Promise<void> {
    if (this.state === 'failed') return;
    try {
      await fn();
    } catch (error) {
      if (error instanceof TaskCorruptedError) return this.#onCorrupted(error);
      if (error instanceof TaskLostError) return this.#onLost(error);
      this.#fail(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * Closes the lost task (fenced, or corrupted by a retriable commit failure) dirty, then rejoins the group (Kafka Streams' handleLostAll plus resubscribe). Waiting
   * for the next rebalance is not enough: the group may already have handed the partition back to this member,
   * or never taken it away (a zombie fenced by a peer that then lost it), and the member's assignment diff calls
   * such a partition kept, so the task would never be created again and its records never processed.
   */
  async #onLost(error: TaskLostError): Promise<void> {
    const task = this.#tasks.get(error.taskId);
    this.#tasks.delete(error.taskId);
    this.#lost.add(error.taskId);
    this.#options.events.taskClosed?.(error.taskId);
    await task?.closeDirty();
    this.#member?.rejoin();
  }

  /**
   * A retriable commit failure: the task is closed dirty and created again by the rejoin (#onLost), unless
   * it has kept failing for longer than the task timeout — then the application fails, saying so.
   */
  async #onCorrupted(error: TaskCorruptedError): Promise<void> {
    const now = this.#options.clock.now();
    const since = this.#corruptedSince.get(error.taskId) ?? now;
    this.#corruptedSince.set(error.taskId, since);
    if (now - since > this.#options.taskTimeoutMs) {
      const cause = (error.cause as Error | undefined)?.message ?? String(error.cause);
      this.#fail(
        new Error(
          `task ${error.taskId} failed to commit with retriable errors for ${now - since} ms, longer than the ` +
            `task timeout of ${this.#options.taskTimeoutMs} ms (taskTimeoutMs, PARLEY_TASK_TIMEOUT_MS); last: ${cause}`,
          { cause: error },
        ),
      );
      return;
    }
    this.#options.events.taskCorrupted?.(error.taskId, error);
    await this.#onLost(error);
  }

  #fail(error: Error): void {
    if (this.state === 'failed') return;
    this.state = 'failed';
    this.error = error;
    if (this.#timer) clearInterval(this.#timer);
    this.#options.events.failed?.(error);
    for (const notify of this.#failure) notify(error);
    void this.#member?.stop().catch(() => undefined);
  }

  #subtopologyOf(topic: string): Subtopology {
    const sub = this.#options.topology.subtopologies.find((s) => s.sourceTopics.includes(topic));
    if (!sub) throw new Error(`topic ${topic} feeds no sub-topology of ${this.application}`);
    return sub;
  }

  /** Creates the tasks of newly assigned partitions; returns where each of their inputs starts (committed). */
  async #onAssigned(tps: TopicPartition[]): Promise<PartitionOffset[]> {
    const wanted = new Map<string, { sub: Subtopology; partition: number }>();
    for (const tp of tps) {
      const sub = this.#subtopologyOf(tp.topic);
      wanted.set(`${sub.id}_${tp.partition}`, { sub, partition: tp.partition });
    }
    const starts: PartitionOffset[] = [];
    for (const [id, { sub, partition }] of wanted) {
      this.#lost.delete(id);
      if (this.#tasks.has(id)) continue;
      const task = await this.#createTask(sub, partition);
      this.#tasks.set(id, task);
      for (const input of task.describe().inputs) starts.push({ topic: input.topic, partition, offset: input.fetched });
    }
    return starts.filter((s) => tps.some((tp) => tp.topic === s.topic && tp.partition === s.partition));
  }

  async #createTask(sub: Subtopology, partition: number): Promise<StreamTask> {
    const id = `${sub.id}_${partition}`;
    // The producer comes first: initialising it fences a zombie owner and aborts its open transaction, so the
    // changelog below holds only committed data when it is read.
    const output: TaskOutput = this.exactlyOnce
      ? exactlyOnceOutput(await this.#options.backend.transactionalProducer(`${this.application}-${id}`), this.groupId)
      : atLeastOnceOutput(this.#producer!, () => this.#member!);
    const stores: TaskStore[] = [];
    try {
      const task = await this.#startTask(sub, partition, output, stores);
      this.#options.events.taskCreated?.(id);
      return task;
    } catch (error) {
      // A task that did not start releases what it opened: RocksDB keeps its directory locked until closed, so
      // the next attempt in this process (a restarted app, the next assignment) could not open the store.
      for (const store of stores) await store.close().catch(() => undefined);
      await output.close().catch(() => undefined);
      throw error;
    }
  }

  /** Opens and restores the stores (into `stores`, for the caller to close on failure), then builds the task. */
  async #startTask(sub: Subtopology, partition: number, output: TaskOutput, stores: TaskStore[]): Promise<StreamTask> {
    const { backend, topology } = this.#options;
    const id = `${sub.id}_${partition}`;
    for (const name of sub.stores) {
      const spec = topology.spec.stores.find((s) => s.name === name)!;
      const store = await this.#options.openStore(spec, id, partition);
      stores.push(store);
      if (spec.changelog) await this.#restore(id, store, partition);
    }
    const committed = await Promise.all(sub.sourceTopics.map((t) => backend.committedOffsets(this.groupId, t)));
    const ends = await Promise.all(sub.sourceTopics.map((t) => backend.endOffsets(t)));
    const task = new StreamTask({
      topology,
      subtopology: sub,
      partition,
      registry: this.#options.registry,
      serdes: this.#serdes,
      clock: this.#options.clock,
      output,
      stores,
      startOffsets: committed.map((c) => c[partition] ?? 0),
      endOffsets: ends.map((e) => e[partition] ?? 0),
      maxTaskIdleMs: this.#options.maxTaskIdleMs,
      events: {
        ...this.#options.events,
        // A commit that goes through ends a run of retriable failures: the task timeout counts from scratch.
        committed: (taskId, records, seconds) => {
          this.#corruptedSince.delete(taskId);
          this.#options.events.committed?.(taskId, records, seconds);
        },
      },
    });
    await task.init();
    return task;
  }

  async #restore(taskId: string, store: TaskStore, partition: number): Promise<void> {
    const topic = changelogTopicName(this.application, store.spec.name);
    const end = (await this.#options.backend.endOffsets(topic))[partition] ?? 0;
    const from = Math.min(store.restoreFrom, end);
    const progress = (offset: number) =>
      this.#options.events.restoreProgress?.(taskId, store.spec.name, offset - from, end - from);
    progress(from);
    // Progress counts offsets, as the total does: under exactly_once transaction markers take offsets too, so
    // counting records would never reach the total.
    let position = from;
    await this.#options.backend.readPartition(topic, partition, from, end, async (records) => {
      await store.restore(records.map((r) => ({ key: r.key ?? Buffer.alloc(0), value: r.value })));
      position = records[records.length - 1]!.offset + 1;
      progress(position);
    });
    if (position < end) progress(end); // the range ended in markers or aborted records
    await store.flush(end);
  }

  async #onRevoked(tps: TopicPartition[]): Promise<void> {
    const ids = new Set(tps.map((tp) => `${this.#subtopologyOf(tp.topic).id}_${tp.partition}`));
    for (const id of ids) {
      const task = this.#tasks.get(id);
      if (!task) continue;
      this.#tasks.delete(id);
      try {
        await task.close(await this.#checkpoints(task));
      } catch (error) {
        // Fenced, or a retriable failure, while committing its last work: that work is the new owner's to redo.
        // The other revoked tasks must still be closed, so this is not thrown.
        if (!(error instanceof TaskLostError)) throw error;
        await task.closeDirty();
      }
      this.#options.events.taskClosed?.(id);
    }
    // Forget our pauses of what was taken away, and lift them: a client keeps a partition paused across a
    // rebalance (kafkajs does, and so does the memory backend), so one that comes back to this member would
    // otherwise stay paused with nobody left to resume it.
    const lifted = tps.filter((tp) => this.#paused.delete(`${tp.topic}/${tp.partition}`));
    if (lifted.length > 0) this.#member?.resume(lifted);
  }

  /** Changelog end offsets after the task's last commit: where a later restore may start. */
  async #checkpoints(task: StreamTask): Promise<Map<string, number>> {
    const checkpoints = new Map<string, number>();
    const sub = this.#options.topology.subtopologies.find((s) => task.id.startsWith(`${s.id}_`))!;
    for (const name of sub.stores) {
      const spec = this.#options.topology.spec.stores.find((s) => s.name === name)!;
      if (!spec.changelog) continue;
      const ends = await this.#options.backend.endOffsets(changelogTopicName(this.application, name));
      checkpoints.set(name, ends[task.partition] ?? 0);
    }
    return checkpoints;
  }

  async #onBatch(batch: RecordBatch): Promise<void> {
    const sub = this.#subtopologyOf(batch.topic);
    const id = `${sub.id}_${batch.partition}`;
    const task = this.#tasks.get(id);
    // A lost task's records belong to whoever owns it after the rejoin, who reads them again from the commits.
    if (!task && this.#lost.has(id)) return;
    if (!task) throw new Error(`batch for ${batch.topic}[${batch.partition}] arrived before its task was created`);
    const { topic, records, highWatermark, nextOffset } = batch;
    const known = this.#knownEnd(highWatermark, nextOffset);
    const processing = task.enqueue(topic, records, known, nextOffset, !this.bufferOnly);
    if (task.buffered(batch.topic) > this.#options.maxBufferedRecords) {
      this.#paused.set(`${batch.topic}/${batch.partition}`, { topic: batch.topic, partition: batch.partition });
      this.#member!.pause([{ topic: batch.topic, partition: batch.partition }]);
    }
    await processing;
    this.#resumeDrained();
  }

  /**
   * What a task may count on still arriving in a partition. Under read_committed the high watermark also counts
   * records of transactions still open, which cannot be fetched until they end: waiting for them stalled a
   * two-input task behind another producer's transaction (bench/hop-latency.ts --suite two-inputs). The fetch
   * response's last stable offset would be right, but kafkajs drops it; so read_committed tasks rely on the end
   * offsets (last stable) read when the task starts, and on nothing later.
   */
  #knownEnd(highWatermark: number, nextOffset: number): number {
    return this.exactlyOnce ? nextOffset : highWatermark;
  }

  #resumeDrained(): void {
    for (const [key, tp] of this.#paused) {
      const task = this.#tasks.get(`${this.#subtopologyOf(tp.topic).id}_${tp.partition}`);
      if (!task || task.buffered(tp.topic) <= this.#options.maxBufferedRecords / 2) {
        this.#paused.delete(key);
        this.#member?.resume([tp]);
      }
    }
  }
}
