/**
 * A run's faulty phase as data: the events a seed drew, in order, so a failing run can be replayed without its
 * seed, shrunk (shrink.ts: events taken out while it still fails) and saved as a file that replays it. Replicas are
 * named by their place in the membership (a replacement takes its predecessor's place and a new id, which depends
 * on the epochs before it); messages by their exact content.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Message } from '../processors/epaxos/core/messages.ts';
import type { UnsafeRule } from '../processors/epaxos/core/state.ts';
import type { FaultFamily } from './faults.ts';

/** `t`: the cluster time it happened at (recorded; a replay sets the clock to it, so timeouts fall alike). */
export type Event = EventBody & { t?: number };

type EventBody =
  | { type: 'propose'; at: number; id: string; keys: string[] }
  /**
   * `dup`: a copy stays in flight, to be delivered again (a replica re-reading its input). `copy`: which of the
   * deliverable messages with this content, in pool order (duplicates are alike but for their place in the pool).
   */
  | { type: 'deliver'; message: string; copy: number; dup: boolean }
  | { type: 'tick'; at: number; ticks: number }
  | { type: 'crash' | 'restart' | 'lose' | 'cut' | 'expire' | 'renew'; at: number }
  | { type: 'heal' | 'switchMode' | 'bumpEpoch' }
  /**
   * Hides a replica (faults.ts `hide`): 'cut' holds everything from and to it, 'paused' stops it like a stopped process (what is sent to it waits, its clock stands still).
   * `unhide` ends either; what waited is then delivered by deliver events like any other message.
   */
  | { type: 'hide'; at: number; mode: 'cut' | 'paused' }
  | { type: 'unhide'; at: number };

export interface Schedule {
  /** The seed whose plan (fault families, clock profiles) the replay uses; its events replace the draws. */
  seed: number;
  n: number;
  /** What else the run was started with that changes it: families left out, a test-only broken core. */
  flags: {
    off: FaultFamily[];
    unsafeFastQuorumMinusOne: boolean;
    unsafeSkipJoin: boolean;
    /** Test-only known-wrong recovery rules (absent in schedules kept before issue #8). */
    unsafeRules?: UnsafeRule[];
  };
  events: Event[];
  /** Per place, how far its clock had got when the faulty phase ended (the liveness phase goes on from there). */
  clockChances: number[];
  /** The cluster time at which the faulty phase ended. */
  end?: number;
  /** What a kept schedule pins (sim/regressions/). */
  note?: string;
  /**
   * A kept schedule recorded on a core that was wrong (sim/regressions/): with these test-only rules, which bring the
   * wrong behaviour back, it applies event for event and fails with `invariant`; on the core as it is, it passes.
   */
  failsWith?: { unsafeRules: UnsafeRule[]; invariant: string };
}

/** A message's exact content, as one string: two messages with the same one are the same message. */
export function signature(m: Message): string {
  return JSON.stringify(m, (_key, value: unknown) =>
    value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value,
  );
}

/** One event a line, so a schedule reads (and diffs) as the list of steps it is. */
export function saveSchedule(path: string, schedule: Schedule): void {
  mkdirSync(dirname(path), { recursive: true });
  const { events, ...rest } = schedule;
  const head = JSON.stringify(rest).slice(0, -1);
  const lines = events.map((e) => `  ${JSON.stringify(e)}`).join(',\n');
  writeFileSync(path, `${head},\n"events": [\n${lines}\n]}\n`);
}

export function loadSchedule(path: string): Schedule {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<Schedule>;
  const problems = [
    typeof parsed.seed !== 'number' && 'seed: not a number',
    typeof parsed.n !== 'number' && 'n: not a number',
    typeof parsed.flags !== 'object' && 'flags: not an object',
    !Array.isArray(parsed.events) && 'events: not an array',
    !Array.isArray(parsed.clockChances) && 'clockChances: not an array',
  ].filter(Boolean);
  if (problems.length > 0) throw new Error(`${path}: not a simulator schedule (${problems.join('; ')})`);
  return parsed as Schedule;
}
