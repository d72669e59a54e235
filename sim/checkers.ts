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
}

export interface Violation {
  invariant: string;
  detail: string;
}

const keysOf = (r: InstanceRecord): Set<string> => new Set(r.commands.flatMap((c) => c.keys));
const interfere = (a: InstanceRecord, b: InstanceRecord): boolean => {
  const ka = keysOf(a);
  return [...keysOf(b)].some((k) => ka.has(k));
};
const describeValue = (r: InstanceRecord): string =>
  JSON.stringify({ commands: r.commands.map((c) => c.id), seq: r.attributes.seq, deps: r.attributes.deps });

/** Every instance committed with one value (commands and attributes) on every replica. */
export function checkAgreement(h: History): Violation[] {
  const values = new Map<InstanceKey, { replica: ReplicaId; value: string }>();
  const out: Violation[] = [];
  for (const [replica, records] of h.committed) {
    for (const [key, record] of records) {
      const value = describeValue(record);
      const seen = values.get(key);
      if (!seen) values.set(key, { replica, value });
      else if (seen.value !== value) {
        out.push({ invariant: 'agreement', detail: `${key}: ${seen.replica} ${seen.value} vs ${replica} ${value}` });
      }
    }
  }
  return out;
}

/** The union of every replica's committed records (agreement makes it well defined). */
function union(h: History): Map<InstanceKey, InstanceRecord> {
  const all = new Map<InstanceKey, InstanceRecord>();
  for (const records of h.committed.values()) for (const [k, r] of records) if (!all.has(k)) all.set(k, r);
  return all;
}

function reachable(all: Map<InstanceKey, InstanceRecord>, from: InstanceKey): Set<InstanceKey> {
  const seen = new Set<InstanceKey>();
  const stack = [...(all.get(from)?.attributes.deps ?? [])];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(all.get(next)?.attributes.deps ?? []));
  }
  return seen;
}

/** Of two interfering committed instances, one reaches the other through deps (paper §4.2 Consistency). */
export function checkVisibility(h: History): Violation[] {
  const all = union(h);
  const keys = [...all.keys()].sort();
  const reach = new Map(keys.map((k) => [k, reachable(all, k)]));
  const out: Violation[] = [];
  for (let i = 0; i < keys.length; i++) {
    for (let j = i + 1; j < keys.length; j++) {
      const a = all.get(keys[i]!)!;
      const b = all.get(keys[j]!)!;
      if (!interfere(a, b)) continue;
      if (!reach.get(keys[i]!)!.has(keys[j]!) && !reach.get(keys[j]!)!.has(keys[i]!)) {
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
        if (!perKey.has(k)) perKey.set(k, new Map());
        const logs = perKey.get(k)!;
        logs.set(replica, [...(logs.get(replica) ?? []), key]);
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
        if (reachable(all, dep).has(key)) continue; // a cycle: order inside the component is by seq
        out.push({ invariant: 'deps first', detail: `${replica} executed ${key} before its dep ${dep}` });
      }
    }
  }
  return out;
}

/** A command acknowledged before another interfering one was proposed executes first (§4.2 linearizability). */
export function checkRealTime(h: History): Violation[] {
  const all = union(h);
  const out: Violation[] = [];
  for (const [replica, log] of h.executed) {
    const position = new Map(log.map((k, i) => [k, i]));
    for (const [a, ackA] of h.acknowledgedAt) {
      for (const [b, proposedB] of h.proposedAt) {
        if (a === b || ackA >= proposedB) continue;
        const ra = all.get(a);
        const rb = all.get(b);
        if (!ra || !rb || !interfere(ra, rb)) continue;
        const pa = position.get(a);
        const pb = position.get(b);
        if (pb !== undefined && (pa === undefined || pa > pb)) {
          out.push({ invariant: 'real time', detail: `${replica}: ${b} executed before ${a}, acknowledged earlier` });
        }
      }
    }
  }
  return out;
}

export function checkAll(h: History): Violation[] {
  return [
    ...checkAgreement(h),
    ...checkVisibility(h),
    ...checkExecutionOrder(h),
    ...checkExactlyOnce(h),
    ...checkDependenciesFirst(h),
    ...checkRealTime(h),
  ];
}
