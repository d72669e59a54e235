/**
 * One seeded simulation: a safety phase with faults (reordering, duplication, partitions, crash-restart from
 * persisted state, lease expiry, clock skew, guardrail mode switches and epoch bumps, a replica's state lost for
 * good and a fresh one joining under a new id), then a liveness phase
 * without them, then the checkers. Everything random comes from the seed, so `npm run sim -- --seed <s>` replays
 * a failure exactly.
 */
import type { Message } from '../processors/epaxos/core/messages.ts';
import { InvariantViolation } from '../processors/epaxos/core/state.ts';
import { instanceKey, parseInstanceKey, type Ballot, type ReplicaId } from '../processors/epaxos/core/types.ts';
import { checkAll, type Violation } from './checkers.ts';
import { Cluster } from './cluster.ts';
import { describePlan, drawPlan, type FaultFamily, type FaultPlan } from './faults.ts';
import { Guardrail } from './guardrail.ts';
import { historyOf } from './history.ts';
import { seeded } from './random.ts';
import { Trace } from './trace.ts';

export interface SimOptions {
  seed: number;
  n: number;
  proposals: number;
  /** Distinct keys: fewer keys, more conflicts. */
  keys: number;
  /** Steps of the faulty phase. */
  steps: number;
  faults: boolean;
  unsafeFastQuorumMinusOne?: boolean;
  /** TEST ONLY: a replica under a new id votes at once, without joining (§4.7). */
  unsafeSkipJoin?: boolean;
  /** Record the last events (default true); batch runs turn it off and replay a failing seed with it. */
  trace?: boolean;
  /** Fault families to leave out whatever the seed draws (to isolate a failure). */
  off?: FaultFamily[];
  /** How many of the last events the trace keeps (default 400). */
  traceCapacity?: number;
  /**
   * Bound on liveness-phase rounds (each: deliver everything, then a chance to tick everywhere), counted in ticks
   * of the slowest clock: a replica ticking once every 4 rounds gets 4× the rounds to reach its timeouts.
   */
  livenessRounds: number;
}

export const defaultSimOptions: Omit<SimOptions, 'seed'> = {
  n: 3,
  proposals: 12,
  keys: 3,
  steps: 400,
  faults: true,
  livenessRounds: 200,
};

export interface SimResult {
  seed: number;
  violations: Violation[];
  /** The last events before the end, for the report (empty unless `trace`). */
  trace: string[];
  plan: string;
  commands: number;
  messages: number;
  fastCommits: number;
  /** How often each fault occurred, so tests can tell the faults really happen. */
  faults: Guardrail['counts'] & {
    crashes: number;
    cuts: number;
    fenced: number;
    modeSwitches: number;
    epochs: number;
    /** Replicas that lost their state up (the others lost it while crashed). */
    lostUp: number;
  };
  /** The finished cluster, for debugging a failing seed. */
  cluster: Cluster;
}

/** Cumulative odds of each event of the faulty phase (a roll falls in the first range above it). */
const odds = {
  propose: 0.12,
  deliver: 0.72,
  tick: 0.87,
  crash: 0.9,
  restart: 0.92,
  cut: 0.94,
  heal: 0.95,
  expire: 0.97,
  renew: 0.985,
  modeSwitch: 0.9925,
} as const;

/** At most this many replicas lose their state in one run (each replacement is one more replica in the pool). */
const lossesMax = 2;

