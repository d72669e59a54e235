/**
 * Invariant checkers of DESIGN.md §3, applied to a finished simulation. They read only what the cluster
 * recorded (committed records, execution logs, proposal and acknowledgement times): they share no code with the
 * protocol they check (STYLE.md §11).
 */
import type { InstanceKey, InstanceRecord, ReplicaId } from '../processors/epaxos/core/types.ts';

export interface History {
  replicas: ReplicaId[];
  /** Committed records as each live replica knows them. */
  committed: Map<ReplicaId, Map<InstanceKey, InstanceRecord>>;
  /** Instance keys in execution order, per replica. */
  executed: Map<ReplicaId, InstanceKey[]>;
  /** Logical time at which each instance was proposed, and when its leader first acknowledged the commit. */
  proposedAt: Map<InstanceKey, number>;
  acknowledgedAt: Map<InstanceKey, number>;
  /**
   * What each leader decided on the fast path, and every value a recoverer decided (at a ballot above the
   * default one), per instance: recovery must rebuild a fast commit it never heard of (issue #8).
   */
  fastCommitted?: ReadonlyMap<InstanceKey, DecidedValue>;
  recoveryDecisions?: ReadonlyMap<InstanceKey, readonly DecidedValue[]>;
}

/** A value one replica decided, and when (cluster time). */
export interface DecidedValue {
  replica: ReplicaId;
  commands: readonly string[];
  seq: number;
  deps: readonly InstanceKey[];
  at: number;
}

export interface Violation {
  invariant: string;
  detail: string;
}

/**
 * Derived views shared by the checkers of one history (computed once: the checkers ran the same scans per pair of
 * instances, and were a sixth of the simulator's time). Records are values the cluster never edits, so caching
 * by object identity is sound.
 */
const keySets = new WeakMap<InstanceRecord, Set<string>>();
const keysOf = (r: InstanceRecord): Set<string> => {
  let keys = keySets.get(r);
  if (!keys) keySets.set(r, (keys = new Set(r.commands.flatMap((c) => c.keys))));
  return keys;
};
const interfere = (a: InstanceRecord, b: InstanceRecord): boolean => {
  const ka = keysOf(a);
  for (const k of keysOf(b)) if (ka.has(k)) return true;
  return false;
};
const describeValue = (r: InstanceRecord): string =>
  JSON.stringify({ commands: r.commands.map((c) => c.id), seq: r.attributes.seq, deps: r.attributes.deps });

/** Every instance committed with one value (commands and attributes) on every replica. */
export function checkAgreement(h: History): Violation[] {
  const first = new Map<InstanceKey, { replica: ReplicaId; record: InstanceRecord }>();
  const out: Violation[] = [];
  for (const [replica, records] of h.committed) {
    for (const [key, record] of records) {
      const seen = first.get(key);
      if (!seen) first.set(key, { replica, record });
      else if (!sameValue(seen.record, record)) {
        const [a, b] = [describeValue(seen.record), describeValue(record)];
        out.push({ invariant: 'agreement', detail: `${key}: ${seen.replica} ${a} vs ${replica} ${b}` });
      }
    }
  }
  return out;
}

/** What describeValue shows, compared without building the text (it ran for every record on every replica). */
function sameValue(a: InstanceRecord, b: InstanceRecord): boolean {
  const same = <T>(x: readonly T[], y: readonly T[]): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  return (
    a.attributes.seq === b.attributes.seq &&
    same(a.attributes.deps, b.attributes.deps) &&
    same(
      a.commands.map((c) => c.id),
      b.commands.map((c) => c.id),
    )
  );
}

/** The union of every replica's committed records (agreement makes it well defined). */
const unions = new WeakMap<History, Map<InstanceKey, InstanceRecord>>();
function union(h: History): Map<InstanceKey, InstanceRecord> {
  let all = unions.get(h);
  if (all) return all;
  all = new Map<InstanceKey, InstanceRecord>();
  for (const records of h.committed.values()) for (const [k, r] of records) if (!all.has(k)) all.set(k, r);
  unions.set(h, all);
  return all;
}

function reachable(all: Map<InstanceKey, InstanceRecord>, from: InstanceKey): Set<InstanceKey> {
  const seen = new Set<InstanceKey>();
  const stack = [...(all.get(from)?.attributes.deps ?? [])];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    for (const dep of all.get(next)?.attributes.deps ?? []) stack.push(dep);
  }
  return seen;
}

/** Reachability through deps from each instance, computed on first use per history. */
const reaches = new WeakMap<History, Map<InstanceKey, Set<InstanceKey>>>();
function reach(h: History, from: InstanceKey): Set<InstanceKey> {
  let memo = reaches.get(h);
  if (!memo) reaches.set(h, (memo = new Map()));
  let set = memo.get(from);
  if (!set) memo.set(from, (set = reachable(union(h), from)));
  return set;
}

/** Of two interfering committed instances, one reaches the other through deps (paper §4.2 Consistency). */
export function checkVisibility(h: History): Violation[] {
  const all = union(h);
  const keys = [...all.keys()].sort();
  const out: Violation[] = [];
  for (let i = 0; i < keys.length; i++) {
    for (let j = i + 1; j < keys.length; j++) {
      const a = all.get(keys[i]!)!;
      const b = all.get(keys[j]!)!;
      if (!interfere(a, b)) continue;
      if (!reach(h, keys[i]!).has(keys[j]!) && !reach(h, keys[j]!).has(keys[i]!)) {
        out.push({ invariant: 'visibility', detail: `${keys[i]} and ${keys[j]} interfere but neither sees the other` });
      }
    }
  }
  return out;
}

