/**
 * TopologyTestDriver, after Kafka Streams' test kit: runs a topology on the memory backend with a manual wall
 * clock, with no broker. Pipe input records, advance wall time, read what the sinks wrote (committed only),
 * inspect stores. Every call returns once the topology is idle, so tests never wait on time.
 */
import type { Serde } from '../schemas/serde.ts';
import type { KeyValueStore } from '../state/types.ts';
import { MemoryBackend } from './backend/memory/backend.ts';
import type { BackendHeaders } from './backend/types.ts';
import type { Topology } from './model.ts';
import { internalTopics } from './validate.ts';
import type { StreamRecord } from './processor.ts';
import type { ProcessorRegistry } from './registry.ts';
import { StreamsApp, type AppEvents } from './runtime/app.ts';
import { ManualClock } from './runtime/clock.ts';
import { topicSerdes, type SerdeFactory, type TopicSerdes } from './runtime/serdes.ts';
import type { StoreOpener } from './runtime/task-store.ts';

export interface TestDriverOptions {
  registry: ProcessorRegistry;
  serdes: SerdeFactory;
  openStore: StoreOpener;
  /** Initial wall-clock time (epoch ms). */
  wallClockMs?: number;
  maxTaskIdleMs?: number;
  events?: AppEvents;
  /** Seeded choice of delivery order across partitions; default: a fixed order. */
  random?: () => number;
}

export interface PipeOptions {
  timestamp?: number;
  headers?: BackendHeaders;
  partition?: number;
}

export class TopologyTestDriver {
  readonly backend: MemoryBackend;
  readonly app: StreamsApp;
  readonly clock: ManualClock;
  readonly #serdes: TopicSerdes;
  readonly #cursors = new Map<string, number[]>();

  private constructor(
    readonly topology: Topology,
    options: TestDriverOptions,
  ) {
    this.clock = new ManualClock(options.wallClockMs ?? 0);
    this.backend = new MemoryBackend({
      mode: 'manual',
      clock: () => this.clock.now(),
      ...(options.random ? { random: options.random } : {}),
    });
    // Internal topics too, so readOutput can read dead letters (bytes) and changelogs (the store's formats).
    const withInternal = { ...topology.spec, topics: [...topology.spec.topics, ...internalTopics(topology)] };
    this.#serdes = topicSerdes({ ...topology, spec: withInternal }, options.serdes);
    this.app = new StreamsApp({
      topology,
      registry: options.registry,
      backend: this.backend,
      serdes: options.serdes,
      openStore: options.openStore,
      clock: this.clock,
      tickMs: 0,
      ...(options.maxTaskIdleMs !== undefined ? { maxTaskIdleMs: options.maxTaskIdleMs } : {}),
      ...(options.events ? { events: options.events } : {}),
    });
  }

  static async create(topology: Topology, options: TestDriverOptions): Promise<TopologyTestDriver> {
    const driver = new TopologyTestDriver(topology, options);
    try {
      await driver.app.start();
      await driver.settle();
    } catch (error) {
      // The caller never gets the driver to close: release its stores (RocksDB locks) here.
      await driver.close().catch(() => undefined);
      throw error;
    }
    return driver;
  }

  /** Produces one record (serialized with the topic's serdes) and runs the topology until idle. */
  async pipeInput(topic: string, key: unknown, value: unknown, options: PipeOptions = {}): Promise<void> {
    await this.pipeInputs(topic, [{ key, value, ...options }]);
  }

  /**
   * Produces records and (unless `process: false`) runs the topology until idle. `process: false` lets a test
   * put records on several topics first, as a broker would hold them when an application starts, then call
   * `settle()`.
   */
  async pipeInputs(
    topic: string,
    records: ({ key: unknown; value: unknown } & PipeOptions)[],
    options: { process?: boolean } = {},
  ): Promise<void> {
    const serdes = this.#serdes.topic(topic);
    const producer = await this.backend.producer();
    await producer.send(
      await Promise.all(
        records.map(async (r) => ({
          topic,
          key: await serdes.key.serialize(topic, r.key),
          value: await serdes.value.serialize(topic, r.value),
          timestamp: r.timestamp ?? this.clock.now(),
          ...(r.headers ? { headers: r.headers } : {}),
          ...(r.partition !== undefined ? { partition: r.partition } : {}),
        })),
      ),
    );
    if (options.process !== false) await this.settle();
  }

  /** Moves wall time forward and runs wall-clock punctuators and idle timeouts. */
  async advanceWallClockTime(ms: number): Promise<void> {
    this.clock.advance(ms);
    await this.settle();
  }

  /** Runs deliveries and ticks until nothing changes; throws the application's error if it failed. */
  async settle(): Promise<void> {
    // Everything deliverable is buffered before any of it is processed (StreamsApp.bufferOnly says why); again
    // while processing made more deliverable (topic loops, downstream sub-topologies, resumed partitions).
    do {
      this.app.bufferOnly = true;
      try {
        await this.backend.runUntilIdle();
      } finally {
        this.app.bufferOnly = false;
      }
      await this.app.tick();
    } while (!this.app.error && this.backend.hasDeliverable());
    if (this.app.error) throw this.app.error;
  }

  /** Committed records written to `topic` since the last read, in partition then offset order. */
  async readOutput<K = unknown, V = unknown>(topic: string, serde?: { key: Serde<K>; value: Serde<V> }) {
    const logs = this.backend.logs(topic);
    const cursors = this.#cursors.get(topic) ?? logs.map(() => 0);
    const serdes = serde ?? (this.#serdes.topic(topic) as unknown as { key: Serde<K>; value: Serde<V> });
    const out: (StreamRecord<K, V> & { partition: number; offset: number })[] = [];
    for (const log of logs) {
      const { records, next } = log.read(cursors[log.partition]!, Infinity, true, Number.MAX_SAFE_INTEGER);
      cursors[log.partition] = next;
      for (const r of records) {
        out.push({
          key: await serdes.key.deserialize(topic, r.key),
          value: await serdes.value.deserialize(topic, r.value),
          timestamp: r.timestamp,
          headers: r.headers,
          partition: r.partition,
          offset: r.offset,
        });
      }
    }
    this.#cursors.set(topic, cursors);
    return out;
  }

  /** A task's store, by store name and input partition. */
  store<K, V>(name: string, partition: number): KeyValueStore<K, V> {
    const store = this.app.store<K, V>(name, partition);
    if (!store) throw new Error(`no open store ${name} for partition ${partition} (tasks: ${this.app.taskIds()})`);
    return store;
  }

  async close(): Promise<void> {
    await this.app.stop();
    await this.backend.close();
  }
}
