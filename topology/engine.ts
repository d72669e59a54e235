/**
 * From a YAML file to a runnable application: load and validate the topology, import the modules named by
 * `implementations:` (each exports `register(registry)`), and wire the defaults a user would otherwise wire by
 * hand: serdes from schemas/ (Avro through the given registry client) and state stores from state/.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { serdeFor, type SchemaRegistryClient, type SyncSerde } from '../schemas/index.ts';
import { openStore, type StoreMetrics } from '../state/index.ts';
import type { Backend } from './backend/types.ts';
import { loadTopologyFile } from './config/load.ts';
import { changelogTopicName, type Topology } from './model.ts';
import { ProcessorRegistry } from './registry.ts';
import { StreamsApp, type AppEvents } from './runtime/app.ts';
import type { Clock } from './runtime/clock.ts';
import { topicSerdes, type SerdeFactory } from './runtime/serdes.ts';
import type { StoreOpener, TaskStore } from './runtime/task-store.ts';
import { TopologyValidationError, validateTopology } from './validate.ts';

export interface Engine {
  file: string;
  topology: Topology;
  registry: ProcessorRegistry;
  schemasDir: string;
}

export async function loadEngine(file: string, env: NodeJS.ProcessEnv = process.env): Promise<Engine> {
  const loaded = loadTopologyFile(file, env);
  const errors = loaded.issues.filter((i) => i.severity === 'error');
  if (errors.length > 0 || !loaded.spec) {
    throw new TopologyValidationError(errors, file);
  }
  const registry = new ProcessorRegistry();
  for (const module of loaded.implementations ?? []) {
    if (!existsSync(module)) throw new Error(`${file}: implementations module ${module} does not exist`);
    const imported = (await import(pathToFileURL(module).href)) as { register?: unknown };
    if (typeof imported.register !== 'function') {
      throw new Error(`${file}: implementations module ${module} does not export register(registry)`);
    }
    (imported.register as (r: ProcessorRegistry) => void)(registry);
  }
  const schemasDir = loaded.schemasDir!;
  // Again with the registry: now unknown processor implementation names are errors too.
  const checked = validateTopology(loaded.spec, {
    registry,
    schemaExists: (name) => existsSync(join(schemasDir, `${name}.avsc`)),
  });
  const failures = checked.issues.filter((i) => i.severity === 'error');
  if (failures.length > 0 || !checked.topology) {
    throw new TopologyValidationError(failures, file);
  }
  return { file, topology: checked.topology, registry, schemasDir };
}

export function serdeFactory(schemasDir: string, registry: SchemaRegistryClient): SerdeFactory {
  return (format, { isKey }) => serdeFor(format, { registry, schemasDir, isKey });
}

/** Opens a task's stores under `stateDir` with state/'s layered stores. */
export function defaultStoreOpener(options: {
  topology: Topology;
  serdes: SerdeFactory;
  stateDir: string;
  metrics?: StoreMetrics;
}): StoreOpener {
  const serdes = topicSerdes(options.topology, options.serdes);
  const application = options.topology.spec.application;
  return async (spec, taskId, partition): Promise<TaskStore> => {
    const { key, value } = serdes.store(spec.name);
    const changelog = changelogTopicName(application, spec.name);
    // Store puts are synchronous, so Avro serdes must have their schema ids before the first put.
    await (key as SyncSerde<unknown>).prepare?.(changelog);
    await (value as SyncSerde<unknown>).prepare?.(changelog);
    const opened = await openStore(spec, {
      dir: options.stateDir,
      application,
      taskId,
      keySerde: key,
      valueSerde: value,
      changelogPartitions: [partition],
      // fsync per flush (state/'s default): the checkpoint may only claim what RocksDB has on disk, or a power
      // loss would skip changelog records on restore. A process crash alone would be safe either way.
      ...(options.metrics ? { metrics: options.metrics } : {}),
    });
    const store = opened.store;
    return {
      spec,
      store,
      restoreFrom: opened.restoreFrom[partition] ?? 0,
      pendingChangelog: async () => store.pendingChangelog(),
      flush: (checkpoint) => store.flush({ [partition]: checkpoint }),
      discard: () => store.discard(),
      restore: (records) => store.restore(records),
      close: () => store.close(),
    };
  };
}

export interface AppOptions {
  engine: Engine;
  backend: Backend;
  schemaRegistry: SchemaRegistryClient;
  stateDir: string;
  clock?: Clock;
  events?: AppEvents;
  maxTaskIdleMs?: number;
  tickMs?: number;
  /** How long a task may keep failing to commit with retriable errors before the app fails (StreamsApp). */
  taskTimeoutMs?: number;
  storeMetrics?: StoreMetrics;
}

export function createApp(options: AppOptions): StreamsApp {
  const { engine } = options;
  const serdes = serdeFactory(engine.schemasDir, options.schemaRegistry);
  return new StreamsApp({
    topology: engine.topology,
    registry: engine.registry,
    backend: options.backend,
    serdes,
    openStore: defaultStoreOpener({
      topology: engine.topology,
      serdes,
      stateDir: options.stateDir,
      ...(options.storeMetrics ? { metrics: options.storeMetrics } : {}),
    }),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.events ? { events: options.events } : {}),
    ...(options.maxTaskIdleMs !== undefined ? { maxTaskIdleMs: options.maxTaskIdleMs } : {}),
    ...(options.tickMs !== undefined ? { tickMs: options.tickMs } : {}),
    ...(options.taskTimeoutMs !== undefined ? { taskTimeoutMs: options.taskTimeoutMs } : {}),
  });
}
