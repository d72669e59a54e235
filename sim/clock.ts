/**
 * Clock skew (issue #7). A replica's timers run on its own ticks (the core reads no clock), so skew is a replica
 * whose ticks come faster, slower or in bursts than the others'. Recovery timeouts then fire at very different
 * moments on different replicas, and their stagger by distance from the leader no longer keeps recoverers
 * apart: dueling recoveries. A clock turns each chance to tick (the simulator's tick event, a liveness round)
 * into a number of ticks; it draws nothing itself, so a profile drawn from the seed replays exactly.
 */
import type { Random } from './random.ts';

export type ClockProfile =
  | { kind: 'steady' }
  /** `factor` ticks at every chance. */
  | { kind: 'fast'; factor: number }
  /** One tick every `factor` chances, starting at chance `phase`. */
  | { kind: 'slow'; factor: number; phase: number }
  /** Nothing for `period - 1` chances, then `period` ticks at once (a stalled process catching up). */
  | { kind: 'bursty'; period: number; phase: number };

export class Clock {
  #chances = 0;

  constructor(readonly profile: ClockProfile) {}

  /** Ticks to deliver at this chance. Over many chances: `factor`×, 1/`factor`× or 1× the steady rate. */
  next(): number {
    const chance = this.#chances++;
    const p = this.profile;
    switch (p.kind) {
      case 'steady':
        return 1;
      case 'fast':
        return p.factor;
      case 'slow':
        return (chance + p.phase) % p.factor === 0 ? 1 : 0;
      case 'bursty':
        return (chance + p.phase) % p.period === p.period - 1 ? p.period : 0;
    }
  }

  /** How many chances it has had (a schedule records it, so a replay's liveness phase resumes the same clock). */
  get chances(): number {
    return this.#chances;
  }

  resumeAt(chances: number): void {
    this.#chances = chances;
  }

  /** Chances needed, at worst, for one tick: bounds how long a healed run may need to reach a timeout. */
  get slowdown(): number {
    const p = this.profile;
    return p.kind === 'slow' ? p.factor : p.kind === 'bursty' ? p.period : 1;
  }

  describe(): string {
    const p = this.profile;
    if (p.kind === 'steady') return 'steady';
    if (p.kind === 'fast') return `${p.factor}x fast`;
    if (p.kind === 'slow') return `${p.factor}x slow`;
    return `bursts of ${p.period}`;
  }
}

/**
 * One profile per replica. With skew each replica drifts with even odds, independently: some seeds have one odd
 * clock among steady ones, others several clocks drifting apart. Without skew, all steady.
 */
export function drawClocks(rng: Random, n: number, skew: boolean): Clock[] {
  return Array.from({ length: n }, () => {
    if (!skew || rng.chance(0.5)) return new Clock({ kind: 'steady' });
    const factor = 2 + rng.int(3); // 2..4: "3x faster or slower", and around it
    switch (rng.int(3)) {
      case 0:
        return new Clock({ kind: 'fast', factor });
      case 1:
        return new Clock({ kind: 'slow', factor, phase: rng.int(factor) });
      default:
        return new Clock({ kind: 'bursty', period: factor + 1, phase: rng.int(factor + 1) });
    }
  });
}
