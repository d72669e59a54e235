/**
 * Explicit Prepare (paper Fig. 3, §4.4) with Sutra's fix: votes are ranked by the ballot they were cast at (vbal),
 * never by the promised ballot. Rules, first match wins:
 *   1. any committed → commit it;
 *   2. any accepted → Accept the one with the highest vbal;
 *   3. enough default-ballot EQ pre-accepts, none from the leader → Accept (basic fast quorum 2F) or TryPreAccept
 *      (optimized fast quorum F+⌊(F+1)/2⌋, §4.4);
 *   4. any pre-accept → Phase 1 with the command, no fast path;  5. nothing → commit a no-op.
 *
 * Which votes recovery counts, and why (issue #8: agreement broke at N=5 when a TryPreAccept erased an EQ vote):
 * - Something can be chosen in two ways: a fast commit of the leader's initial attributes v at the default ballot
 *   (a fast quorum of EQ pre-accepts), or an Accept at some ballot by F+1 replicas. Only these are votes. A
 *   pre-accept at a recovery ballot (rule 4's Phase 1, or a TryPreAccept) chooses nothing: no fast path exists
 *   above the default ballot.
 * - Rule 2 ranks accepts by vbal, as Paxos does: if u was chosen by Accept at b, every recovery above b sees an
 *   accept of u (its quorum meets the F+1 that accepted), and by induction every Accept above b carries u. A
 *   pre-accept never overwrites an accept (onPreAccept, onTryPreAccept leave accepted records alone), so looking at
 *   every accepted report, not only those at the highest vbal, loses nothing and lets no pre-accept hide an accept.
 * - Rule 3 counts the EQ votes of *every* report, not only those at the highest vbal. If the leader L fast-committed
 *   v, its fast quorum (L and F+⌊(F+1)/2⌋−1 EQ voters) meets any recovery quorum Q that lacks L in at least
 *   ⌊(F+1)/2⌋ EQ voters; those votes are still there to count as long as nothing erased them. What could: an Accept
 *   (rule 2 then sees it, carrying v by induction), a Phase 1 at a recovery ballot (only after a recoverer proved v
 *   was not fast-committed: rule 4, or a committed conflict) — and a TryPreAccept of v, which therefore must not:
 *   it re-affirms v, so an EQ voter keeps its default-ballot vote and only raises its promise (startTryPreAccept,
 *   onTryPreAccept). Before issue #8 the recoverer re-saved its own EQ vote at its recovery ballot without the EQ
 *   mark, and the next recoverer, looking only at the highest vbal, saw no EQ vote, took Phase 1 and committed
 *   seq 2 while the leader, whose late replies came in, fast-committed seq 1.
 * - A TryPreAccept that F+1 replicas agree to is safe to accept even when v was not fast-committed: each agreeing
 *   replica either voted EQ (it saw γ before or after any interfering command, so one of the two names the other)
 *   or checked its own log (tryConflict), and F+1 of them meet every interfering command's quorum.
 */
