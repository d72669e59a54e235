/**
 * Helpers for the runtime's own tests (topology/runtime/*.test.ts, topology/test-driver.test.ts), kept out of
 * the test files so that importing them does not register tests twice. Nothing in the runtime imports this.
 *
 * - processors as closures registered in a per-test ProcessorRegistry;
 * - the test driver or StreamsApps on a manual MemoryBackend, with real serdes and state/ stores in a temp dir;
 * - backend wrappers that inject failures or record what the runtime asked of the backend;
 * - a Gate: a promise the test opens, to hold a processor without sleeping.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { MemoryRegistryClient, schemasDir } from '../../schemas/index.ts';
import type { MemoryBackend } from '../backend/memory/backend.ts';
import type {
  Backend,
  BackendRecord,
  GroupHandler,
  GroupMember,
  GroupOptions,
  OutgoingRecord,
  PartitionOffset,
  TransactionalProducer,
} from '../backend/types.ts';
import { TopologyBuilder } from '../builder.ts';
import { defaultStoreOpener, serdeFactory } from '../engine.ts';
import type { Topology } from '../model.ts';
import type { Processor, ProcessorContext, StreamRecord } from '../processor.ts';
import { ProcessorRegistry } from '../registry.ts';
import { TopologyTestDriver, type TestDriverOptions } from '../test-driver.ts';
import { StreamsApp, type StreamsAppOptions } from './app.ts';
import { ManualClock } from './clock.ts';
import { topicSerdes, type SerdeFactory } from './serdes.ts';
import { StreamTask } from './task.ts';

export type Rec = StreamRecord<unknown, unknown>;
export type Ctx = ProcessorContext<unknown, unknown>;

/** A processor from closures; `process` gets the context that `init` received. */
export function proc(
  process: (record: Rec, context: Ctx) => void | Promise<void>,
  init?: (context: Ctx) => void | Promise<void>,
): () => Processor {
  return () => {
    let context: Ctx;
    return {
      init: async (c: Ctx) => {
        context = c;
        await init?.(c);
      },
      process: (record: Rec) => process(record, context),
    };
  };
}

export function registryOf(factories: Record<string, () => Processor>): ProcessorRegistry {
  const registry = new ProcessorRegistry();
  for (const [name, factory] of Object.entries(factories)) registry.register(name, factory);
  return registry;
}

export function rec(key: unknown, value: unknown, timestamp: number, headers = {}): Rec {
  return { key, value, timestamp, headers };
}

/** A temp directory removed after the test file; `dir(name)` gives a fresh sub-directory per driver or app. */
export function stateRoot(prefix: string): { dir(name: string): string } {
  const root = mkdtempSync(join(tmpdir(), `parley-${prefix}-`));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  return { dir: (name) => join(root, `${name}-${++n}`) };
}

export function serdes(): SerdeFactory {
  return serdeFactory(schemasDir, new MemoryRegistryClient());
}

export async function driverFor(
  topology: Topology,
  registry: ProcessorRegistry,
  stateDir: string,
  options: Partial<TestDriverOptions> = {},
): Promise<TopologyTestDriver> {
  const factory = serdes();
  return TopologyTestDriver.create(topology, {
    registry,
    serdes: factory,
    openStore: defaultStoreOpener({ topology, serdes: factory, stateDir }),
    ...options,
  });
}

/** A StreamsApp without its own timer (the test calls tick() and the backend's runUntilIdle()). */
export function appFor(
  options: Pick<StreamsAppOptions, 'topology' | 'registry' | 'backend'> & Partial<StreamsAppOptions>,
  stateDir: string,
): StreamsApp {
  const factory = serdes();
  return new StreamsApp({
    serdes: factory,
    openStore: defaultStoreOpener({ topology: options.topology, serdes: factory, stateDir }),
    tickMs: 0,
    maxTaskIdleMs: 0,
    ...options,
  });
}

/** Every record of a topic, read_committed or not, in partition then offset order (no cursor). */
export function readAll(backend: MemoryBackend, topic: string, readCommitted = true): BackendRecord[] {
  return backend.logs(topic).flatMap((log) => log.read(0, Infinity, readCommitted, Number.MAX_SAFE_INTEGER).records);
}

export function text(records: BackendRecord[]): string[] {
  return records.map((r) => `${r.key?.toString() ?? 'null'}=${r.value?.toString() ?? 'null'}`);
}

/** A promise the test opens; `reached` resolves once something waits on it (so tests never sleep). */
export class Gate {
  #open!: () => void;
  #reached!: () => void;
  readonly opened = new Promise<void>((resolve) => (this.#open = resolve));
  readonly reached = new Promise<void>((resolve) => (this.#reached = resolve));

  wait(): Promise<void> {
    this.#reached();
    return this.opened;
  }

  open(): void {
    this.#open();
  }
}

export interface BackendHooks {
  transactionalProducer?(producer: TransactionalProducer): TransactionalProducer;
  member?(member: GroupMember): GroupMember;
  handler?(handler: GroupHandler): GroupHandler;
}

/** The backend with some of what it hands out replaced (the memory backend stays reachable for its logs). */
export function wrapBackend(inner: Backend, hooks: BackendHooks): Backend {
  return {
    kind: inner.kind,
    createTopics: (topics) => inner.createTopics(topics),
    partitionCount: (topic) => inner.partitionCount(topic),
    endOffsets: (topic) => inner.endOffsets(topic),
    committedOffsets: (groupId, topic) => inner.committedOffsets(groupId, topic),
    producer: () => inner.producer(),
    readPartition: (topic, partition, from, to, onRecords) =>
      inner.readPartition(topic, partition, from, to, onRecords),
    close: () => inner.close(),
    transactionalProducer: async (id) => {
      const producer = await inner.transactionalProducer(id);
      return hooks.transactionalProducer ? hooks.transactionalProducer(producer) : producer;
    },
    joinGroup: async (options: GroupOptions) => {
      const handler = hooks.handler ? hooks.handler(options.handler) : options.handler;
      const member = await inner.joinGroup({ ...options, handler });
      return hooks.member ? hooks.member(member) : member;
    },
  };
}

/** `count` string records of topic `in`, partition 0, from offset `from` (value `v<offset>`, timestamp = offset). */
export function inputRecords(from: number, count: number): BackendRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    topic: 'in',
    partition: 0,
    offset: from + i,
    key: Buffer.from('k'),
    value: Buffer.from(`v${from + i}`),
    timestamp: from + i,
    headers: {},
  }));
}

/**
 * One StreamTask of a topology `in` → processor `log`, driven by hand: the processor is `log`, commits go to
 * `commit`. For tests of a task's own rules (what it commits, when it stops).
 */
export function logTask(
  name: string,
  log: (record: Rec) => void,
  commit: (records: OutgoingRecord[], offsets: PartitionOffset[]) => Promise<void>,
): StreamTask {
  const topology = new TopologyBuilder(name)
    .topic({ name: 'in', partitions: 1, key: 'string', value: 'string' })
    .source('in-src', ['in'])
    .processor('log', { processor: 'log', parents: ['in-src'] })
    .build();
  return new StreamTask({
    topology,
    subtopology: topology.subtopologies[0]!,
    partition: 0,
    registry: registryOf({ log: proc(log) }),
    serdes: topicSerdes(topology, serdes()),
    clock: new ManualClock(0),
    output: { commit, close: async () => {} },
    stores: [],
    startOffsets: [0],
    endOffsets: [0],
    maxTaskIdleMs: 0,
    events: {},
  });
}
