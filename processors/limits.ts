/**
 * Every bound of the consensus stages in one place (STYLE.md §7: units last), checked against each other at load.
 * A topology node's `config` may override them; `resolveLimits` rejects inconsistent values with a clear error.
 */
export interface ConsensusLimits {
  /** Commands batched into one EPaxos instance (paper §7.6 used 1000). */
  batchCommandsMax: number;
  /** How long the first command of a batch may wait for company (paper §7.6: 5 ms). */
  batchWindowMs: number;
  /** Largest proposal payload accepted; larger ones are rejected, never truncated. */
  payloadBytesMax: number;
  /** Most conflict keys one proposal may name. */
  keysPerProposalMax: number;
  /** Period of the replica's logical clock (ticks drive recovery timeouts). */
  tickMs: number;
  /** Ticks an uncommitted instance waits before its recovery starts. */
  recoveryTimeoutTicks: number;
}

export const defaultLimits: ConsensusLimits = {
  batchCommandsMax: 500,
  batchWindowMs: 5,
  payloadBytesMax: 64 * 1024,
  keysPerProposalMax: 64,
  tickMs: 50,
  recoveryTimeoutTicks: 40,
};

export function resolveLimits(overrides: Readonly<Record<string, unknown>>, where: string): ConsensusLimits {
  const limits: Record<string, number> = { ...defaultLimits };
  for (const [name, raw] of Object.entries(overrides)) {
    if (!(name in defaultLimits)) continue;
    const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw; // interpolated YAML
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new RangeError(`${where}: ${name} must be a positive integer, got ${JSON.stringify(value)}`);
    }
    limits[name] = value;
  }
  const resolved = limits as unknown as ConsensusLimits;
  // A recovery that fires before a healthy round trip completes would preempt every leader.
  if (resolved.recoveryTimeoutTicks * resolved.tickMs < 10 * resolved.batchWindowMs) {
    throw new RangeError(`${where}: recoveryTimeoutTicks × tickMs must be at least 10 × batchWindowMs`);
  }
  return resolved;
}
