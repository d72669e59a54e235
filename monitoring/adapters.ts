/**
 * Adapters from other folders' reporting hooks to the registry:
 *   appEventsFor          → topology/runtime/app.ts AppEvents
 *   storeMetricsFor       → state/metered-store.ts StoreMetrics
 *   consensusObserverFor  → processors/observer.ts ConsensusObserver
 *   guardrailCountersFor  → guardrail/counters.ts GuardrailCounters
 * The interfaces are restated here structurally (monitoring/ imports none of those folders, which may import
 * it); integration/tests/monitoring-prometheus.test.ts and monitoring-adapters.test.ts hand each adapter to the
 * real interface, so tsc notices when one drifts.
 */
import type { GuardrailCounterName } from './guardrail.ts';
import type { ParleyMetrics } from './registry.ts';
import type { FailureStage, StoreOperation } from './runtime.ts';

/** Structurally topology/runtime/app.ts AppEvents (with TaskEvents), every hook present. */
export interface RuntimeEvents {
  processed(taskId: string, node: string, seconds: number): void;
  skipped(taskId: string, node: string, stage: FailureStage, error: unknown): void;
  deadLettered(taskId: string, node: string, stage: FailureStage, error: unknown): void;
  committed(taskId: string, records: number, seconds: number): void;
  restoreProgress(taskId: string, store: string, restored: number, total: number): void;
  taskCreated(taskId: string): void;
  taskClosed(taskId: string): void;
  /** A retriable commit failure: the task is closed dirty and created again. */
  taskCorrupted(taskId: string, error: Error): void;
  failed(error: Error): void;
}

/** Structurally state/metered-store.ts StoreMetrics. */
export interface StoreOperationMetrics {
  record(operation: StoreOperation, store: string, seconds: number): void;
}

/**
 * AppEvents that feed `metrics`, then call the same hook of `next` (for a caller's own logging, as `parley run`
 * does). A metrics failure must never fail processing, and none can happen here: prom-client's inc/observe/set
 * only throw on label-name mistakes, which the typed families rule out.
 */
export function appEventsFor(metrics: ParleyMetrics, next: Partial<RuntimeEvents> = {}): RuntimeEvents {
  const runtime = metrics.runtime;
  return {
    processed(taskId, node, seconds) {
      runtime.processed(taskId, node, seconds);
      next.processed?.(taskId, node, seconds);
    },
    skipped(taskId, node, stage, error) {
      runtime.skipped(taskId, node, stage);
      next.skipped?.(taskId, node, stage, error);
    },
    deadLettered(taskId, node, stage, error) {
      runtime.deadLettered(taskId, node, stage);
      next.deadLettered?.(taskId, node, stage, error);
    },
    committed(taskId, records, seconds) {
      runtime.committed(taskId, records, seconds);
      next.committed?.(taskId, records, seconds);
    },
    restoreProgress(taskId, store, restored, total) {
      runtime.restoreProgress(taskId, store, restored, total);
      next.restoreProgress?.(taskId, store, restored, total);
    },
    taskCreated(taskId) {
      runtime.taskCreated(taskId);
      next.taskCreated?.(taskId);
    },
    taskClosed(taskId) {
      runtime.taskClosed(taskId);
      next.taskClosed?.(taskId);
    },
    taskCorrupted(taskId, error) {
      next.taskCorrupted?.(taskId, error);
    },
    failed(error) {
      runtime.failed();
      next.failed?.(error);
    },
  };
}

/** StoreMetrics for state/'s metered layer: one histogram observation per operation. */
export function storeMetricsFor(metrics: ParleyMetrics): StoreOperationMetrics {
  return {
    record(operation, store, seconds) {
      metrics.runtime.storeOperation(operation, store, seconds);
    },
  };
}

/** Structurally processors/observer.ts ConsensusObserver, every hook present. */
export interface ConsensusEvents {
  proposed(replica: string, commands: number): void;
  committed(replica: string, fast: boolean, commands: number, latenciesMs: number[], fastEligible?: boolean): void;
  ordered(key: string, position: number, proposalId: string): void;
  executed(instance: string, latencyMs: number): void;
  applied(agent: string, key: string, position: number, proposalId: string): void;
  recovered(replica: string): void;
}

/**
 * A ConsensusObserver feeding the EPaxos families, then `next`. The observer says only whether an instance took
 * the fast path; a non-fast commit while the guardrail's mode is `slow` (as last reported to `metrics.guardrail`)
 * is `slow-mode`, not a failed fast path, so it does not drag `epaxos_fast_path_success_ratio` down.
 */
export function consensusObserverFor(metrics: ParleyMetrics, next: Partial<ConsensusEvents> = {}): ConsensusEvents {
  return {
    proposed(replica, commands) {
      metrics.consensus.proposed(replica, commands);
      next.proposed?.(replica, commands);
    },
    committed(replica, fast, commands, latenciesMs, fastEligible) {
      const path = fast ? 'fast' : metrics.guardrail.currentMode() === 'slow' ? 'slow-mode' : 'slow';
      metrics.consensus.committed(
        replica,
        path,
        latenciesMs.map((ms) => ms / 1000),
      );
      next.committed?.(replica, fast, commands, latenciesMs, fastEligible);
    },
    ordered(key, position, proposalId) {
      next.ordered?.(key, position, proposalId);
    },
    executed(instance, latencyMs) {
      // One resolution stage executes for the whole cluster: it is the "replica" of this family.
      metrics.consensus.executed('resolution', latencyMs / 1000);
      next.executed?.(instance, latencyMs);
    },
    applied(agent, key, position, proposalId) {
      next.applied?.(agent, key, position, proposalId);
    },
    recovered(replica) {
      metrics.consensus.recoveryStarted(replica, 'unspecified');
      next.recovered?.(replica);
    },
  };
}

/** Structurally guardrail/counters.ts GuardrailCounters. */
export interface GuardrailCounterSink {
  inc(name: GuardrailCounterName, labels?: Readonly<Record<string, string>>, by?: number): void;
}

/** GuardrailCounters as Prometheus counters (`guardrail_mode_switches_total`, `guardrail_stale_epoch_rejections_total`). */
export function guardrailCountersFor(metrics: ParleyMetrics): GuardrailCounterSink {
  return { inc: (name, labels = {}, by = 1) => metrics.guardrail.count(name, labels, by) };
}
