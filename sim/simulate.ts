/**
 * One seeded simulation: a safety phase with faults (reordering, loss, duplication, partitions, crash-restart
 * from persisted state), then a liveness phase without them, then the checkers. Everything random comes from the
 * seed, so `npm run sim -- --seed <s>` replays a failure exactly.
 */
import { instanceKey, type InstanceKey, type ReplicaId } from '../processors/epaxos/core/types.ts';
import { checkAll, type History, type Violation } from './checkers.ts';
import { Cluster, command } from './cluster.ts';
import { seeded } from './random.ts';

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
  /** Bound on liveness-phase rounds (each: deliver everything, one tick everywhere). */
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
  /** The last events before the end, for the report. */
  trace: string[];
  commands: number;
  messages: number;
  fastCommits: number;
  /** The finished cluster, for debugging a failing seed. */
  cluster: Cluster;
}

export function simulate(options: SimOptions): SimResult {
  const rng = seeded(options.seed);
  const c = new Cluster({
    n: options.n,
    recoveryTimeoutTicks: 8,
    ...(options.unsafeFastQuorumMinusOne ? { unsafeFastQuorumMinusOne: true } : {}),
  });
  const f = (options.n - 1) / 2;
  const trace: string[] = [];
  const log = (event: string): void => {
    trace.push(`${c.time}: ${event}`);
    if (trace.length > 400) trace.shift();
  };
  const cut = new Set<ReplicaId>();
  let proposed = 0;
  let messages = 0;
  const propose = (): void => {
    const at = rng.pick(c.ids.filter((r) => !c.crashed.has(r)));
    const keyCount = rng.chance(0.3) ? 2 : 1;
    const keys = [...new Set(Array.from({ length: keyCount }, () => `k${rng.int(options.keys)}`))];
    const id = c.propose(at, [command(`cmd-${proposed}`, ...keys)]);
    log(`propose cmd-${proposed} ${keys.join('+')} at ${at} as ${instanceKey(id)}`);
    proposed++;
  };
  /** Delivers a random deliverable message: reordering across partitions; a cut-off replica's wait. */
  const deliverOne = (): boolean => {
    const candidates = c.deliverable((m) => cut.has(m.from) || cut.has(m.to));
    if (candidates.length === 0) return false;
    const position = rng.pick(candidates);
    const flight = c.pool[position]!;
    const m = flight.message;
    // Duplicate delivery (a replica re-reading its input after a crash): handlers must be idempotent.
    if (options.faults && rng.chance(0.03)) c.pool.push({ ...flight, seq: -1 });
    log(`deliver ${m.type} ${m.from}->${m.to} ${instanceKey(m.instance)} b${m.ballot.round}.${m.ballot.replica}`);
    messages++;
    c.deliver(position);
    return true;
  };

  for (let step = 0; step < options.steps; step++) {
    c.time++;
    const roll = rng.next();
    if (proposed < options.proposals && roll < 0.12) propose();
    else if (roll < 0.75 && deliverOne()) continue;
    else if (roll < 0.9) c.tick(rng.pick(c.ids));
    else if (options.faults && roll < 0.93 && c.crashed.size + cut.size < f) {
      const victim = rng.pick(c.ids.filter((r) => !c.crashed.has(r) && !cut.has(r)));
      c.crash(victim);
      log(`crash ${victim}`);
    } else if (options.faults && roll < 0.95 && c.crashed.size > 0) {
      const back = rng.pick([...c.crashed]);
      c.restart(back);
      log(`restart ${back} from its persisted records`);
    } else if (options.faults && roll < 0.97 && cut.size + c.crashed.size < f) {
      const victim = rng.pick(c.ids.filter((r) => !c.crashed.has(r) && !cut.has(r)));
      cut.add(victim);
      log(`cut off ${victim}`);
    } else if (cut.size > 0) {
      cut.clear();
      log('heal partition');
    }
  }
  while (proposed < options.proposals) propose();

  // Liveness: no more faults; every proposal must commit and execute everywhere within the bound.
  for (const r of [...c.crashed]) c.restart(r);
  cut.clear();
  log('liveness phase');
  const done = (): boolean => c.ids.every((r) => c.executed.get(r)!.length >= c.proposedAt.size) && c.pool.length === 0;
  let round = 0;
  let livelock: string | undefined;
  for (; round < options.livenessRounds && !done() && !livelock; round++) {
    c.time++;
    try {
      c.deliverAll(20_000);
    } catch (error) {
      livelock = (error as Error).message; // messages that beget messages forever: a liveness failure
    }
    c.tick();
  }
  const history = historyOf(c);
  const violations = checkAll(history);
  if (livelock) violations.push({ invariant: 'liveness', detail: `livelock: ${livelock}` });
  else if (!done()) {
    const missing = c.ids.map((r) => `${r}: ${c.executed.get(r)!.length}/${c.proposedAt.size} executed`);
    violations.push({ invariant: 'liveness', detail: `after ${round} healed rounds ${missing.join(', ')}` });
  }
  const fastCommits = [...c.commitHops.entries()].reduce(
    (n, [replica, hops]) => n + [...hops].filter(([k, h]) => k.startsWith(`${replica}.`) && h === 2).length,
    0,
  );
  return { seed: options.seed, violations, trace, commands: proposed, messages, fastCommits, cluster: c };
}

function historyOf(c: Cluster): History {
  const committed = new Map<ReplicaId, Map<InstanceKey, import('../processors/epaxos/core/types.ts').InstanceRecord>>();
  for (const r of c.ids) {
    const records = new Map();
    for (const [key, record] of c.replica(r).state.instances)
      if (record.status === 'committed') records.set(key, record);
    committed.set(r, records);
  }
  return {
    replicas: c.ids,
    committed,
    executed: new Map(c.ids.map((r) => [r, c.executed.get(r)!.map((x) => instanceKey(x.id))])),
    proposedAt: c.proposedAt,
    acknowledgedAt: c.acknowledgedAt,
  };
}
