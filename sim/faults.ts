/**
 * Which fault families a seed turns on (TigerBeetle's VOPR and FoundationDB's BUGGIFY do the same: a fault that
 * is always on hides the schedules where it is off). Each family is drawn with even odds, so some seeds keep the
 * classic faults alone and others combine lease expiry, clock skew and guardrail config changes.
 */
import { drawClocks, type Clock } from './clock.ts';
import type { Random } from './random.ts';

export interface FaultPlan {
  /** Per replica (in member order), how its ticks drift. */
  clocks: Clock[];
  /** Leases expire (also of live replicas) and are renewed. */
  leases: boolean;
  /** The guardrail switches fast <-> slow mode. */
  modeSwitches: boolean;
  /** The guardrail bumps the epoch: messages of the old one get fenced. */
  epochBumps: boolean;
  /** A replica loses its state for good (up or crashed) and a fresh one joins under a new id (§4.7). */
  rejoins: boolean;
  /**
   * Decisions hidden from recovery (issue #8): a leader is cut off the moment it decides, or paused right after
   * it proposes (its late replies wait), its lease expires, and it hears and is heard again only once recovery has
   * run; replies and Commits are delayed and reordered.
   */
  hide: boolean;
}

export type FaultFamily = 'skew' | 'leases' | 'modeSwitches' | 'epochBumps' | 'rejoins' | 'hide';
export const faultFamilies: readonly FaultFamily[] = [
  'skew',
  'leases',
  'modeSwitches',
  'epochBumps',
  'rejoins',
  'hide',
];

/**
 * `off`: families left out whatever the seed says (to isolate a failure); the draws stay the same. Families added
 * after the first ones draw from streams of their own (`later`, then `hiding`), so adding one left every older
 * seed's schedule as it was (the seeds that found bugs still replay them) whenever the new family is off.
 */
export function drawPlan(
  rng: Random,
  later: Random,
  hiding: Random,
  n: number,
  faults: boolean,
  off: readonly FaultFamily[] = [],
): FaultPlan {
  const on = (family: FaultFamily, from = rng): boolean => from.chance(0.5) && faults && !off.includes(family);
  const skew = on('skew');
  return {
    clocks: drawClocks(rng, n, skew),
    leases: on('leases'),
    modeSwitches: on('modeSwitches'),
    epochBumps: on('epochBumps'),
    rejoins: on('rejoins', later),
    hide: on('hide', hiding),
  };
}

export function describePlan(plan: FaultPlan): string {
  const clocks = plan.clocks.map((c, i) => `r${i} ${c.describe()}`).join(', ');
  const families = [
    plan.leases && 'lease expiry',
    plan.modeSwitches && 'mode switches',
    plan.epochBumps && 'epochs',
    plan.rejoins && 'lost state and rejoins',
    plan.hide && 'hidden decisions',
  ];
  return `clocks: ${clocks}; ${families.filter(Boolean).join(', ') || 'no guardrail faults'}`;
}
