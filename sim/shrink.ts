/**
 * Shrinks a failing schedule (schedule.ts) to a small one that still fails the same way: delta debugging (Zeller's
 * ddmin) over its events — take out a chunk, replay, keep the cut if the same invariant still fails, with chunks
 * halving down to single events. A replay skips events that no longer fit (a message never sent), and the kept
 * schedule is what the replay applied, so each cut can only get shorter. What is left is the trace a reader needs:
 * the proposals, deliveries and faults the failure depends on.
 */
import type { Violation } from './checkers.ts';
import type { Schedule } from './schedule.ts';
import { replay, type SimOptions } from './simulate.ts';

export interface ShrinkResult {
  schedule: Schedule;
  /** The violation the shrunk schedule shows (the same invariant as the original's first). */
  violation: Violation;
  replays: number;
  /** False when the replay budget ran out before no single event could be taken out. */
  minimal: boolean;
}

/** Replays at most (about) this many candidates: a few seconds at the simulator's default sizes. */
export const shrinkReplaysMax = 4000;

export function shrink(
  options: SimOptions,
  failing: Schedule,
  invariant: string,
  replaysMax = shrinkReplaysMax,
): ShrinkResult {
  let replays = 0;
  let best = failing;
  let violation: Violation | undefined;
  /** The schedule the replay applied, if `events` still fails with `invariant`. */
  const attempt = (events: Schedule['events']): Schedule | undefined => {
    replays++;
    const result = replay({ ...options, trace: false, record: true }, { ...best, events });
    const found = result.violations.find((v) => v.invariant === invariant);
    if (!found) return undefined;
    violation = found;
    return {
      ...result.schedule!,
      clockChances: best.clockChances,
      ...(best.end === undefined ? {} : { end: best.end }),
    };
  };
  const start = attempt(best.events);
  if (!start) throw new Error(`the schedule does not fail with ${invariant} when replayed: nothing to shrink`);
  best = start;
  let chunks = 2;
  while (best.events.length > 0 && replays < replaysMax) {
    const size = Math.ceil(best.events.length / chunks);
    let cut = false;
    for (let from = 0; from < best.events.length && replays < replaysMax; from += size) {
      const shorter = attempt([...best.events.slice(0, from), ...best.events.slice(from + size)]);
      if (shorter) {
        best = shorter;
        chunks = Math.max(chunks - 1, 2);
        cut = true;
        break;
      }
    }
    if (cut) continue;
    if (size === 1) return { schedule: best, violation: violation!, replays, minimal: true };
    chunks = Math.min(chunks * 2, best.events.length);
  }
  return { schedule: best, violation: violation!, replays, minimal: best.events.length === 0 };
}
