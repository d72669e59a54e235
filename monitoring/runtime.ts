/**
 * The runtime families: per-processor rate and latency, task commits, dead letters and skips, restore
 * progress, running tasks, state-store operations and sizes. They are fed through the runtime's own hooks
 * (topology/runtime/app.ts `AppEvents`, state/metered-store.ts `StoreMetrics`) by the adapters in adapters.ts.
 *
 * Labels are topology names (processor, store, sub-topology) and task ids (`<subtopology>_<partition>`),
 * all finite by configuration; each is capped all the same (labels.ts). A task's restore series are removed
 * when the task closes, so a process that is handed many partitions over its life does not keep them all.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { BoundedLabel } from './labels.ts';

/** Mirrors topology/runtime/dead-letter.ts FailureStage (monitoring/ imports nothing of topology/). */
export type FailureStage = 'deserialize' | 'process' | 'serialize';
/** Mirrors state/metered-store.ts StoreOperation. */
export type StoreOperation = 'get' | 'put' | 'delete' | 'range' | 'flush' | 'restore';

/** One store's approximate entry count in one task (state/ `approximateSize()`). */
export interface StoreSize {
  store: string;
  entries: number;
}

export interface RuntimeMetrics {
  processed(taskId: string, processor: string, seconds: number): void;
  committed(taskId: string, records: number, seconds: number): void;
  deadLettered(taskId: string, processor: string, stage: FailureStage): void;
  skipped(taskId: string, processor: string, stage: FailureStage): void;
  restoreProgress(taskId: string, store: string, restored: number, total: number): void;
  taskCreated(taskId: string): void;
  taskClosed(taskId: string): void;
  failed(): void;
  storeOperation(operation: StoreOperation, store: string, seconds: number): void;
  /** Sizes are read at scrape time from `source` (summed per store across tasks); returns an unsubscribe. */
  observeStoreSizes(source: () => Promise<Iterable<StoreSize>> | Iterable<StoreSize>): () => void;
  /** Tasks whose stores are being restored now (assigned, restore started, not yet running). */
  restoringTasks(): number;
  /** Tasks running in this process. */
  runningTasks(): number;
}

export interface RuntimeMetricsOptions {
  registry: Registry;
  labelValuesMax: number;
  overflow: Counter<'label'>;
}

export const processorLatencyBuckets = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];
export const storeLatencyBuckets = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1];

/** `0_3` → `0`: the sub-topology of a task id `<subtopology>_<partition>`. */
export function subtopologyOf(taskId: string): string {
  const cut = taskId.lastIndexOf('_');
  return cut > 0 ? taskId.slice(0, cut) : taskId;
}

function families(registry: Registry) {
  const registers = [registry];
  return {
    processorLatency: new Histogram({
      name: 'parley_processor_latency_seconds',
      help: 'Time a processor took per record; _count is its record count (rate() = records per second).',
      labelNames: ['processor'] as const,
      buckets: processorLatencyBuckets,
      registers,
    }),
    commitLatency: new Histogram({
      name: 'parley_task_commit_latency_seconds',
      help: 'Time a task commit took (transaction or send+flush+offsets), by sub-topology.',
      labelNames: ['subtopology'] as const,
      buckets: processorLatencyBuckets,
      registers,
    }),
    committedRecords: new Counter({
      name: 'parley_task_committed_records_total',
      help: 'Input records covered by task commits, by sub-topology.',
      labelNames: ['subtopology'] as const,
      registers,
    }),
    deadLetters: new Counter({
      name: 'parley_dead_letters_total',
      help: 'Records sent to the dead-letter topic, by processor and failing stage.',
      labelNames: ['processor', 'stage'] as const,
      registers,
    }),
    skipped: new Counter({
      name: 'parley_skipped_records_total',
      help: 'Records dropped under onError: skip, by processor and failing stage.',
      labelNames: ['processor', 'stage'] as const,
      registers,
    }),
    restoreRemaining: new Gauge({
      name: 'parley_restore_remaining_records',
      help: 'Changelog records still to restore, by task and store (removed when the task closes).',
      labelNames: ['task', 'store'] as const,
      registers,
    }),
    restored: new Counter({
      name: 'parley_restored_records_total',
      help: 'Changelog records restored into stores, by store.',
      labelNames: ['store'] as const,
      registers,
    }),
    failures: new Counter({
      name: 'parley_app_failures_total',
      help: 'Times the streams application failed (it stops consuming).',
      registers,
    }),
    storeLatency: new Histogram({
      name: 'parley_store_operation_latency_seconds',
      help: 'State-store operation time, by store and operation; _count is the operation count.',
      labelNames: ['store', 'operation'] as const,
      buckets: storeLatencyBuckets,
      registers,
    }),
  };
}

