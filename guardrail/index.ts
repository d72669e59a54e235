/**
 * The guardrail's public surface (STYLE.md §5): what processors/, sim/, cli/ and monitoring/ may use.
 */
export type {
  ChangeInfo,
  ClusterConfig,
  ConfigListener,
  ConfigWatch,
  Guardrail,
  HistoryEntry,
  LivenessEvent,
  LivenessWatch,
  MemberRecord,
  MemberSession,
  MemberSpec,
  Mode,
  RegisterOptions,
  VersionedConfig,
} from './types.ts';
export { modes, protocolVersion } from './types.ts';
export {
  GuardrailConfigError,
  GuardrailConflictError,
  GuardrailError,
  GuardrailInputError,
  GuardrailUnavailableError,
  isRetriableEtcdError,
  type GuardrailErrorCode,
} from './errors.ts';
export { quorumSizes, type QuorumSizes } from './quorum.ts';
export {
  configProblems,
  freshMemberId,
  initialConfig,
  isValidMemberId,
  parseConfig,
  withMembersAdded,
  withMembersRemoved,
  withMode,
  withRejoin,
  type NewMember,
} from './config.ts';
export { guardrailKeys, isValidClusterName, type GuardrailKeys } from './keys.ts';
export { ManualClock, systemClock, type Clock, type TimerHandle } from './clock.ts';
export { KvGuardrail, type GuardrailOptions } from './core.ts';
export {
  EtcdGuardrail,
  InProcessGuardrail,
  type EtcdGuardrailOptions,
  type InProcessGuardrailOptions,
} from './implementations.ts';
export { InMemoryEtcd } from './kv-memory.ts';
export { addMembers, initCluster, rejoinUnderNewId, removeMembers, requireConfig, setMode } from './membership.ts';
export { EpochFence, followEpoch, type FenceVerdict } from './fence.ts';
export {
  MemoryCounters,
  noCounters,
  type GuardrailCounterName,
  type GuardrailCounters,
  type Labels,
} from './counters.ts';
export {
  checkPolicyOptions,
  evaluateMode,
  type ModeDecision,
  type ModePolicyOptions,
  type ModePolicyState,
  type ModeSample,
  type ModeSwitchCause,
} from './mode-policy.ts';
export {
  ModeController,
  type ControllerSample,
  type ModeControllerOptions,
  type ModeSwitch,
} from './mode-controller.ts';
