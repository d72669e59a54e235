/**
 * A stream task: one sub-topology on one input partition (Kafka Streams' task). It buffers its partitions'
 * records, runs them through the sub-topology's processors in event-time order, and commits: under
 * exactly_once the outputs, the stores' changelog records and the input offsets go in one transaction, and the
 * local stores are written only after it committed; under at_least_once the same records are sent, then the
 * stores flushed, then the offsets committed.
 */
import type { KeyValueStore } from '../../state/types.ts';
import type { BackendRecord, OutgoingRecord, PartitionOffset } from '../backend/types.ts';
import { changelogTopicName, type ErrorPolicy, type Subtopology, type Topology } from '../model.ts';
import type { Processor, StreamRecord } from '../processor.ts';
import type { ProcessorRegistry } from '../registry.ts';
import type { Clock } from './clock.ts';
import { NodeContext, type ContextHost, type Punctuation } from './context.ts';
import { deadLetter, type FailureStage } from './dead-letter.ts';
import { PartitionGroup } from './partition-group.ts';
import type { TaskStore } from './task-store.ts';
import type { TopicSerdes } from './serdes.ts';
import type { TaskOutput } from './output.ts';

export interface TaskOptions {
  topology: Topology;
  subtopology: Subtopology;
  partition: number;
  registry: ProcessorRegistry;
  serdes: TopicSerdes;
  clock: Clock;
  output: TaskOutput;
  stores: TaskStore[];
  /** Offsets where consumption of each source topic starts, and their ends, in subtopology.sourceTopics order. */
  startOffsets: number[];
  endOffsets: number[];
  maxTaskIdleMs: number;
  events: TaskEvents;
}

export interface TaskEvents {
  processed?(taskId: string, node: string, seconds: number): void;
  skipped?(taskId: string, node: string, stage: FailureStage, error: unknown): void;
  deadLettered?(taskId: string, node: string, stage: FailureStage, error: unknown): void;
  committed?(taskId: string, records: number, seconds: number): void;
}

/**
 * A task whose uncommitted work is lost, not an application failure: the app closes it without committing and
 * rejoins the group, so whoever gets its partition (this member again, or another) creates it anew from the
 * committed offsets and changelogs.
 */
export abstract class TaskLostError extends Error {
  readonly retriable = true;
  constructor(
    readonly taskId: string,
    message: string,
    cause: unknown,
  ) {
    super(message, { cause });
  }
}

/**
 * The task's transactional producer was fenced: another member now owns the task (a rebalance moved it), as
 * Kafka Streams' TaskMigratedException.
 */
export class TaskMigratedError extends TaskLostError {
  override name = 'TaskMigratedError';
  constructor(taskId: string, cause: unknown) {
    super(taskId, `task ${taskId} was migrated to another member (its producer was fenced)`, cause);
  }
}

/**
 * A commit failed for a reason that may pass (a coordinator loading or moving, concurrent transactions, a broker
 * restarting, a connection refused: the error says `retriable`), as Kafka Streams' TaskCorruptedException. The
 * task's memory is ahead of what committed, so it is closed without committing and created again, restoring from
 * its changelogs and committed offsets; its new producer fences the old one, whose transaction aborts. The
 * application goes on unless that keeps failing for longer than its task timeout (issue #11: a
 * CONCURRENT_TRANSACTIONS on commit during a first rebalance killed the process).
 */
export class TaskCorruptedError extends TaskLostError {
  override name = 'TaskCorruptedError';
  constructor(taskId: string, cause: unknown) {
    const why = (cause as Error)?.message ?? String(cause);
    super(taskId, `task ${taskId}: commit failed (${why}); creating the task again`, cause);
  }
}

/** A processing error under policy `fail`: the task stops and the application fails with it. */
export class TaskFailedError extends Error {
  override name = 'TaskFailedError';
  readonly retriable = false;
  constructor(
    readonly taskId: string,
    readonly node: string,
    /** `punctuate`: a punctuator threw (no record to skip or dead-letter, so never a skipped/dlq stage). */
    readonly stage: FailureStage | 'punctuate',
    readonly source: { topic: string; partition: number; offset: number } | undefined,
    cause: unknown,
  ) {
    const where = source ? ` on ${source.topic}[${source.partition}]@${source.offset}` : '';
    super(`task ${taskId}: ${stage} failed at ${node}${where}: ${(cause as Error)?.message ?? cause}`, { cause });
  }
}

