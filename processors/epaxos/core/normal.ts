/**
 * The commit protocol's normal case (paper §4.3, Fig. 2): PreAccept, the fast path, the Paxos-Accept slow
 * path, and Commit — for the leader of an instance and for its acceptors.
 */
import type { Accept, AcceptReply, Commit, Message, PreAccept, PreAcceptReply } from './messages.ts';
import { assert, type Coordination, type ReplicaState } from './state.ts';
import {
  compareBallots,
  defaultBallot,
  instanceKey,
  isDefaultBallotOf,
  sameAttributes,
  type Attributes,
  type Ballot,
  type Command,
  type InstanceId,
  type InstanceRecord,
} from './types.ts';

function envelope(s: ReplicaState, to: string, instance: InstanceId, ballot: Ballot) {
  return { from: s.self, to, epoch: s.config.epoch, instance, ballot };
}

function mergeAttributes(a: Attributes, b: Attributes): Attributes {
  return { seq: Math.max(a.seq, b.seq), deps: unionOfSorted(a.deps, b.deps) };
}

/**
 * The sorted union of two sorted deps lists (deps are always sorted and distinct: types.ts), merged in one pass:
 * the same result as sorting their union, without the set and the sort (issue #7, simulator speed).
 */
function unionOfSorted(a: readonly string[], b: readonly string[]): string[] {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x < y) {
      out.push(x);
      i++;
    } else if (y < x) {
      out.push(y);
      j++;
    } else {
      out.push(x);
      i++;
      j++;
    }
  }
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

/** Phase 1 at the leader: a new instance for a batch of commands, pre-accepted locally, sent to every peer. */
export function propose(s: ReplicaState, commands: Command[]): InstanceId {
  assert(commands.length > 0, 'a proposal needs at least one command');
  const id = { replica: s.self, slot: s.nextSlot++ };
  startPhase1(s, id, commands, defaultBallot(s.config.epoch, s.self), true);
  return id;
}

/**
 * Phase 1 at `ballot` (the leader's default ballot, or a recovery ballot without the fast path). A recovery starts
 * from the attributes a voter reported (`reported`), merged with its own: they hold the leader's deps, among them
 * its previous instance on each key, which stands for the older ones (state.ts, localAttributes). Recomputing
 * from the recoverer's log alone dropped it whenever the recoverer had not seen that instance, and an instance
 * naming this one as its leader's latest then no longer reached the older one: a visibility violation (issue #7:
 * `npm run sim -- --seed 799 --off epochBumps`, and seeds 1321, 2907, 5728, 9135 at N=3; the Go implementation
 * also starts Phase 1 from the reported attributes).
 */
export function startPhase1(
  s: ReplicaState,
  id: InstanceId,
  commands: Command[],
  ballot: Ballot,
  fastAllowed: boolean,
  reported?: Attributes,
): void {
  const local = s.localAttributes(commands, id);
  const attributes = reported ? mergeAttributes(reported, local) : local;
  s.save({ id, commands, status: 'preaccepted', attributes, ballot, vbal: ballot, preacceptedEq: fastAllowed });
  const coordination: Coordination = {
    phase: 'preaccept',
    ballot,
    commands,
    initial: attributes,
    attributes,
    replies: new Map(),
    committedDeps: new Set(attributes.deps.filter((d) => s.record(d)?.status === 'committed')),
    fastAllowed,
  };
  s.coordinating.set(instanceKey(id), coordination);
  for (const to of s.others()) {
    s.send({ type: 'PreAccept', ...envelope(s, to, id, ballot), commands, attributes });
  }
  // A single replica (N=1) is its own quorum.
  maybeDecidePreAccept(s, id, coordination);
}

export function onPreAccept(s: ReplicaState, m: PreAccept): void {
  const existing = s.record(m.instance);
  if (existing && compareBallots(m.ballot, existing.ballot) < 0) {
    return reply(s, m, false, existing.attributes, existing.ballot);
  }
  // A late PreAccept cannot undo a later phase: the vote already cast stands, and so does a commit.
  if (existing && (existing.status === 'committed' || existing.status === 'accepted')) return;
  // A duplicate at the ballot already voted gets the same answer: changing a vote the leader may have counted
  // for the fast path would let recovery choose other attributes.
  if (existing?.status === 'preaccepted' && compareBallots(existing.vbal, m.ballot) === 0) {
    return reply(s, m, true, existing.attributes);
  }
  const local = s.localAttributes(m.commands, m.instance);
  const attributes = mergeAttributes(m.attributes, local);
  const eq = isDefaultBallotOf(m.ballot, m.instance.replica) && sameAttributes(attributes, m.attributes);
  s.save({
    id: m.instance,
    commands: m.commands,
    status: 'preaccepted',
    attributes,
    ballot: m.ballot,
    vbal: m.ballot,
    preacceptedEq: eq,
  });
  reply(s, m, true, attributes);
}

