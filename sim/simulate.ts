/**
 * One seeded simulation: a safety phase with faults (reordering, duplication, partitions, crash-restart from
 * persisted state, lease expiry, clock skew, guardrail mode switches and epoch bumps, a replica's state lost for
 * good and a fresh one joining under a new id), then a liveness phase without them, then the checkers. Everything
 * random comes from the seed, so `npm run sim -- --seed <s>` replays a failure exactly; a recorded run's events
 * (schedule.ts) replay it without the seed, and shrink.ts takes events out while it still fails.
 */
import type { Violation } from './checkers.ts';
import type { UnsafeRule } from '../processors/epaxos/core/state.ts';
import type { Cluster } from './cluster.ts';
import { describePlan, drawPlan, type FaultFamily, type FaultPlan } from './faults.ts';
import type { Guardrail } from './guardrail.ts';
import { Hider, tickShareWhileHidden } from './hide.ts';
import { seeded, type Random } from './random.ts';
import { lossesMax, Run } from './run.ts';
import type { Schedule } from './schedule.ts';
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
  /** TEST ONLY: known-wrong recovery rules (processors/epaxos/core/state.ts UnsafeRule). */
  unsafeRules?: UnsafeRule[];
  /** Record the last events (default true); batch runs turn it off and replay a failing seed with it. */
  trace?: boolean;
  /** Keep the run's events as a schedule (`SimResult.schedule`), to replay or shrink it. */
  record?: boolean;
  /** Fault families to leave out whatever the seed draws (to isolate a failure). */
  off?: FaultFamily[];
  /** How many of the last events the trace keeps (default 400). */
  traceCapacity?: number;
  /**
   * Bound on liveness-phase rounds (each: deliver everything, then a chance to tick everywhere), counted in ticks
   * of the slowest clock: a replica ticking once every 4 rounds gets 4× the rounds to reach its timeouts.
   */
  livenessRounds: number;
  /** Share of the clients' commands that are reads (the rest append to their keys; clients.ts). */
  readShare: number;
  /** Cluster time after which a client gives up on a command: it is indeterminate then (clients.ts). */
  clientTimeout: number;
}

export const defaultSimOptions: Omit<SimOptions, 'seed'> = {
  n: 3,
  proposals: 12,
  keys: 3,
  steps: 400,
  faults: true,
  livenessRounds: 200,
  readShare: 0.3,
  clientTimeout: 150,
};

export interface FastRecoveries {
  instances: number;
  viaTryPreAccept: number;
  beforeFastCommit: number;
}

export const noFastRecoveries = (): FastRecoveries => ({ instances: 0, viaTryPreAccept: 0, beforeFastCommit: 0 });

/** Adds `add` into `into` (totals over seeds). */
export function addFastRecoveries(into: FastRecoveries, add: FastRecoveries): void {
  into.instances += add.instances;
  into.viaTryPreAccept += add.viaTryPreAccept;
  into.beforeFastCommit += add.beforeFastCommit;
}

export function fastRecoveriesOf(c: Cluster): FastRecoveries {
  const out = noFastRecoveries();
  for (const [key, fast] of c.fastCommitted) {
    const decisions = c.recoveryDecisions.get(key);
    if (!decisions) continue;
    out.instances++;
    if (c.triedPreAccept.has(key)) out.viaTryPreAccept++;
    if (decisions.some((d) => d.at < fast.at)) out.beforeFastCommit++;
  }
  return out;
}