interface RuntimeNode {
  name: string;
  kind: 'source' | 'processor' | 'sink';
  children: string[];
  processor?: Processor;
  context?: NodeContext;
  onError: ErrorPolicy;
  sinkTopic?: string;
}

export class StreamTask implements ContextHost {
  readonly id: string;
  readonly application: string;
  streamTime = -1;
  readonly #options: TaskOptions;
  readonly #nodes = new Map<string, RuntimeNode>();
  readonly #stores = new Map<string, TaskStore>();
  readonly #group: PartitionGroup;
  readonly #punctuations: Punctuation[] = [];
  /** Offset after the last processed record, per source topic: what the next commit stores. */
  readonly #consumed = new Map<string, number>();
  #pending: OutgoingRecord[] = [];
  #dirty = false;
  #current: BackendRecord | undefined;
  #waitingSince: number | undefined;
  #chain: Promise<void> = Promise.resolve();
  #closed = false;
  /** Asked to stop (stopProcessing): it finishes the record in hand, commits, and takes no more. */
  #stopping = false;
  /** A commit failed: the task must not process or commit again (see #commit). */
  #corrupted = false;

  constructor(options: TaskOptions) {
    this.#options = options;
    this.application = options.topology.spec.application;
    this.id = `${options.subtopology.id}_${options.partition}`;
    this.#group = new PartitionGroup(options.subtopology.sourceTopics, options.startOffsets, options.endOffsets);
    for (const store of options.stores) this.#stores.set(store.spec.name, store);
    this.#buildNodes();
  }

  get partition(): number {
    return this.#options.partition;
  }