function reply(s: ReplicaState, m: PreAccept, ok: boolean, attributes: Attributes, promised?: Ballot): void {
  s.send({
    type: 'PreAcceptReply',
    ...envelope(s, m.from, m.instance, m.ballot),
    ok,
    ...(promised ? { promised } : {}),
    attributes,
    committedDeps: attributes.deps.filter((d) => s.record(d)?.status === 'committed'),
  });
}

export function onPreAcceptReply(s: ReplicaState, m: PreAcceptReply): void {
  const key = instanceKey(m.instance);
  const c = s.coordinating.get(key);
  if (!c || c.phase !== 'preaccept' || compareBallots(c.ballot, m.ballot) !== 0) return;
  if (!m.ok) return abandon(s, key, m.promised);
  c.replies.set(m.from, m);
  for (const d of m.committedDeps) c.committedDeps.add(d);
  maybeDecidePreAccept(s, m.instance, c);
}

/**
 * Decides over a fixed reply set (efficient/epaxos#25): once fast-quorum-1 replies are in, either all equal the
 * initial attributes (fast path), or the union over them goes to Accept (slow path). In slow mode, or when the
 * fast path is not allowed, a slow quorum suffices.
 */
function maybeDecidePreAccept(s: ReplicaState, id: InstanceId, c: Coordination): void {
  const fastPossible = c.fastAllowed && s.config.mode === 'fast';
  const needed = (fastPossible ? s.fastQuorum : s.quorums.slow) - 1;
  if (c.replies.size < needed) return;
  const replies = [...c.replies.values()] as PreAcceptReply[];
  const allEqual = replies.every((r) => sameAttributes(r.attributes, c.initial));
  // §4.4 seq guard: fast only when every dep was committed at a replica whose attributes went into this decision —
  // the leader when it proposed, or an acceptor when it replied (committedDeps) — so its final seq is below ours.
  // The leader learning the commit only now is not enough: the votes were computed with the dep's older, lower seq
  // (found by the simulator's hidden decisions, issue #8: r1.2 fast-committed seq 5 over r1.1, committed meanwhile
  // with seq 5; a TryPreAccept saw the dep's seq not below r1.2's, and recovery committed seq 8).
  const late = s.unsafe('seqGuardCountsLateCommits');
  const depsCommitted =
    s.unsafe('noSeqGuard') ||
    c.initial.deps.every((d) => c.committedDeps.has(d) || (late && s.record(d)?.status === 'committed'));
  // In slow mode the guardrail still needs to know when the fast path would have worked, to switch back.
  if (
    !fastPossible &&
    c.fastAllowed &&
    id.replica === s.self &&
    allEqual &&
    depsCommitted &&
    c.replies.size >= s.fastQuorum - 1
  ) {
    s.fastEligible.add(instanceKey(id));
  }
  if (fastPossible && allEqual && depsCommitted) {
    if (id.replica === s.self) {
      s.stats.fastCommits++;
      s.fastPath.set(instanceKey(id), true);
    }
    return commit(s, id, c.commands, c.initial, c.ballot);
  }
  const merged = replies.reduce((acc, r) => mergeAttributes(acc, r.attributes), c.attributes);
  startAccept(s, id, c.commands, merged, c.ballot);
}

export function startAccept(
  s: ReplicaState,
  id: InstanceId,
  commands: Command[],
  attributes: Attributes,
  ballot: Ballot,
): void {
  const key = instanceKey(id);
  const previous = s.record(id);
  s.save({ id, commands, status: 'accepted', attributes, ballot, vbal: ballot, preacceptedEq: false });
  void previous;
  const c: Coordination = {
    phase: 'accept',
    ballot,
    commands,
    initial: attributes,
    attributes,
    replies: new Map(),
    committedDeps: new Set(),
    fastAllowed: false,
  };
  s.coordinating.set(key, c);
  for (const to of s.others()) s.send({ type: 'Accept', ...envelope(s, to, id, ballot), commands, attributes });
  maybeDecideAccept(s, id, c);
}

