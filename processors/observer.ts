/**
 * An in-process view of the consensus stages for the embedded run's progress line and agreement check, and for
 * the metrics registry (monitoring/ adapts it). Processors report through it; nothing here affects the protocol.
 */
export interface ConsensusObserver {
  /** A replica proposed a batch of commands as one instance. */
  proposed?(replica: string, commands: number): void;
  /**
   * An instance this replica led committed: on the fast path or not, how long its commands waited, and whether
   * the fast path would have worked (in slow mode too: what the guardrail's mode policy samples).
   */
  committed?(replica: string, fast: boolean, commands: number, latenciesMs: number[], fastEligible?: boolean): void;
  /** An instance was executed by the resolution stage, this long after it was committed (its record's time). */
  executed?(instance: string, latencyMs: number): void;
  /** A decision reached the execution order. */
  ordered?(key: string, position: number, proposalId: string): void;
  /** An agent applied a decision to its projection. */
  applied?(agent: string, key: string, position: number, proposalId: string): void;
  recovered?(replica: string): void;
}

let current: ConsensusObserver = {};

export function setConsensusObserver(observer: ConsensusObserver): void {
  current = observer;
}

export function observer(): ConsensusObserver {
  return current;
}
