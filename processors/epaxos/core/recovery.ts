/**
 * Explicit Prepare (paper Fig. 3, §4.4) with Sutra's fix: recovery chooses among the replies with the highest
 * *voted* ballot (vbal), never by the promised ballot. Rules, first match wins:
 *   1. any committed → commit it;  2. any accepted → Accept it;
 *   3. enough identical default-ballot pre-accepts (EQ), none from the leader → Accept (basic fast quorum 2F)
 *      or TryPreAccept (optimized fast quorum F+⌊(F+1)/2⌋, §4.4);
 *   4. any pre-accept → Phase 1 with the command, no fast path;  5. nothing → commit a no-op.
 */
import type { InstanceReport, Prepare, PrepareReply, TryPreAccept, TryPreAcceptReply } from './messages.ts';
import { commit, startAccept, startPhase1 } from './normal.ts';
import type { Coordination, ReplicaState } from './state.ts';
import {
  compareBallots,
  defaultBallot,
  instanceKey,
  isDefaultBallotOf,
  keysOf,
  parseInstanceKey,
  sameAttributes,
  type Attributes,
  type Command,
  type InstanceId,
  type InstanceKey,
  type InstanceRecord,
} from './types.ts';

const noopAttributes: Attributes = { seq: 0, deps: [] };

function reportOf(record: InstanceRecord | undefined): InstanceReport | undefined {
  if (!record || record.status === 'none') return undefined;
  const { status, commands, attributes, vbal, preacceptedEq } = record;
  return { status, commands, attributes, vbal, preacceptedEq };
}

/** Starts recovery of `id` at a ballot above every one this replica knows for it. */
export function startRecovery(s: ReplicaState, id: InstanceId): void {
  const key = instanceKey(id);
  const record = s.record(id);
  if (record?.status === 'committed') return;
  s.stats.recoveries++;
  const ballot = s.nextBallot(record?.ballot ?? defaultBallot(s.config.epoch, id.replica));
  // Our own promise first: we are one of the replies.
  s.save(
    record
      ? { ...record, ballot }
      : {
          id,
          commands: [],
          status: 'none',
          attributes: noopAttributes,
          ballot,
          vbal: ballot,
          preacceptedEq: false,
        },
  );
  const self: PrepareReply = {
    type: 'PrepareReply',
    from: s.self,
    to: s.self,
    epoch: s.config.epoch,
    instance: id,
    ballot,
    ok: true,
    ...(reportOf(record) ? { report: reportOf(record)! } : {}),
  };
  const c: Coordination = {
    phase: 'prepare',
    ballot,
    commands: [],
    initial: noopAttributes,
    attributes: noopAttributes,
    replies: new Map([[s.self, self]]),
    committedDeps: new Set(),
    fastAllowed: false,
  };
  s.coordinating.set(key, c);
  for (const to of s.others()) {
    s.send({ type: 'Prepare', from: s.self, to, epoch: s.config.epoch, instance: id, ballot });
  }
  maybeDecidePrepare(s, id, c);
}

export function onPrepare(s: ReplicaState, m: Prepare): void {
  const existing = s.record(m.instance);
  const base = { from: s.self, to: m.from, epoch: s.config.epoch, instance: m.instance, ballot: m.ballot };
  if (existing && compareBallots(m.ballot, existing.ballot) < 0) {
    return s.send({ type: 'PrepareReply', ...base, ok: false, promised: existing.ballot });
  }
  if (existing && compareBallots(m.ballot, existing.ballot) === 0) {
    // The same recoverer asking again (a duplicate): the promise stands, answer as before.
    const again = reportOf(existing);
    return s.send({ type: 'PrepareReply', ...base, ok: true, ...(again ? { report: again } : {}) });
  }
  s.save(
    existing
      ? { ...existing, ballot: m.ballot }
      : {
          id: m.instance,
          commands: [],
          status: 'none',
          attributes: noopAttributes,
          ballot: m.ballot,
          vbal: m.ballot,
          preacceptedEq: false,
        },
  );
  // Whoever coordinated this instance at a lower ballot can no longer finish it through us.
  const mine = s.coordinating.get(instanceKey(m.instance));
  if (mine && compareBallots(mine.ballot, m.ballot) < 0 && mine.phase !== 'accept') {
    s.coordinating.delete(instanceKey(m.instance));
  }
  const report = reportOf(existing);
  s.send({ type: 'PrepareReply', ...base, ok: true, ...(report ? { report } : {}) });
}

export function onPrepareReply(s: ReplicaState, m: PrepareReply): void {
  const key = instanceKey(m.instance);
  const c = s.coordinating.get(key);
  if (!c || c.phase !== 'prepare' || compareBallots(c.ballot, m.ballot) !== 0) return;
  if (!m.ok) {
    s.coordinating.delete(key); // someone recovers at a higher ballot; our deadline will fire again if not
    return;
  }
  c.replies.set(m.from, m);
  maybeDecidePrepare(s, m.instance, c);
}