export interface SimResult {
  seed: number;
  violations: Violation[];
  /** The last events before the end, for the report (empty unless `trace`). */
  trace: string[];
  plan: string;
  commands: number;
  messages: number;
  fastCommits: number;
  /**
   * Recoveries that decided an instance its leader fast-committed (issue #8): how many such instances, how many of
   * them went through TryPreAccept, and how many were decided by recovery before the leader's late fast commit.
   */
  fastRecoveries: FastRecoveries;
  /** How often each fault occurred, so tests can tell the faults really happen. */
  faults: Guardrail['counts'] & Run['counts'] & { fenced: number };
  /** The events that were applied, when `record`. */
  schedule?: Schedule;
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

/** The plan a seed draws, and the stream of the families added later (faults.ts): `rng` draws the rest. */
function planOf(options: SimOptions): { rng: Random; later: Random; hiding: Random; plan: FaultPlan } {
  const rng = seeded(options.seed);
  const later = seeded(options.seed ^ 0x5bd1e995);
  const hiding = seeded(options.seed ^ 0x27d4eb2f);
  return { rng, later, hiding, plan: drawPlan(rng, later, hiding, options.n, options.faults, options.off) };
}

function startRun(options: SimOptions, plan: FaultPlan): Run {
  const trace = options.trace === false ? undefined : new Trace(options.traceCapacity ?? 400);
  trace?.add(0, describePlan(plan));
  return new Run({
    n: options.n,
    plan,
    record: options.record === true,
    livenessRounds: options.livenessRounds,
    clientTimeout: options.clientTimeout,
    ...(trace ? { trace } : {}),
    ...(options.unsafeFastQuorumMinusOne ? { unsafeFastQuorumMinusOne: true } : {}),
    ...(options.unsafeSkipJoin ? { unsafeSkipJoin: true } : {}),
    ...(options.unsafeRules?.length ? { unsafeRules: options.unsafeRules } : {}),
  });
}

export function simulate(options: SimOptions): SimResult {
  const { rng, later, hiding, plan } = planOf(options);
  const run = startRun(options, plan);
  const hider = plan.hide ? new Hider(run, hiding) : undefined;
  // Half the seeds with hidden decisions spread over twice the keys: fewer conflicts, so more fast commits to hide
  // (the seq guard takes the slow path whenever a dep is not known committed: at N=7 and 9 and 3 keys, fast
  // commits were one or two per seed).
  const keySpace = hider && hiding.chance(0.5) ? 2 * options.keys : options.keys;
  const { c, guardrail } = run;
  const place = (r: string): number => c.ids.indexOf(r);
  let proposed = 0;
  const propose = (): void => {
    const at = rng.pick(c.ids.filter((r) => !c.crashed.has(r)));
    const keyCount = rng.chance(0.3) ? 2 : 1;
    const keys = [...new Set(Array.from({ length: keyCount }, () => `k${rng.int(keySpace)}`))];
    const id = `${later.chance(options.readShare) ? 'read' : 'cmd'}-${proposed++}`;
    run.apply({ type: 'propose', at: place(at), id, keys });
  };
  /** Delivers a random deliverable message: reordering across partitions; a cut-off replica's wait. */
  const deliverOne = (): boolean => {
    const held = run.heldBits();
    const candidates = c.countDeliverable(held, run.pausedBits());
    if (candidates === 0) return false;
    const position = c.nthDeliverable(rng.int(candidates), held, run.pausedBits());
    if (hider?.delayed(position)) return true; // it waits: this step passes without a delivery
    // Duplicate delivery (a replica re-reading its input after a crash): handlers must be idempotent.
    run.deliverAt(position, options.faults && rng.chance(0.03));
    return true;
  };
  const mayLose = (): boolean => plan.rejoins && guardrail.counts.replacements < lossesMax && later.chance(0.3);
  const up = (r: string): boolean => run.up(r);

  // With hidden decisions, the faulty phase goes on while a replica is hidden (the recovery it waits for needs
  // timeouts), up to six times its length.
  const more = (step: number): boolean => step < options.steps || (hider?.active === true && step < 6 * options.steps);
  for (let step = 0; more(step) && !run.coreFailure; step++) {
    hider?.afterEvent();
    c.time++;
    if (hider?.active && hiding.chance(tickShareWhileHidden)) {
      const r = hiding.pick(c.ids);
      run.apply({ type: 'tick', at: place(r), ticks: run.clocks.get(r)!.next() });
      continue;
    }
    const roll = rng.next();
    if (proposed < options.proposals && roll < odds.propose) propose();
    else if (roll < odds.deliver && deliverOne()) continue;
    else if (roll < odds.tick) {
      const r = rng.pick(c.ids);
      run.apply({ type: 'tick', at: place(r), ticks: run.clocks.get(r)!.next() });
    } else if (!options.faults) continue;
    // While a decision is hidden, no other fault: epoch bumps fence recovery's messages, crashes and cuts take the
    // members it needs, and at N=7 and 9 recovery then seldom finished before the hold ended.
    else if (hider?.active) continue;
    else if (roll < odds.crash && run.down() < run.f) {
      const victim = rng.pick(c.ids.filter(up));
      run.apply({ type: mayLose() ? 'lose' : 'crash', at: place(victim) });
    } else if (roll < odds.restart && c.crashed.size > 0) {
      const back = rng.pick([...c.crashed]);
      run.apply({ type: mayLose() ? 'lose' : 'restart', at: place(back) }); // lose: its disk did not survive
    } else if (roll < odds.cut && run.down() < run.f) run.apply({ type: 'cut', at: place(rng.pick(c.ids.filter(up))) });
    else if (roll < odds.heal && run.cut.size > 0) run.apply({ type: 'heal' });
    else if (roll < odds.expire && plan.leases) {
      // Any replica's lease: a crashed or cut-off one's, or a live one's whose keepalives were late.
      const leased = c.ids.filter((r) => guardrail.hasLease(r));
      if (leased.length > 0) run.apply({ type: 'expire', at: place(rng.pick(leased)) });
    } else if (roll < odds.renew && plan.leases) {
      const lapsed = c.ids.filter((r) => !guardrail.hasLease(r) && !c.crashed.has(r));
      if (lapsed.length > 0) run.apply({ type: 'renew', at: place(rng.pick(lapsed)) });
    } else if (roll < odds.modeSwitch && plan.modeSwitches) run.apply({ type: 'switchMode' });
    else if (roll >= odds.modeSwitch && plan.epochBumps) run.apply({ type: 'bumpEpoch' });
  }
  while (proposed < options.proposals && !run.coreFailure) propose();
  return finish(options, plan, run);
}

/** Runs a schedule's events instead of the seed's draws (the seed still gives the plan: families and clocks). */
export function replay(base: SimOptions, schedule: Schedule): SimResult {
  const options: SimOptions = { ...base, ...schedule.flags, seed: schedule.seed, n: schedule.n };
  const { plan } = planOf(options);
  const run = startRun(options, plan);
  for (const event of schedule.events) {
    run.c.time = event.t ?? run.c.time + 1;
    run.apply(event);
  }
  run.c.ids.forEach((r, i) => run.clocks.get(r)!.resumeAt(schedule.clockChances[i] ?? 0));
  if (schedule.end !== undefined) run.c.time = schedule.end;
  return finish(options, plan, run);
}

function finish(options: SimOptions, plan: FaultPlan, run: Run): SimResult {
  const { c, guardrail } = run;
  const clockChances = c.ids.map((r) => run.clocks.get(r)!.chances);
  const end = c.time;
  run.liveness();
  const fenced = c.allIds.reduce((n, r) => n + c.replica(r).state.fencedMessages, 0);
  return {
    seed: options.seed,
    violations: run.violations(),
    trace: run.trace?.lines() ?? [],
    plan: describePlan(plan),
    commands: run.clients.length,
    messages: run.messages,
    fastCommits: fastCommits(c),
    fastRecoveries: fastRecoveriesOf(c),
    faults: { ...guardrail.counts, ...run.counts, fenced },
    ...(run.events ? { schedule: scheduleOf(options, run.events, clockChances, end) } : {}),
    cluster: c,
  };
}

function scheduleOf(options: SimOptions, events: Schedule['events'], clockChances: number[], end: number): Schedule {
  const flags = {
    off: options.off ?? [],
    unsafeFastQuorumMinusOne: options.unsafeFastQuorumMinusOne === true,
    unsafeSkipJoin: options.unsafeSkipJoin === true,
    ...(options.unsafeRules?.length ? { unsafeRules: options.unsafeRules } : {}),
  };
  return { seed: options.seed, n: options.n, flags, events, clockChances, end };
}

/** `key` names one of `replica`'s own instances ("r0.7" is r0's, "r0.e2.7" is not): parsing each cost a tenth. */
const ledBy = (key: string, replica: string): boolean =>
  key.lastIndexOf('.') === replica.length && key.startsWith(replica);

/** Own instances committed at 2 hops: the fast path (EPAXOS-NOTES.md §7 G1). */
function fastCommits(c: Cluster): number {
  let count = 0;
  for (const [replica, hops] of c.commitHops) for (const [key, h] of hops) if (h === 2 && ledBy(key, replica)) count++;
  return count;
}