/** Per key, every replica's execution log is a prefix of another's (DESIGN.md §3: per-key logs prefix-equal). */
export function checkExecutionOrder(h: History): Violation[] {
  const all = union(h);
  const perKey = new Map<string, Map<ReplicaId, InstanceKey[]>>();
  for (const [replica, log] of h.executed) {
    for (const key of log) {
      for (const k of keysOf(all.get(key)!)) {
        let logs = perKey.get(k);
        if (!logs) perKey.set(k, (logs = new Map()));
        const perReplica = logs.get(replica);
        if (perReplica) perReplica.push(key);
        else logs.set(replica, [key]);
      }
    }
  }
  const out: Violation[] = [];
  for (const [k, logs] of perKey) {
    const sorted = [...logs.entries()].sort((a, b) => b[1].length - a[1].length);
    const longest = sorted[0]![1];
    for (const [replica, log] of sorted.slice(1)) {
      const diverge = log.findIndex((x, i) => longest[i] !== x);
      if (diverge >= 0) {
        out.push({
          invariant: 'execution order',
          detail: `key ${k}: ${replica} executed ${log[diverge]} at ${diverge}, ${sorted[0]![0]} executed ${longest[diverge]}`,
        });
      }
    }
  }
  return out;
}

/** No instance or command executes twice on a replica; no command is committed in two instances. */
export function checkExactlyOnce(h: History): Violation[] {
  const out: Violation[] = [];
  for (const [replica, log] of h.executed) {
    const seen = new Set<InstanceKey>();
    for (const key of log) {
      if (seen.has(key)) out.push({ invariant: 'exactly once', detail: `${replica} executed ${key} twice` });
      seen.add(key);
    }
  }
  const owner = new Map<string, InstanceKey>();
  for (const [key, record] of union(h)) {
    for (const c of record.commands) {
      const other = owner.get(c.id);
      if (other && other !== key)
        out.push({ invariant: 'exactly once', detail: `command ${c.id} in ${other} and ${key}` });
      owner.set(c.id, key);
    }
  }
  return out;
}

/** Nothing executes before its deps, except inside a cycle of deps (same strongly connected component). */
export function checkDependenciesFirst(h: History): Violation[] {
  const all = union(h);
  const out: Violation[] = [];
  for (const [replica, log] of h.executed) {
    const position = new Map(log.map((k, i) => [k, i]));
    for (const [i, key] of log.entries()) {
      for (const dep of all.get(key)!.attributes.deps) {
        const at = position.get(dep);
        if (at !== undefined && at < i) continue;
        if (reach(h, dep).has(key)) continue; // a cycle: order inside the component is by seq
        out.push({ invariant: 'deps first', detail: `${replica} executed ${key} before its dep ${dep}` });
      }
    }
  }
  return out;
}

/** A command acknowledged before another interfering one was proposed executes first (§4.2 linearizability). */
export function checkRealTime(h: History): Violation[] {
  const all = union(h);
  // The constrained pairs do not depend on the replica: find them once, then check each replica's log.
  const pairs: [InstanceKey, InstanceKey][] = [];
  for (const [a, ackA] of h.acknowledgedAt) {
    const ra = all.get(a);
    if (!ra) continue;
    for (const [b, proposedB] of h.proposedAt) {
      if (a === b || ackA >= proposedB) continue;
      const rb = all.get(b);
      if (rb && interfere(ra, rb)) pairs.push([a, b]);
    }
  }
  const out: Violation[] = [];
  for (const [replica, log] of h.executed) {
    const position = new Map(log.map((k, i) => [k, i]));
    for (const [a, b] of pairs) {
      const pa = position.get(a);
      const pb = position.get(b);
      if (pb !== undefined && (pa === undefined || pa > pb)) {
        out.push({ invariant: 'real time', detail: `${replica}: ${b} executed before ${a}, acknowledged earlier` });
      }
    }
  }
  return out;
}

/**
 * Every recovery that decided an instance its leader fast-committed chose the fast-committed value (issue #8), be
 * it before the fast commit (the leader's late replies came in after the recovery) or after (its Commits were
 * held). Agreement catches the same when both values reach a replica's log; this names the recovery, and holds
 * also when they never meet (the leader lost its state, or the recoverer's Commits were fenced).
 */
export function checkFastCommitRecovery(h: History): Violation[] {
  const out: Violation[] = [];
  for (const [key, fast] of h.fastCommitted ?? []) {
    for (const r of h.recoveryDecisions?.get(key) ?? []) {
      const same =
        r.seq === fast.seq &&
        r.deps.length === fast.deps.length &&
        r.deps.every((d, i) => d === fast.deps[i]) &&
        r.commands.length === fast.commands.length &&
        r.commands.every((c, i) => c === fast.commands[i]);
      if (same) continue;
      const value = (v: DecidedValue): string => JSON.stringify({ commands: v.commands, seq: v.seq, deps: v.deps });
      out.push({
        invariant: 'recovery of a fast commit',
        detail:
          `${key}: ${fast.replica} fast-committed ${value(fast)} at t=${fast.at}, ` +
          `but ${r.replica}'s recovery decided ${value(r)} at t=${r.at}`,
      });
    }
  }
  return out;
}

export function checkAll(h: History): Violation[] {
  return [
    ...checkFastCommitRecovery(h),
    ...checkAgreement(h),
    ...checkVisibility(h),
    ...checkExecutionOrder(h),
    ...checkExactlyOnce(h),
    ...checkDependenciesFirst(h),
    ...checkRealTime(h),
  ];
}