function maybeDecidePrepare(s: ReplicaState, id: InstanceId, c: Coordination): void {
  if (c.replies.size < Math.floor(s.quorums.n / 2) + 1) return;
  const replies = [...c.replies.values()] as PrepareReply[];
  const reports = replies.filter((r) => r.report).map((r) => ({ from: r.from, report: r.report! }));
  const committed = reports.find((r) => r.report.status === 'committed');
  if (committed) return commit(s, id, committed.report.commands, committed.report.attributes, c.ballot);
  if (reports.length === 0) return startAccept(s, id, [], noopAttributes, c.ballot); // rule 5: a no-op
  const maxVbal = reports.reduce(
    (m, r) => (compareBallots(r.report.vbal, m) > 0 ? r.report.vbal : m),
    reports[0]!.report.vbal,
  );
  const top = reports.filter((r) => compareBallots(r.report.vbal, maxVbal) === 0);
  const accepted = top.find((r) => r.report.status === 'accepted');
  if (accepted) return startAccept(s, id, accepted.report.commands, accepted.report.attributes, c.ballot);
  const eq = top.filter(
    (r) =>
      r.from !== id.replica &&
      r.report.status === 'preaccepted' &&
      r.report.preacceptedEq &&
      isDefaultBallotOf(r.report.vbal, id.replica),
  );
  const group = largestIdenticalGroup(eq.map((r) => r.report));
  const { f } = s.quorums;
  const basic = s.quorums.fast >= 2 * f; // N=3: the optimized and the basic fast quorum coincide
  if (group && basic && group.count >= f) {
    return startAccept(s, id, group.report.commands, group.report.attributes, c.ballot);
  }
  if (group && !basic && group.count >= Math.floor((f + 1) / 2)) {
    const voters = eq.filter((r) => sameAttributes(r.report.attributes, group.report.attributes)).map((r) => r.from);
    return startTryPreAccept(s, id, group.report.commands, group.report.attributes, c, voters);
  }
  const any = top.find((r) => r.report.status === 'preaccepted') ?? top[0]!;
  startPhase1(s, id, any.report.commands, c.ballot, false, any.report.attributes);
}

function largestIdenticalGroup(reports: InstanceReport[]): { report: InstanceReport; count: number } | undefined {
  let best: { report: InstanceReport; count: number } | undefined;
  for (const report of reports) {
    const count = reports.filter((r) => sameAttributes(r.attributes, report.attributes)).length;
    if (!best || count > best.count) best = { report, count };
  }
  return best;
}

// ---- TryPreAccept (§4.4, optimized recovery) ----------------------------------------------------------------

function startTryPreAccept(
  s: ReplicaState,
  id: InstanceId,
  commands: Command[],
  attributes: Attributes,
  c: Coordination,
  alreadyAgreed: string[],
): void {
  const next: Coordination = {
    ...c,
    phase: 'try-preaccept',
    commands,
    initial: attributes,
    attributes,
    replies: new Map(),
  };
  const agreed = new Set([...alreadyAgreed]);
  // Our own log must not conflict either.
  if (!tryConflict(s, id, commands, attributes)) {
    agreed.add(s.self);
    const record = s.record(id);
    s.save({ id, commands, status: 'preaccepted', attributes, ballot: c.ballot, vbal: c.ballot, preacceptedEq: false });
    void record;
  }
  next.committedDeps = agreed; // reused: the set of replicas that pre-accepted the tuple
  s.coordinating.set(instanceKey(id), next);
  for (const to of s.others()) {
    if (agreed.has(to)) continue;
    s.send({
      type: 'TryPreAccept',
      from: s.self,
      to,
      epoch: s.config.epoch,
      instance: id,
      ballot: c.ballot,
      commands,
      attributes,
    });
  }
  maybeDecideTry(s, id, next);
}

/**
 * An interfering instance in this log that γ's recovered attributes would contradict (§4.4): γ's deps name it
 * with a seq not below γ's, or neither accounts for the other. `committed` is claimed only when that is certain,
 * for the recoverer then takes plain Phase 1 (γ cannot have been fast-committed with these attributes: the seq
 * guard fast-commits only over committed deps, whose seq is final); when a stand-in may account for it but this
 * replica cannot tell yet, the conflict is reported uncommitted and the recoverer waits (liveness, not safety).
 */
