/**
 * Joining after a total loss of state (paper §4.7). A replica whose records are gone cannot come back under its old
 * id: it would reuse slots (Proposition 1 needs instance numbers never reused) and it has forgotten its votes, so a
 * quorum it voted in would no longer intersect the next. The guardrail replaces it by a fresh id at a higher epoch,
 * and the fresh replica votes on nothing until it knows everything a decision could have used its predecessor's
 * vote for:
 *  1. it asks every member (Join) and waits for F+1 first answers, each from a member that is not joining itself
 *     and is configured at the joiner's epoch or later — such a member fences the lost replica's messages, which
 *     are of an older epoch;
 *  2. it waits until every instance those members knew uncommitted has committed here. It learns commits from the
 *     answers, from Commit messages, and by asking again each recovery timeout (a member that has not seen the new
 *     membership yet still sends its Commits to the lost id);
 *  3. it goes live: from then on it is an ordinary member that missed some messages, which EPaxos tolerates.
 * While joining it drops every request for a vote — as if those messages were lost — and it neither leads nor
 * recovers: the guardrail counts it as a member down. TryPreAccept alone gets an answer, a refusal that promises
 * nothing: its recoverer waits for every member that could still agree, and a joiner waiting in turn for that very
 * instance to commit would wait with it forever (simulator, seed 1536 at N=5 with two joiners).
 *
 * Why F+1 answers suffice: any quorum (fast or slow, F+1 or more) that counted the lost replica's vote holds at
 * least F other members, and F of the 2F survivors plus the F+1 that answered must share one — which voted before
 * it moved to the new epoch, and so reported the instance. A quorum formed later in the old epoch would need F+1
 * voters there, but only F can still vote in it: the F−1 survivors that did not answer, and the lost replica's
 * replies still in flight.
 *
 * Why an awaited instance may be let go: when two replicas lose their state at once (N=5), an instance the first
 * joiner awaits may have been known only to the two lost ones; nobody can commit it then, and the joiner would wait
 * forever (simulator, seed 815 at N=5). A decided instance is always held, with a real vote, by some member that is
 * not joining: its quorum has F+1 voters, and at most F members are joining at once (each went live knowing what
 * its F+1 answerers knew). So once every other member, asked at the joiner's epoch or later (which fences the lost
 * replicas' messages), answers that it holds no vote for the instance, it was not decided and cannot be decided
 * with a real command any more: the joiner stops waiting for it. Joiners answer these later asks too (they hold no
 * votes); only the first asks need members with a history.
 */
import type { Join, JoinReply, TryPreAccept } from './messages.ts';
import { learnCommit } from './normal.ts';
import type { ReplicaState } from './state.ts';

/** A joiner's answer to TryPreAccept: it will not agree (it holds no vote), and it promises nothing. */
export function refuseTryPreAccept(s: ReplicaState, m: TryPreAccept): void {
  const { instance, ballot } = m;
  s.send({ type: 'TryPreAcceptReply', from: s.self, to: m.from, epoch: s.config.epoch, instance, ballot, ok: false });
}

/** Makes `s` a joiner: it asks at its first tick. */
export function beginJoin(s: ReplicaState): void {
  s.join = {
    answered: new Set(),
    awaiting: new Set(),
    askAt: s.now,
    unknownBy: new Map(),
    unknownEpoch: s.config.epoch,
  };
}

/** At each tick of a joiner: ask the members that have not answered yet, or ask everyone for what it still awaits. */
export function joinTick(s: ReplicaState): void {
  const j = s.join;
  if (!j || s.now < j.askAt) return;
  j.askAt = s.now + s.config.recoveryTimeoutTicks;
  const base = { type: 'Join', from: s.self, epoch: s.config.epoch } as const;
  if (j.answered.size < s.quorums.slow) {
    for (const to of s.others()) if (!j.answered.has(to)) s.send({ ...base, to });
    return;
  }
  const awaiting = [...j.awaiting].sort();
  for (const to of s.others()) s.send({ ...base, to, awaiting });
}

/** A member answers with what it knows, unless it has not reached the joiner's epoch yet. */
export function onJoin(s: ReplicaState, m: Join): void {
  if (s.retired || m.epoch > s.config.epoch || !s.config.members.includes(m.from)) return;
  // A first ask wants a history of votes; a joiner has none.
  if (s.join && !m.awaiting) return;
  const wanted = m.awaiting ? new Set(m.awaiting) : undefined;
  const reply: JoinReply = {
    type: 'JoinReply',
    from: s.self,
    to: m.from,
    epoch: s.config.epoch,
    full: wanted === undefined,
    committed: [],
    pending: [],
    unknown: [],
  };
  for (const [key, record] of s.instances) {
    if (wanted && !wanted.has(key)) continue;
    if (record.status === 'committed') {
      const { id: instance, commands, attributes, vbal: ballot } = record;
      reply.committed.push({ instance, commands, attributes, ballot });
    } else if (!wanted) reply.pending.push(key);
  }
  for (const key of wanted ?? []) {
    const status = s.record(key)?.status;
    if (status === undefined || status === 'none') reply.unknown.push(key);
  }
  s.send(reply);
}

export function onJoinReply(s: ReplicaState, m: JoinReply): void {
  const j = s.join;
  if (!j) return;
  for (const c of m.committed) learnCommit(s, c.instance, c.commands, c.attributes, c.ballot);
  if (m.full && !j.answered.has(m.from)) {
    j.answered.add(m.from);
    for (const key of m.pending) j.awaiting.add(key);
  }
  if (m.epoch >= j.unknownEpoch) {
    for (const key of m.unknown) {
      let by = j.unknownBy.get(key);
      if (!by) j.unknownBy.set(key, (by = new Set()));
      by.add(m.from);
    }
  }
}

/** After each step of a joiner: perhaps the last instance it waited for committed, or nobody holds it any more. */
export function checkLive(s: ReplicaState): void {
  const j = s.join;
  if (!j) return;
  if (j.unknownEpoch !== s.config.epoch) {
    // A newer epoch may have lost another replica, whose messages only members at this epoch fence: count again.
    j.unknownBy.clear();
    j.unknownEpoch = s.config.epoch;
  }
  const others = s.others();
  for (const key of j.awaiting) {
    const by = j.unknownBy.get(key);
    if (s.record(key)?.status === 'committed' || (by && others.every((r) => by.has(r)))) {
      j.awaiting.delete(key);
      j.unknownBy.delete(key);
    }
  }
  if (j.answered.size >= s.quorums.slow && j.awaiting.size === 0) s.join = undefined;
}