export function onAccept(s: ReplicaState, m: Accept): void {
  const existing = s.record(m.instance);
  const ok = !existing || compareBallots(m.ballot, existing.ballot) >= 0;
  if (ok && existing?.status !== 'committed') {
    s.save({
      id: m.instance,
      commands: m.commands,
      status: 'accepted',
      attributes: m.attributes,
      ballot: m.ballot,
      vbal: m.ballot,
      preacceptedEq: false,
    });
  }
  const reply: AcceptReply = { type: 'AcceptReply', ...envelope(s, m.from, m.instance, m.ballot), ok };
  if (!ok) reply.promised = existing!.ballot;
  s.send(reply);
}

export function onAcceptReply(s: ReplicaState, m: AcceptReply): void {
  const key = instanceKey(m.instance);
  const c = s.coordinating.get(key);
  if (!c || c.phase !== 'accept' || compareBallots(c.ballot, m.ballot) !== 0) return;
  if (!m.ok) return abandon(s, key, m.promised);
  c.replies.set(m.from, m);
  maybeDecideAccept(s, m.instance, c);
}

function maybeDecideAccept(s: ReplicaState, id: InstanceId, c: Coordination): void {
  if (c.replies.size < s.quorums.slow - 1) return;
  if (id.replica === s.self && isDefaultBallotOf(c.ballot, s.self)) {
    s.stats.slowCommits++;
    s.fastPath.set(instanceKey(id), false);
  }
  commit(s, id, c.commands, c.attributes, c.ballot);
}

/** Commits locally and tells every peer; the coordination ends. */
export function commit(s: ReplicaState, id: InstanceId, commands: Command[], attributes: Attributes, ballot: Ballot) {
  const key = instanceKey(id);
  s.coordinating.delete(key);
  const existing = s.record(id);
  if (existing?.status === 'committed') {
    assertSameCommit(existing, commands, attributes);
    return;
  }
  const promised = existing && compareBallots(existing.ballot, ballot) > 0 ? existing.ballot : ballot;
  s.save({ id, commands, status: 'committed', attributes, ballot: promised, vbal: ballot, preacceptedEq: false });
  s.decidedHere.add(key);
  for (const to of s.others()) s.send({ type: 'Commit', ...envelope(s, to, id, ballot), commands, attributes });
}

export function onCommit(s: ReplicaState, m: Commit): void {
  learnCommit(s, m.instance, m.commands, m.attributes, m.ballot);
}

/** Records a value decided elsewhere (a Commit, or a member's answer to a joiner). */
export function learnCommit(
  s: ReplicaState,
  id: InstanceId,
  commands: Command[],
  attributes: Attributes,
  decidedAt: Ballot,
): void {
  const existing = s.record(id);
  if (existing?.status === 'committed') return assertSameCommit(existing, commands, attributes);
  s.coordinating.delete(instanceKey(id));
  const ballot = existing && compareBallots(existing.ballot, decidedAt) > 0 ? existing.ballot : decidedAt;
  s.save({ id, commands, status: 'committed', attributes, ballot, vbal: decidedAt, preacceptedEq: false });
}

/** Agreement (DESIGN.md §3): an instance commits one value, whoever reports it. */
function assertSameCommit(existing: InstanceRecord, commands: Command[], attributes: Attributes): void {
  const key = instanceKey(existing.id);
  assert(
    sameAttributes(existing.attributes, attributes) &&
      JSON.stringify(existing.commands.map((c) => c.id)) === JSON.stringify(commands.map((c) => c.id)),
    () =>
      `agreement violated on ${key}: committed ${JSON.stringify(existing.attributes)} then ${JSON.stringify(attributes)}`,
  );
}

/** A higher ballot exists: stop coordinating; whoever holds it (or a later timeout) finishes the instance. */
function abandon(s: ReplicaState, key: string, promised: Ballot | undefined): void {
  s.coordinating.delete(key);
  const record = s.record(key);
  if (record && promised && compareBallots(promised, record.ballot) > 0) {
    s.save({ ...record, ballot: promised });
  }
}

export type NormalMessage = Extract<
  Message,
  { type: 'PreAccept' | 'PreAcceptReply' | 'Accept' | 'AcceptReply' | 'Commit' }
>;