import type { InstanceReport, Prepare, PrepareReply, TryPreAccept, TryPreAcceptReply } from './messages.ts';
import { commit, startAccept, startPhase1 } from './normal.ts';
import type { Coordination, FastCommitEvidence, ReplicaState } from './state.ts';
import {
  compareBallots,
  type Ballot,
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

/**
 * The record with `ballot` promised. The vote (attributes, vbal, EQ mark) stays as it was: a promise is not a vote.
 * (The unsafe variant merges the two, as the specification Sutra corrected did.)
 */
function promise(s: ReplicaState, record: InstanceRecord, ballot: Ballot): InstanceRecord {
  return s.unsafe('promiseOverwritesVbal') ? { ...record, ballot, vbal: ballot } : { ...record, ballot };
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
      ? promise(s, record, ballot)
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
      ? promise(s, existing, m.ballot)
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
  if (!c || compareBallots(c.ballot, m.ballot) !== 0) return;
  if (c.phase === 'try-preaccept') return onLatePrepareReply(s, c, m);
  if (c.phase !== 'prepare') return;
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
  // The old core looked at the highest vbal alone for rules 2-4 (tryPreAcceptErasesEqVote keeps it, for tests).
  const considered = s.unsafe('tryPreAcceptErasesEqVote') ? highestVbal(reports) : reports;
  const accepted = highestVbal(considered.filter((r) => r.report.status === 'accepted'))[0];
  if (accepted) return startAccept(s, id, accepted.report.commands, accepted.report.attributes, c.ballot);
  const eq = considered.filter((r) => r.from !== id.replica && isEqVote(r.report, id));
  const group = largestIdenticalGroup(eq.map((r) => r.report));
  const { f } = s.quorums;
  const basic = s.quorums.fast >= 2 * f; // N=3: the optimized and the basic fast quorum coincide
  if (group && basic && group.count >= f) {
    return startAccept(s, id, group.report.commands, group.report.attributes, c.ballot);
  }
  if (group && !basic && group.count >= Math.floor((f + 1) / 2)) {
    const voters = eq.filter((r) => sameAttributes(r.report.attributes, group.report.attributes)).map((r) => r.from);
    const evidence: FastCommitEvidence = { notEq: new Set(), leaderAnswered: false, deferred: false };
    for (const r of replies) noteEvidence(evidence, r, id);
    return startTryPreAccept(s, id, group.report.commands, group.report.attributes, c, voters, evidence);
  }
  // Rule 4: start from the latest pre-accepted attributes (they name the most).
  const any = highestVbal(considered.filter((r) => r.report.status === 'preaccepted'))[0] ?? considered[0]!;
  startPhase1(s, id, any.report.commands, c.ballot, false, any.report.attributes);
}

/** A fast-round vote: pre-accepted at the leader's default ballot with exactly its initial attributes. */
function isEqVote(report: Pick<InstanceReport, 'status' | 'preacceptedEq' | 'vbal'>, id: InstanceId): boolean {
  return report.status === 'preaccepted' && report.preacceptedEq && isDefaultBallotOf(report.vbal, id.replica);
}

/** The reports voted at the highest vbal among them. */
function highestVbal<T extends { report: InstanceReport }>(reports: T[]): T[] {
  if (reports.length === 0) return [];
  const max = reports.reduce(
    (m, r) => (compareBallots(r.report.vbal, m) > 0 ? r.report.vbal : m),
    reports[0]!.report.vbal,
  );
  return reports.filter((r) => compareBallots(r.report.vbal, max) === 0);
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
  evidence: FastCommitEvidence,
): void {
  const next: Coordination = {
    ...c,
    phase: 'try-preaccept',
    commands,
    initial: attributes,
    attributes,
    replies: new Map(),
    evidence,
  };
  const agreed = new Set([...alreadyAgreed]);
  // Our own log must not conflict either. Our own EQ vote, if we cast one, stays as it is (see the top of the file).
  if (!tryConflict(s, id, commands, attributes)) {
    agreed.add(s.self);
    if (!keepsEqVote(s, s.record(id), attributes, id)) {
      s.save({
        id,
        commands,
        status: 'preaccepted',
        attributes,
        ballot: c.ballot,
        vbal: c.ballot,
        preacceptedEq: false,
      });
    }
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
    if ((seen === 'named' || seen === 'stand-in') && (onlyVote(other) || s.unsafe('trustsReVotedDeps'))) continue;
    if (inDeps === 'maybe' || seen !== undefined) return { ...conflict, committed: false };
    return conflict;
  }
  return undefined;
}

/**
 * Whether `record`'s deps are all this replica ever voted for the instance — or its final value. TryPreAccept's
 * argument (any quorum behind the other instance's final value meets the F+1 that agreed, and what the member in
 * both voted for it names γ) holds for the votes a member cast, not for its latest record: a recovery's Phase 1 or
 * an Accept re-votes, and the new deps may name γ where an earlier vote — still behind a value that can be chosen —
 * did not. Found by the simulator's paused leaders (issue #8, N=5 seed 1894: r4 agreed to r0.2's TryPreAccept
 * because its record of r1.1, re-voted by its own recovery, named r0.2; r1.1 then committed with the value its
 * leader had accepted earlier, without r0.2: neither saw the other). A pre-accept at the leader's default ballot is
 * the member's first and only vote (a duplicate gets the same answer, an EQ vote re-affirmed by TryPreAccept stays
 * as it was); anything else is answered as an uncommitted conflict, so the recoverer waits for the commit.
 */
function onlyVote(record: InstanceRecord): boolean {
  return (
    record.status === 'committed' ||
    (record.status === 'preaccepted' && isDefaultBallotOf(record.vbal, record.id.replica))
  );
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
  if (keepsEqVote(s, existing, m.attributes, m.instance)) {
    // Already voted these attributes at the default ballot, EQ: that vote is evidence of a possible fast commit
    // that later recoveries must still count. Only the promise rises.
    if (compareBallots(m.ballot, existing!.ballot) > 0) s.save({ ...existing!, ballot: m.ballot });
  } else if (existing?.status !== 'committed' && existing?.status !== 'accepted') {
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

/**
 * Whether `record` is a default-ballot EQ vote for `attributes`, which a TryPreAccept of those same attributes
 * must leave in place (the unsafe variant erases it, as the core before issue #8 did).
 */
function keepsEqVote(s: ReplicaState, record: InstanceRecord | undefined, attributes: Attributes, id: InstanceId) {
  if (s.unsafe('tryPreAcceptErasesEqVote') || !record) return false;
  return isEqVote(record, id) && sameAttributes(record.attributes, attributes);
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
  else if (m.conflict?.committed || (m.conflict && s.unsafe('uncommittedConflictAsCommitted'))) {
    // A committed conflict proves γ was not fast-committed with these attributes: plain Phase 1 is safe.
    return startPhase1(s, m.instance, c.commands, c.ballot, false, c.attributes);
  } else if (m.conflict) {
    // Plain Phase 1 needs proof that γ was not fast-committed. Two recoveries deferred on each other are no such
    // proof: fast quorums intersect, so at most one of the two was fast-committed — but it may be this one (found
    // by the simulator's hidden decisions, issue #8: N=5 seed 134 committed r4.0 with two values). The old
    // shortcut stays as an unsafe variant for the tests.
    if (s.unsafe('mutualDeferralPhase1') && s.deferredOn.get(m.conflict.instance) === key) {
      return startPhase1(s, m.instance, c.commands, c.ballot, false, c.attributes);
    }
    if (provesNoFastCommit(s, c)) return startPhase1(s, m.instance, c.commands, c.ballot, false, c.attributes);
    // Otherwise defer (§4.4): the conflicting instance is decided first (its own deadline recovers it; starting
    // that here made two recoverers preempt each other forever in the simulator), our deadline retries this one.
    // The round stays open meanwhile: more agreement still completes it, and a late Prepare reply that proves no
    // fast commit sends it to Phase 1 (onLatePrepareReply) — which is what ends two recoveries waiting on each
    // other once their leaders or enough members answer.
    s.deferredOn.set(key, m.conflict.instance);
    c.evidence!.deferred = true;
    return;
  }
  maybeDecideTry(s, m.instance, c);
}

/**
 * What one Prepare reply proves (the argument at the top of the file): a member other than the leader whose report
 * is not a default-ballot EQ vote is not, and never will be, one of the leader's EQ voters — it promised a
 * recovery ballot, so the leader's PreAccept is refused from now on; a pre-accept at a recovery ballot overwrote an
 * EQ vote only after a recoverer proved no fast commit; an EQ voter that TryPreAccepted keeps its EQ vote. The
 * leader answering without a commit proves the same for the instance as a whole: it commits and persists in one
 * step, and the Prepare ended its coordination.
 */
function noteEvidence(evidence: FastCommitEvidence, reply: PrepareReply, id: InstanceId): void {
  if (!reply.ok) return;
  if (reply.from === id.replica) {
    if (reply.report?.status !== 'committed') evidence.leaderAnswered = true;
  } else if (!reply.report || !isEqVote(reply.report, id)) evidence.notEq.add(reply.from);
}

/**
 * γ was not fast-committed: its leader answered without a commit, or more members than a fast quorum can leave out
 * (N − fast quorum) are known not to be EQ voters.
 */
function provesNoFastCommit(s: ReplicaState, c: Coordination): boolean {
  const e = c.evidence;
  if (!e) return false;
  return e.leaderAnswered || e.notEq.size > s.quorums.n - s.fastQuorum;
}

/** A Prepare reply that came in after the round moved on to TryPreAccept: more evidence, or a commit. */
function onLatePrepareReply(s: ReplicaState, c: Coordination, m: PrepareReply): void {
  if (!m.ok) return;
  if (m.report?.status === 'committed') return commit(s, m.instance, m.report.commands, m.report.attributes, c.ballot);
  if (m.report && m.from !== m.instance.replica && isEqVote(m.report, m.instance)) {
    // Another EQ voter: it agrees with the tuple as the first ones did.
    if (sameAttributes(m.report.attributes, c.attributes)) c.committedDeps.add(m.from);
    return maybeDecideTry(s, m.instance, c);
  }
  noteEvidence(c.evidence!, m, m.instance);
  if (c.evidence!.deferred && provesNoFastCommit(s, c)) {
    startPhase1(s, m.instance, c.commands, c.ballot, false, c.attributes);
  }
}

function maybeDecideTry(s: ReplicaState, id: InstanceId, c: Coordination): void {
  if (c.committedDeps.size >= s.quorums.slow) return startAccept(s, id, c.commands, c.attributes, c.ballot);
  // Deferred on an uncommitted conflict: its refusal proves nothing, so it may not count towards giving up.
  if (c.evidence?.deferred) return;
  const pending = s.others().filter((r) => !c.committedDeps.has(r) && !c.replies.has(r));
  if (pending.length === 0 || c.committedDeps.size + pending.length < s.quorums.slow) {
    startPhase1(s, id, c.commands, c.ballot, false, c.attributes);
  }
}