export function simulate(options: SimOptions): SimResult {
  const rng = seeded(options.seed);
  // The stream of the fault families added later (faults.ts): drawing from `rng` would change every older seed.
  const later = seeded(options.seed ^ 0x5bd1e995);
  const plan: FaultPlan = drawPlan(rng, later, options.n, options.faults, options.off);
  const c = new Cluster({
    n: options.n,
    recoveryTimeoutTicks: 8,
    ...(options.unsafeFastQuorumMinusOne ? { unsafeFastQuorumMinusOne: true } : {}),
    ...(options.unsafeSkipJoin ? { unsafeSkipJoin: true } : {}),
  });
  const f = (options.n - 1) / 2;
  const trace = options.trace === false ? undefined : new Trace(options.traceCapacity ?? 400);
  trace?.add(0, describePlan(plan));
  const guardrail = new Guardrail(c, trace);
  const clocks = new Map(c.ids.map((r, i) => [r, plan.clocks[i]!]));
  const cut = new Set<ReplicaId>();
  const counts = { crashes: 0, cuts: 0, modeSwitches: 0, epochs: 0, lostUp: 0 };
  let proposed = 0;
  let messages = 0;

  const propose = (): void => {
    const at = rng.pick(c.ids.filter((r) => !c.crashed.has(r)));
    const keyCount = rng.chance(0.3) ? 2 : 1;
    const keys = [...new Set(Array.from({ length: keyCount }, () => `k${rng.int(options.keys)}`))];
    guardrail.propose(at, `cmd-${proposed++}`, keys);
  };
  /** Delivers a random deliverable message: reordering across partitions; a cut-off replica's wait. */
  const deliverOne = (): boolean => {
    const heldBits = c.bitsOf(cut);
    const candidates = c.countDeliverable(heldBits);
    if (candidates === 0) return false;
    const position = c.nthDeliverable(rng.int(candidates), heldBits);
    const flight = c.pool[position]!;
    const m = flight.message;
    // Duplicate delivery (a replica re-reading its input after a crash): handlers must be idempotent.
    if (options.faults && rng.chance(0.03)) c.pool.push({ ...flight, seq: -1 });
    trace?.add(c.time, `deliver ${describeMessage(m)}${isFenced(c, m) ? ' (fenced: older epoch)' : ''}`);
    messages++;
    c.deliver(position);
    return true;
  };
  /** A chance for r to tick: as many ticks as its clock gives, each after its processor follows the guardrail. */
  const tickChance = (r: ReplicaId): void => {
    for (let ticks = clocks.get(r)!.next(); ticks > 0; ticks--) {
      guardrail.follow(r);
      c.tick(r);
    }
  };
  const up = (r: ReplicaId): boolean => !c.crashed.has(r) && !cut.has(r);
  // A joiner votes on nothing: it counts against the F replicas that may be down at once.
  const joining = (): number => c.ids.filter((r) => c.replica(r).state.join).length;
  const down = (): number => c.crashed.size + cut.size + joining();
  /** `victim` (up or crashed) loses its state for good; a fresh replica joins in its place on the same clock. */
  const lose = (victim: ReplicaId): void => {
    const fresh = guardrail.replace(victim);
    clocks.set(fresh, clocks.get(victim)!);
  };
  const mayLose = (): boolean => plan.rejoins && guardrail.counts.replacements < lossesMax && later.chance(0.3);

  // The core asserts its invariants (InvariantViolation): a failed one is this seed's violation, not a crash.
  let coreFailure: string | undefined;
  let round = 0;
  let livelock: string | undefined;
  const done = (): boolean =>
    c.pool.length === 0 && guardrail.heldCount === 0 && joining() === 0 && unexecuted(c).length === 0;
  try {
    for (let step = 0; step < options.steps; step++) {
      c.time++;
      const roll = rng.next();
      if (proposed < options.proposals && roll < odds.propose) propose();
      else if (roll < odds.deliver && deliverOne()) continue;
      else if (roll < odds.tick) tickChance(rng.pick(c.ids));
      else if (!options.faults) continue;
      else if (roll < odds.crash && down() < f) {
        const victim = rng.pick(c.ids.filter(up));
        if (mayLose()) {
          lose(victim);
          counts.lostUp++;
        } else {
          c.crash(victim);
          counts.crashes++;
          trace?.add(c.time, `crash ${victim}`);
        }
      } else if (roll < odds.restart && c.crashed.size > 0) {
        const back = rng.pick([...c.crashed]);
        if (mayLose())
          lose(back); // its disk did not survive the crash
        else {
          guardrail.restart(back);
          trace?.add(c.time, `restart ${back} from its persisted records`);
        }
      } else if (roll < odds.cut && down() < f) {
        const victim = rng.pick(c.ids.filter(up));
        cut.add(victim);
        counts.cuts++;
        trace?.add(c.time, `cut off ${victim}`);
      } else if (roll < odds.heal && cut.size > 0) {
        cut.clear();
        trace?.add(c.time, 'heal partition');
      } else if (roll < odds.expire && plan.leases) {
        // Any replica's lease: a crashed or cut-off one's, or a live one's whose keepalives were late.
        const leased = c.ids.filter((r) => guardrail.hasLease(r));
        if (leased.length > 0) guardrail.expire(rng.pick(leased));
      } else if (roll < odds.renew && plan.leases) {
        const lapsed = c.ids.filter((r) => !guardrail.hasLease(r) && !c.crashed.has(r));
        if (lapsed.length > 0) guardrail.renew(rng.pick(lapsed));
      } else if (roll < odds.modeSwitch && plan.modeSwitches) {
        guardrail.switchMode();
        counts.modeSwitches++;
      } else if (roll >= odds.modeSwitch && plan.epochBumps) {
        guardrail.bumpEpoch();
        counts.epochs++;
      }
    }
    while (proposed < options.proposals) propose();

    // Liveness: no more faults; every proposal must commit and execute everywhere within the bound.
    for (const r of [...c.crashed]) guardrail.restart(r);
    cut.clear();
    for (const r of c.ids) if (!guardrail.hasLease(r)) guardrail.renew(r);
    trace?.add(c.time, 'liveness phase');
    const bound = options.livenessRounds * Math.max(...plan.clocks.map((clock) => clock.slowdown));
    for (; round < bound && !done() && !livelock; round++) {
      c.time++;
      try {
        c.deliverAll(20_000);
      } catch (error) {
        livelock = (error as Error).message; // messages that beget messages forever: a liveness failure
      }
      for (const r of c.ids) tickChance(r);
    }
  } catch (error) {
    if (!(error instanceof InvariantViolation)) throw error;
    coreFailure = error.message;
    trace?.add(c.time, `core assertion failed: ${error.message}`);
  }
  const violations = checkAll(historyOf(c));
  if (coreFailure) violations.unshift({ invariant: 'core assertion', detail: coreFailure });
  else if (livelock) violations.push({ invariant: 'liveness', detail: `livelock: ${livelock}` });
  else if (!done()) {
    const missing = unexecuted(c).map(({ replica, missing }) => `${replica}: ${missing.join(',')} not executed`);
    const held = guardrail.heldCount > 0 ? `, ${guardrail.heldCount} proposals still held` : '';
    const joiners = joining() > 0 ? `, ${joining()} replicas still joining` : '';
    const detail = `after ${round} healed rounds ${missing.join('; ') || 'all executed'}${held}${joiners}`;
    violations.push({ invariant: 'liveness', detail });
  }
  const fenced = c.ids.reduce((n, r) => n + c.replica(r).state.fencedMessages, 0);
  return {
    seed: options.seed,
    violations,
    trace: trace?.lines() ?? [],
    plan: describePlan(plan),
    commands: proposed,
    messages,
    fastCommits: fastCommits(c),
    faults: { ...guardrail.counts, ...counts, fenced },
    cluster: c,
  };
}