type SizeSource = () => Promise<Iterable<StoreSize>> | Iterable<StoreSize>;

/** Gauges computed when Prometheus scrapes: running tasks, and store sizes read from their sources. */
function scrapeTimeGauges(
  registry: Registry,
  running: ReadonlySet<string>,
  sizeSources: ReadonlySet<SizeSource>,
  stores: BoundedLabel,
): void {
  new Gauge({
    name: 'parley_tasks_running',
    help: 'Stream tasks running in this process.',
    registers: [registry],
    collect() {
      this.set(running.size);
    },
  });
  new Gauge({
    name: 'parley_store_entries',
    help: 'Approximate entries per state store, summed over this process’s tasks.',
    labelNames: ['store'] as const,
    registers: [registry],
    async collect() {
      const totals = new Map<string, number>();
      for (const source of sizeSources) {
        for (const { store, entries } of await source()) {
          const label = stores.value(store);
          totals.set(label, (totals.get(label) ?? 0) + entries);
        }
      }
      this.reset();
      for (const [store, entries] of totals) this.set({ store }, entries);
    },
  });
}

export function createRuntimeMetrics(options: RuntimeMetricsOptions): RuntimeMetrics {
  const bound = (name: string) => new BoundedLabel(name, options.labelValuesMax, options.overflow);
  const processors = bound('processor');
  const stores = bound('store');
  const subtopologies = bound('subtopology');
  const tasks = bound('task');
  const f = families(options.registry);
  const running = new Set<string>();
  /** task → store → records restored so far; kept while the task lives, to remove its series on close. */
  const restoring = new Map<string, Map<string, number>>();
  const sizeSources = new Set<SizeSource>();

  scrapeTimeGauges(options.registry, running, sizeSources, stores);

  const closeTask = (taskId: string): void => {
    running.delete(taskId);
    const label = tasks.value(taskId);
    for (const store of restoring.get(taskId)?.keys() ?? []) {
      f.restoreRemaining.remove({ task: label, store: stores.value(store) });
    }
    restoring.delete(taskId);
    tasks.forget(label);
  };

  return {
    processed(_taskId, processor, seconds) {
      f.processorLatency.observe({ processor: processors.value(processor) }, seconds);
    },
    committed(taskId, records, seconds) {
      const subtopology = subtopologies.value(subtopologyOf(taskId));
      f.commitLatency.observe({ subtopology }, seconds);
      f.committedRecords.inc({ subtopology }, records);
    },
    deadLettered(_taskId, processor, stage) {
      f.deadLetters.inc({ processor: processors.value(processor), stage });
    },
    skipped(_taskId, processor, stage) {
      f.skipped.inc({ processor: processors.value(processor), stage });
    },
    restoreProgress(taskId, store, restored, total) {
      const progress = restoring.get(taskId) ?? new Map<string, number>();
      restoring.set(taskId, progress);
      const before = progress.get(store) ?? 0;
      progress.set(store, restored);
      const storeLabel = stores.value(store);
      if (restored > before) f.restored.inc({ store: storeLabel }, restored - before);
      f.restoreRemaining.set({ task: tasks.value(taskId), store: storeLabel }, Math.max(0, total - restored));
    },
    taskCreated(taskId) {
      // The runtime creates a task only after its stores were restored (topology/runtime/app.ts createTask).
      for (const [store] of restoring.get(taskId) ?? []) {
        f.restoreRemaining.set({ task: tasks.value(taskId), store: stores.value(store) }, 0);
      }
      running.add(taskId);
    },
    taskClosed: closeTask,
    failed() {
      f.failures.inc();
    },
    storeOperation(operation, store, seconds) {
      f.storeLatency.observe({ store: stores.value(store), operation }, seconds);
    },
    observeStoreSizes(source) {
      sizeSources.add(source);
      return () => void sizeSources.delete(source);
    },
    restoringTasks() {
      return [...restoring.keys()].filter((id) => !running.has(id)).length;
    },
    runningTasks() {
      return running.size;
    },
  };
}