  #buildNodes(): void {
    const { topology, subtopology, registry } = this.#options;
    const byName = new Map(topology.spec.nodes.map((n) => [n.name, n]));
    const children = new Map<string, string[]>();
    for (const name of subtopology.nodes) {
      const node = byName.get(name)!;
      if (node.kind !== 'source') {
        for (const parent of node.parents) children.set(parent, [...(children.get(parent) ?? []), name]);
      }
    }
    for (const name of subtopology.nodes) {
      const node = byName.get(name)!;
      const kids = children.get(name) ?? [];
      const runtime: RuntimeNode = { name, kind: node.kind, children: kids, onError: 'fail' };
      if (node.kind === 'processor') {
        runtime.processor = registry.get(node.processor)(node.config);
        runtime.context = new NodeContext(this, node, kids);
        runtime.onError = node.onError;
      } else if (node.kind === 'sink') {
        runtime.sinkTopic = node.topic;
      }
      this.#nodes.set(name, runtime);
    }
    // Deserialization failures follow the policy of the source's first processor (or fail when it has none).
    for (const node of this.#nodes.values()) {
      if (node.kind === 'source') node.onError = this.#nodes.get(node.children[0] ?? '')?.onError ?? 'fail';
    }
  }

  async init(): Promise<void> {
    for (const node of this.#nodes.values()) {
      if (node.processor?.init) await node.processor.init(node.context!);
    }
  }

  // ---- ContextHost ----------------------------------------------------------------------------------------
  get taskId(): string {
    return this.id;
  }
  wallTime(): number {
    return this.#options.clock.now();
  }
  store(name: string): KeyValueStore<unknown, unknown> | undefined {
    return this.#stores.get(name)?.store;
  }
  addPunctuation(punctuation: Punctuation): void {
    this.#punctuations.push(punctuation);
  }
  requestCommit(): void {
    this.#dirty = true;
  }

  // ---- input --------------------------------------------------------------------------------------------

  /**
   * Buffers a batch and (unless `process` is false: the next run() will) processes whatever can be processed
   * now; resolves after the resulting commit.
   */
  enqueue(
    topic: string,
    records: BackendRecord[],
    highWatermark: number,
    nextOffset: number,
    process = true,
  ): Promise<void> {
    this.#group.add(topic, records, highWatermark, nextOffset);
    return process ? this.run() : Promise.resolve();
  }

  /** The partition's fetch position moved over markers only: a task waiting for it may go on. */
  advance(topic: string, nextOffset: number, highWatermark: number, process = true): Promise<void> {
    this.#group.advance(topic, nextOffset, highWatermark);
    return process ? this.run() : Promise.resolve();
  }

  describe() {
    return {
      id: this.id,
      streamTime: this.streamTime,
      waiting: this.#group.waitingForData(),
      inputs: this.#group.describe(),
    };
  }

  buffered(topic?: string): number {
    return this.#group.buffered(topic);
  }

  /**
   * The application is stopping: finish the record in hand, commit what was processed, take no more records. What
   * stays buffered is dropped at close and fetched again from the committed offsets, as a Kafka Streams thread does
   * at shutdown — working through the whole buffer first made a replica behind a slow network take minutes to
   * stop (issue #7, network-delay chaos).
   */
  stopProcessing(): void {
    this.#stopping = true;
  }

  /** Processes what is processable, fires due punctuators and commits; serialised per task. */
  run(): Promise<void> {
    const next = this.#chain.then(() => this.#runOnce());
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async #runOnce(): Promise<void> {
    if (this.#closed || this.#corrupted) return;
    for (;;) {
      if (this.#stopping) break;
      if (this.#group.waitingForData()) {
        this.#waitingSince ??= this.wallTime();
        if (this.wallTime() - this.#waitingSince < this.#options.maxTaskIdleMs) break;
      } else {
        this.#waitingSince = undefined;
      }
      const record = this.#group.poll();
      if (!record) break;
      await this.#processRecord(record);
    }
    if (!this.#stopping) await this.#punctuate('wall', this.wallTime());
    if (this.#dirty || this.#pending.length > 0) await this.#commit();
  }

  async #processRecord(record: BackendRecord): Promise<void> {
    this.#current = record;
    const source = this.#sourceFor(record.topic);
    let typed: StreamRecord<unknown, unknown> | undefined;
    try {
      const serdes = this.#options.serdes.topic(record.topic);
      typed = {
        key: await serdes.key.deserialize(record.topic, record.key),
        value: await serdes.value.deserialize(record.topic, record.value),
        timestamp: record.timestamp,
        headers: record.headers,
      };
    } catch (error) {
      this.#handleFailure(source, 'deserialize', error);
    }
    if (typed) {
      this.streamTime = Math.max(this.streamTime, record.timestamp);
      for (const child of source.children) await this.#deliver(child, typed);
    }
    this.#consumed.set(record.topic, record.offset + 1);
    this.#dirty = true;
    this.#current = undefined;
    await this.#punctuate('stream', this.streamTime);
  }

  #sourceFor(topic: string): RuntimeNode {
    const byName = new Map(this.#options.topology.spec.nodes.map((n) => [n.name, n]));
    for (const node of this.#nodes.values()) {
      const spec = byName.get(node.name);
      if (spec?.kind === 'source' && spec.topics.includes(topic)) return node;
    }
    throw new Error(`task ${this.id} has no source for topic ${topic}`);
  }

  /** Runs one node on a record, then its forwards depth-first in the order they were made. */
  async #deliver(name: string, record: StreamRecord<unknown, unknown>): Promise<void> {
    const node = this.#nodes.get(name)!;
    if (node.kind === 'sink') return this.#emit(node, record);
    const context = node.context!;
    const started = performance.now();
    try {
      context.recordMetadata = this.#current && {
        topic: this.#current.topic,
        partition: this.#current.partition,
        offset: this.#current.offset,
      };
      await node.processor!.process(record);
    } catch (error) {
      context.takeForwards(); // a failed call's forwards are not delivered
      this.#handleFailure(node, 'process', error);
      return;
    }
    this.#options.events.processed?.(this.id, name, (performance.now() - started) / 1000);
    await this.#deliverForwards(node);
  }

  async #deliverForwards(node: RuntimeNode): Promise<void> {
    for (const forward of node.context!.takeForwards()) {
      const targets = forward.child === undefined ? node.children : [forward.child];
      for (const target of targets) await this.#deliver(target, forward.record);
    }
  }

  async #emit(node: RuntimeNode, record: StreamRecord<unknown, unknown>): Promise<void> {
    const topic = node.sinkTopic!;
    try {
      const serdes = this.#options.serdes.topic(topic);
      this.#pending.push({
        topic,
        key: await serdes.key.serialize(topic, record.key),
        value: await serdes.value.serialize(topic, record.value),
        timestamp: record.timestamp,
        headers: record.headers,
        ...(record.partition !== undefined ? { partition: record.partition } : {}),
      });
    } catch (error) {
      this.#handleFailure(node, 'serialize', error);
    }
  }

  /** Applies the node's policy: fail stops the task; dlq and skip count the record and carry on. */
  #handleFailure(node: RuntimeNode, stage: FailureStage, error: unknown): void {
    const source = this.#current;
    if (node.onError === 'fail' || !source) {
      // Only the coordinates (the declared type): the record's bytes would ride along in every log of the error.
      const where = source && { topic: source.topic, partition: source.partition, offset: source.offset };
      throw new TaskFailedError(this.id, node.name, stage, where, error);
    }
    if (node.onError === 'dlq') {
      this.#pending.push(
        deadLetter({
          dlqTopic: this.#options.topology.spec.deadLetterTopic,
          application: this.application,
          source,
          node: node.name,
          stage,
          error,
        }),
      );
      this.#options.events.deadLettered?.(this.id, node.name, stage, error);
    } else {
      this.#options.events.skipped?.(this.id, node.name, stage, error);
    }
  }

  async #punctuate(type: 'stream' | 'wall', now: number): Promise<void> {
    for (const p of this.#punctuations) {
      if (p.cancelled || p.type !== type || now < p.next) continue;
      // Like Kafka Streams, one call per due punctuation even if several intervals passed.
      p.next = now + p.intervalMs - ((now - p.next) % p.intervalMs);
      const node = this.#nodes.get(p.processor)!;
      node.context!.recordMetadata = undefined;
      try {
        await p.punctuate(now);
      } catch (error) {
        // No record to skip or dead-letter: a punctuator's error always fails the task, named like the others.
        node.context!.takeForwards();
        throw new TaskFailedError(this.id, node.name, 'punctuate', undefined, error);
      }
      await this.#deliverForwards(node);
      this.#dirty = true;
    }
  }

  // ---- commit -------------------------------------------------------------------------------------------

  async #commit(): Promise<void> {
    const started = performance.now();
    const records = [...this.#pending];
    for (const store of this.#stores.values()) {
      if (!store.spec.changelog) continue;
      const topic = changelogTopicName(this.application, store.spec.name);
      for (const entry of await store.pendingChangelog()) {
        records.push({ topic, partition: this.partition, key: entry.key, value: entry.value });
      }
    }
    const offsets: PartitionOffset[] = [...this.#consumed].map(([topic, offset]) => ({
      topic,
      partition: this.partition,
      offset,
    }));
    try {
      await this.#options.output.commit(records, offsets);
    } catch (error) {
      // The stores drop the writes of what was processed since the last commit, but the processors' memory, the
      // consumed offsets and the outputs still include them: committing anything later from this task would pass
      // those records with their store writes lost (an agent skipped a position that way). The task is corrupted:
      // it neither processes nor commits again, and closes dirty; its next owner restores from the changelogs.
      this.#corrupted = true;
      for (const store of this.#stores.values()) store.discard();
      if ((error as { code?: string }).code === 'PRODUCER_FENCED') throw new TaskMigratedError(this.id, error);
      if ((error as { retriable?: boolean }).retriable === true) throw new TaskCorruptedError(this.id, error);
      throw error;
    }
    for (const store of this.#stores.values()) await store.flush(store.restoreFrom);
    this.#pending = [];
    this.#dirty = false;
    this.#options.events.committed?.(this.id, records.length, (performance.now() - started) / 1000);
  }

  /**
   * Closes a migrated task without committing or checkpointing: its pending writes are discarded, buffered records
   * dropped, processors and stores closed; the producer is fenced already.
   */
  async closeDirty(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#group.clear();
    this.#pending = [];
    for (const node of this.#nodes.values()) await node.processor?.close?.()?.catch?.(() => undefined);
    for (const store of this.#stores.values()) {
      store.discard();
      await store.close().catch(() => undefined);
    }
    await this.#options.output.close().catch(() => undefined);
  }

  /** Commits what was processed, closes processors and stores; buffered records are dropped (refetched). */
  async close(checkpoints?: Map<string, number>): Promise<void> {
    await this.#chain;
    if (this.#corrupted) return this.closeDirty(); // no checkpoint: its stores may be behind its memory
    if (this.#closed) return;
    this.#closed = true;
    this.#group.clear();
    for (const node of this.#nodes.values()) await node.processor?.close?.();
    for (const store of this.#stores.values()) {
      const checkpoint = checkpoints?.get(store.spec.name);
      if (checkpoint !== undefined) await store.flush(checkpoint);
      await store.close();
    }
    await this.#options.output.close();
  }
}
