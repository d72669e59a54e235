/**
 * When to leave the fast path (DESIGN.md §4), as a pure function of what was observed: no clock, no I/O. Slow
 * when the fast-path success ratio stays under `threshold` for `windowMs` — judged on samples that have attempts,
 * none more than a window apart, and decided on such a sample — or when fewer than a fast quorum of
 * members are live (the fast path cannot succeed then) for `membersDownMs` (default 0: at once). Back to fast with hysteresis: the ratio must
 * stay above `threshold + margin` for `windowMs` with at least a fast quorum live, so a ratio hovering at the
 * threshold cannot make the mode flap.
 */
import { GuardrailInputError } from './errors.ts';
import type { Mode } from './types.ts';

export interface ModePolicyOptions {
  /** Fast-path success ratio (0..1] under which the slow path is cheaper. */
  threshold: number;
  /** Hysteresis: back to fast only above threshold + margin. */
  margin: number;
  /** How long a condition must hold before it switches the mode. */
  windowMs: number;
  /**
   * How long fewer than a fast quorum must be live before it switches; default 0. A task moving between
   * processes releases its replica's lease and the new owner takes one a moment later: a gap that short is a
   * handover, not a member down (a crashed member was already down for its lease's TTL when it is seen).
   */
  membersDownMs?: number;
}

/**
 * What happened since the previous sample. In slow mode there is no fast path to count: the consensus layer
 * reports instances whose PreAccept replies *would* have allowed it (identical attributes from a fast quorum).
 */
export interface ModeSample {
  atMs: number;
  fastAttempts: number;
  fastSuccesses: number;
  liveMembers: number;
}

export interface ModePolicyState {
  /** Since when the ratio has been under the threshold, without a sample above it. */
  belowSinceMs?: number;
  /** The last sample with fast-path attempts: a gap longer than the window restarts the windows. */
  lastEvidenceMs?: number;
  /** Since when the ratio has been above threshold + margin, without a sample at or under it. */
  aboveSinceMs?: number;
  /** Since when fewer than a fast quorum have been live, without a sample with a fast quorum. */
  downSinceMs?: number;
}

export type ModeSwitchCause = 'low-fast-path-ratio' | 'members-down' | 'recovered';

export interface ModeDecision {
  to: Mode;
  cause: ModeSwitchCause;
  reason: string;
}

export function checkPolicyOptions(options: ModePolicyOptions): ModePolicyOptions {
  const { threshold, margin, windowMs } = options;
  if (!(threshold > 0 && threshold <= 1)) throw new GuardrailInputError(`threshold ${threshold}: must be in (0, 1]`);
  if (!(margin >= 0 && threshold + margin <= 1)) {
    throw new GuardrailInputError(`margin ${margin}: must be >= 0 with threshold + margin <= 1`);
  }
  if (!(Number.isFinite(windowMs) && windowMs >= 0))
    throw new GuardrailInputError(`windowMs ${windowMs}: must be >= 0`);
  const down = options.membersDownMs ?? 0;
  if (!(Number.isFinite(down) && down >= 0)) throw new GuardrailInputError(`membersDownMs ${down}: must be >= 0`);
  return options;
}

const percent = (x: number) => `${(x * 100).toFixed(1)}%`;

/**
 * The ratio windows after `sample`. A sample without attempts is no evidence either way: the windows neither start
 * nor break — but no switch is decided on it either (evaluateMode), and evidence separated from the next by more
 * than a window does not carry over the gap: the window starts again. Otherwise an idle cluster switched a while
 * after its workload ended, on the last busy samples: "under 90.0% for 50874 ms (last n/a)" (issue #11).
 * `downSinceMs` is evaluateMode's alone: it is never carried from here.
 */
function nextTimers(state: ModePolicyState, sample: ModeSample, options: ModePolicyOptions): ModePolicyState {
  const { belowSinceMs, aboveSinceMs, lastEvidenceMs } = state;
  if (sample.fastAttempts <= 0) {
    return {
      ...(belowSinceMs !== undefined ? { belowSinceMs } : {}),
      ...(aboveSinceMs !== undefined ? { aboveSinceMs } : {}),
      ...(lastEvidenceMs !== undefined ? { lastEvidenceMs } : {}),
    };
  }
  const stale = lastEvidenceMs !== undefined && sample.atMs - lastEvidenceMs > options.windowMs;
  const ratio = sample.fastSuccesses / sample.fastAttempts;
  const below = ratio < options.threshold;
  const above = ratio > options.threshold + options.margin;
  return {
    ...(below ? { belowSinceMs: (stale ? undefined : belowSinceMs) ?? sample.atMs } : {}),
    ...(above ? { aboveSinceMs: (stale ? undefined : aboveSinceMs) ?? sample.atMs } : {}),
    lastEvidenceMs: sample.atMs,
  };
}

export function evaluateMode(
  state: ModePolicyState,
  mode: Mode,
  fastQuorum: number,
  sample: ModeSample,
  options: ModePolicyOptions,
): { state: ModePolicyState; decision?: ModeDecision } {
  const timers = nextTimers(state, sample, options);
  const ratio = sample.fastAttempts > 0 ? percent(sample.fastSuccesses / sample.fastAttempts) : 'n/a';
  // A switch on the ratio is decided only on a sample that has one (see nextTimers).
  const held = (since: number | undefined) =>
    since !== undefined && sample.fastAttempts > 0 && sample.atMs - since >= options.windowMs;
  if (mode === 'fast') {
    if (sample.liveMembers < fastQuorum) {
      const downSinceMs = state.downSinceMs ?? sample.atMs;
      if (sample.atMs - downSinceMs < (options.membersDownMs ?? 0)) return { state: { ...timers, downSinceMs } };
      const reason = `${sample.liveMembers} live members, fewer than the fast quorum of ${fastQuorum}`;
      return { state: {}, decision: { to: 'slow', cause: 'members-down', reason } };
    }
    if (held(timers.belowSinceMs)) {
      const reason =
        `fast-path success ratio under ${percent(options.threshold)} for ` +
        `${sample.atMs - timers.belowSinceMs!} ms (last ${ratio})`;
      return { state: {}, decision: { to: 'slow', cause: 'low-fast-path-ratio', reason } };
    }
    return { state: timers };
  }
  if (sample.liveMembers >= fastQuorum && held(timers.aboveSinceMs)) {
    const reason =
      `fast-path success ratio above ${percent(options.threshold + options.margin)} for ` +
      `${sample.atMs - timers.aboveSinceMs!} ms (last ${ratio}) with ${sample.liveMembers} live members`;
    return { state: {}, decision: { to: 'fast', cause: 'recovered', reason } };
  }
  return { state: timers };
}
