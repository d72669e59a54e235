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
}

export type FaultFamily = 'skew' | 'leases' | 'modeSwitches' | 'epochBumps';

/** `off`: families left out whatever the seed says (to isolate a failure); the draws stay the same. */
export function drawPlan(rng: Random, n: number, faults: boolean, off: readonly FaultFamily[] = []): FaultPlan {
  const on = (family: FaultFamily): boolean => rng.chance(0.5) && faults && !off.includes(family);
  const skew = on('skew');
  return {
    clocks: drawClocks(rng, n, skew),
    leases: on('leases'),
    modeSwitches: on('modeSwitches'),
    epochBumps: on('epochBumps'),
  };
}

export function describePlan(plan: FaultPlan): string {
  const clocks = plan.clocks.map((c, i) => `r${i} ${c.describe()}`).join(', ');
  const families = [plan.leases && 'lease expiry', plan.modeSwitches && 'mode switches', plan.epochBumps && 'epochs'];
  return `clocks: ${clocks}; ${families.filter(Boolean).join(', ') || 'no guardrail faults'}`;
}
