/** The public API of monitoring/: what the runtime, the consensus processors, the guardrail and the CLI use. */
export {
  createMetrics,
  metricFamilyNames,
  metricSeriesNames,
  type MetricsOptions,
  type ParleyMetrics,
} from './registry.ts';
export {
  commitLatencyBuckets,
  commitPaths,
  type CommitPath,
  type ConsensusMetrics,
  type QuorumPhase,
  type RecoveryReason,
} from './consensus.ts';
export {
  protocolModes,
  type EtcdMemberHealth,
  type GuardrailCounterName,
  type GuardrailMetrics,
  type ProtocolMode,
} from './guardrail.ts';
export type { FailureStage, RuntimeMetrics, StoreOperation, StoreSize } from './runtime.ts';
export {
  appEventsFor,
  consensusObserverFor,
  guardrailCountersFor,
  storeMetricsFor,
  type ConsensusEvents,
  type GuardrailCounterSink,
  type RuntimeEvents,
  type StoreOperationMetrics,
} from './adapters.ts';
export { BoundedLabel, labelValuesMaxDefault, OTHER_LABEL_VALUE } from './labels.ts';
export {
  checkReadiness,
  defaultMetricsPort,
  metricsAddressFromEnv,
  startMonitoringServer,
  tasksRestoredCheck,
  type MonitoringServer,
  type MonitoringServerOptions,
  type ReadinessCheck,
  type ReadinessReport,
} from './server.ts';
export {
  CommitWindow,
  evaluateGroup,
  evaluatePartition,
  statusCode,
  statusOrder,
  type BurrowStatus,
  type CommitEntry,
  type GroupStatus,
  type PartitionStatus,
} from './lag/burrow.ts';
export { LookupTable, type OffsetPoint } from './lag/time-lag.ts';
export { LagMonitor, lagMonitorDefaults, type LagAdmin, type LagMonitorOptions } from './lag/monitor.ts';
export { startLagMonitor, type RunningLagMonitor, type StartLagMonitorOptions } from './lag/start.ts';
export type { LagMetrics } from './lag/metrics.ts';
export type { GroupLag, LagSnapshot, PartitionLag } from './lag/snapshot.ts';
export { formatLagTable } from './lag/table.ts';