/**
 * Per member, the instances it has not executed that it must have once healed: every proposed instance, but for
 * those of a replica that lost its state which no member ever heard of (its PreAccepts were fenced or never left:
 * no one can recover what no one knows, and its client times out).
 */
function unexecuted(c: Cluster): { replica: ReplicaId; missing: string[] }[] {
  const members = c.ids;
  const known = (key: string): boolean => members.some((r) => c.replica(r).state.instances.has(key));
  const expected = [...c.proposedAt.keys()].filter((key) => !c.isLost(parseInstanceKey(key).replica) || known(key));
  const out: { replica: ReplicaId; missing: string[] }[] = [];
  for (const r of members) {
    if (c.executed.get(r)!.length < expected.length || c.allIds.length > members.length) {
      const executor = c.executors.get(r)!;
      const missing = expected.filter((key) => !executor.isExecuted(key));
      if (missing.length > 0) out.push({ replica: r, missing });
    }
  }
  return out;
}

const ballotOf = (b: Ballot): string => `${b.epoch > 1 ? `${b.epoch}:` : ''}${b.round}.${b.replica}`;

function describeMessage(m: Message): string {
  if (m.type === 'Join') return `Join ${m.from}->${m.to} e${m.epoch}${m.awaiting ? ` awaiting [${m.awaiting}]` : ''}`;
  if (m.type === 'JoinReply') {
    const committed = m.committed.map((r) => instanceKey(r.instance));
    return `JoinReply ${m.from}->${m.to} e${m.epoch}${m.full ? ' full' : ''} committed [${committed}] pending [${m.pending}]`;
  }
  const base = `${m.type} ${m.from}->${m.to} ${instanceKey(m.instance)} b${ballotOf(m.ballot)}`;
  const attributes = 'attributes' in m ? ` seq ${m.attributes.seq} deps [${m.attributes.deps.join(',')}]` : '';
  const ok = 'ok' in m ? (m.ok ? ' ok' : ' refused') : '';
  const report =
    m.type === 'PrepareReply' && m.report
      ? ` ${m.report.status}${m.report.preacceptedEq ? ' EQ' : ''} vbal ${ballotOf(m.report.vbal)} seq ${m.report.attributes.seq} deps [${m.report.attributes.deps.join(',')}]`
      : '';
  return base + ok + attributes + report;
}

/** Whether the receiver drops the message as one of an older epoch (as the core decides: Commits pass). */
const isFenced = (c: Cluster, m: Message): boolean =>
  m.epoch < c.replica(m.to).state.config.epoch && m.type !== 'Commit';

/** Own instances committed at 2 hops: the fast path (EPAXOS-NOTES.md §7 G1). */
function fastCommits(c: Cluster): number {
  let count = 0;
  for (const [replica, hops] of c.commitHops)
    for (const [key, h] of hops) if (h === 2 && parseInstanceKey(key).replica === replica) count++;
  return count;
}
