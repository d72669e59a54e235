/**
 * Epoch fencing (DESIGN.md §4): a replica rejects protocol messages stamped with an epoch older than the config
 * it follows, so a member removed (or replaced after losing its state) cannot vote in the new membership. The
 * fence's epoch only moves forward. A message from a *newer* epoch is admitted: its sender has simply seen the
 * config first, and this replica's watch is about to catch up.
 */
import { noCounters, type GuardrailCounters } from './counters.ts';
import type { ConfigWatch, Guardrail } from './types.ts';

export type FenceVerdict = 'current' | 'ahead' | 'stale';

export class EpochFence {
  private epochNow: number;
  private rejectedCount = 0;
  private readonly waiters: { epoch: number; resolve: () => void }[] = [];

  constructor(
    initialEpoch: number,
    private readonly counters: GuardrailCounters = noCounters,
    /** Labels on the rejection counter, for instance { replica: 'r1' }. */
    private readonly labels: Readonly<Record<string, string>> = {},
  ) {
    this.epochNow = initialEpoch;
  }

  get epoch(): number {
    return this.epochNow;
  }

  /** Rejections so far. */
  get rejected(): number {
    return this.rejectedCount;
  }

  /** Moves to a newer epoch; an older one is ignored (watch events may be re-delivered after a resync). */
  advance(epoch: number): void {
    if (epoch <= this.epochNow) return;
    this.epochNow = epoch;
    for (const w of this.waiters.filter((w) => w.epoch <= epoch)) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve();
    }
  }

  /** Resolves once the fence is at `epoch` or later: a replica holding an 'ahead' message can wait for it. */
  whenAtLeast(epoch: number): Promise<void> {
    if (epoch <= this.epochNow) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ epoch, resolve }));
  }

  check(messageEpoch: number): FenceVerdict {
    if (messageEpoch === this.epochNow) return 'current';
    return messageEpoch > this.epochNow ? 'ahead' : 'stale';
  }

  /** True when the message may be processed; a stale one is counted and refused. */
  admit(messageEpoch: number, kind = 'message'): boolean {
    if (this.check(messageEpoch) !== 'stale') return true;
    this.rejectedCount++;
    this.counters.inc('guardrail_stale_epoch_rejections_total', { ...this.labels, kind });
    return false;
  }
}

/** A fence that follows the guardrail's config watch; close the returned watch to stop following. */
export async function followEpoch(
  guardrail: Guardrail,
  counters: GuardrailCounters = noCounters,
  labels: Readonly<Record<string, string>> = {},
): Promise<{ fence: EpochFence; watch: ConfigWatch }> {
  const fence = new EpochFence(0, counters, labels);
  const watch = await guardrail.watchConfig({ onConfig: ({ config }) => fence.advance(config.epoch) });
  return { fence, watch };
}