function tryConflict(s: ReplicaState, id: InstanceId, commands: Command[], attributes: Attributes) {
  const key = instanceKey(id);
  const keys = new Set(keysOf(commands));
  for (const [otherKey, other] of s.instances) {
    if (otherKey === key || other.status === 'none' || !other.commands.some((cmd) => cmd.keys.some((k) => keys.has(k))))
      continue;
    const conflict = { instance: otherKey, committed: other.status === 'committed' };
    const inDeps = accountsFor(s, attributes.deps, other.id, keysOf(other.commands));
    if (inDeps === 'named') {
      if (other.attributes.seq >= attributes.seq) return conflict;
      continue;
    }
    // Reached through a committed stand-in: its seq orders nothing against γ's (only a cycle's members are ordered
    // by seq, and the stand-in's final deps lead there), and the seq guard does not cover it.
    if (inDeps === 'stand-in') continue;
    const seen = accountsFor(s, other.attributes.deps, id, keys);
    if (seen === 'named' || seen === 'stand-in') continue;
    if (inDeps === 'maybe' || seen === 'maybe') return { ...conflict, committed: false };
    return conflict;
  }
  return undefined;
}

/**
 * How `deps` account for `target`: they name it, or they name a later instance of its leader committed with a
 * command on a key it has, which stands for its leader's older instances on that key (compact deps, state.ts
 * localAttributes: its final deps reach them). 'maybe' when they name a later instance of the leader that this
 * replica does not know committed: it may be such a stand-in (found at N=5, seed 11685: r3 counted r3.0 as unseen
 * by deps that named r3.1, the recoverer took plain Phase 1, and r0.0 committed with two seqs).
 */
function accountsFor(
  s: ReplicaState,
  deps: readonly InstanceKey[],
  target: InstanceId,
  targetKeys: Iterable<string>,
): 'named' | 'stand-in' | 'maybe' | undefined {
  const targetKey = instanceKey(target);
  if (deps.includes(targetKey)) return 'named';
  const onKeys = new Set(targetKeys);
  let maybe = false;
  for (const dep of deps) {
    const later = parseInstanceKey(dep);
    if (later.replica !== target.replica || later.slot <= target.slot) continue;
    const record = s.instances.get(dep);
    if (record?.status !== 'committed') maybe = true;
    else if (record.commands.some((cmd) => cmd.keys.some((k) => onKeys.has(k)))) return 'stand-in';
  }
  return maybe ? 'maybe' : undefined;
}

export function onTryPreAccept(s: ReplicaState, m: TryPreAccept): void {
  const existing = s.record(m.instance);
  const base = { from: s.self, to: m.from, epoch: s.config.epoch, instance: m.instance, ballot: m.ballot };
  if (existing && compareBallots(m.ballot, existing.ballot) < 0) {
    return s.send({ type: 'TryPreAcceptReply', ...base, ok: false, promised: existing.ballot });
  }
  const conflict = existing?.status === 'committed' ? undefined : tryConflict(s, m.instance, m.commands, m.attributes);
  if (conflict) return s.send({ type: 'TryPreAcceptReply', ...base, ok: false, conflict });
  if (existing?.status !== 'committed' && existing?.status !== 'accepted') {
    s.save({
      id: m.instance,
      commands: m.commands,
      status: 'preaccepted',
      attributes: m.attributes,
      ballot: m.ballot,
      vbal: m.ballot,
      preacceptedEq: false,
    });
  }
  s.send({ type: 'TryPreAcceptReply', ...base, ok: true });
}

export function onTryPreAcceptReply(s: ReplicaState, m: TryPreAcceptReply): void {
  const key = instanceKey(m.instance);
  const c = s.coordinating.get(key);
  if (!c || c.phase !== 'try-preaccept' || compareBallots(c.ballot, m.ballot) !== 0) return;
  if (!m.ok && m.promised) {
    s.coordinating.delete(key);
    return;
  }
  c.replies.set(m.from, m);
  if (m.ok) c.committedDeps.add(m.from);
  else if (m.conflict?.committed) {
    // A committed conflict proves γ was not fast-committed with these attributes: plain Phase 1 is safe.
    return startPhase1(s, m.instance, c.commands, c.ballot, false, c.attributes);
  } else if (m.conflict) {
    // Two recoveries deferred on each other: neither instance can have been fast-committed with attributes that
    // omit the other (they would see each other), so plain Phase 1 is safe, and it breaks the wait (Go impl.).
    if (s.deferredOn.get(m.conflict.instance) === key) {
      return startPhase1(s, m.instance, c.commands, c.ballot, false, c.attributes);
    }
    // Otherwise defer (§4.4): the conflicting instance is decided first (its own deadline recovers it; starting
    // that here made two recoverers preempt each other forever in the simulator), our deadline retries this one.
    s.deferredOn.set(key, m.conflict.instance);
    s.coordinating.delete(key);
    return;
  }
  maybeDecideTry(s, m.instance, c);
}

function maybeDecideTry(s: ReplicaState, id: InstanceId, c: Coordination): void {
  if (c.committedDeps.size >= s.quorums.slow) return startAccept(s, id, c.commands, c.attributes, c.ballot);
  const pending = s.others().filter((r) => !c.committedDeps.has(r) && !c.replies.has(r));
  if (pending.length === 0 || c.committedDeps.size + pending.length < s.quorums.slow) {
    startPhase1(s, id, c.commands, c.ballot, false, c.attributes);
  }
}
