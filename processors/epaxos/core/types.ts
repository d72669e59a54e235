import { quorumSizes } from '../../../guardrail/quorum.ts';

/**
 * EPaxos core data (Moraru et al., SOSP'13 §4). Pure values: no I/O, no clock, no randomness.
 * Instance ids are (replica, slot); slots are never reused. Ballots are (epoch, round, replica), ordered
 * lexicographically; (epoch, 0, L) is the default ballot of L's own instances (paper §4.3).
 */

export type ReplicaId = string;

export interface InstanceId {
  replica: ReplicaId;
  slot: number;
}

/** "R.7": the canonical text form of an instance id, used as a map key and in deps. */
export type InstanceKey = string;

export const instanceKey = (id: InstanceId): InstanceKey => `${id.replica}.${id.slot}`;

export function parseInstanceKey(key: InstanceKey): InstanceId {
  const dot = key.lastIndexOf('.');
  return { replica: key.slice(0, dot), slot: Number(key.slice(dot + 1)) };
}

/** Total order on instance ids, for deterministic tie-breaks (replica id, then slot). */
export function compareInstances(a: InstanceId, b: InstanceId): number {
  return a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : a.slot - b.slot;
}

export interface Ballot {
  epoch: number;
  round: number;
  replica: ReplicaId;
}

export function compareBallots(a: Ballot, b: Ballot): number {
  if (a.epoch !== b.epoch) return a.epoch - b.epoch;
  if (a.round !== b.round) return a.round - b.round;
  return a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : 0;
}

export const defaultBallot = (epoch: number, leader: ReplicaId): Ballot => ({ epoch, round: 0, replica: leader });

export const isDefaultBallotOf = (ballot: Ballot, leader: ReplicaId): boolean =>
  ballot.round === 0 && ballot.replica === leader;

/** One client decision. Two commands interfere when their key sets intersect (DESIGN.md §3). */
export interface Command {
  id: string;
  keys: string[];
  payload: Uint8Array;
}

/** 'none': only a promise is known (a Prepare for an instance this replica never saw). */
export type Status = 'none' | 'preaccepted' | 'accepted' | 'committed';

/** seq and deps (paper §4.2): deps are instance keys, sorted, never containing the instance itself. */
export interface Attributes {
  seq: number;
  deps: InstanceKey[];
}

/**
 * What a replica knows of one instance, and what must be durable before any reply that depends on it
 * (EPAXOS-NOTES.md §7): the promised ballot and the last *voted* ballot are kept apart (Sutra 2019), so
 * recovery can choose by the highest vbal.
 */
export interface InstanceRecord {
  id: InstanceId;
  /** Empty = a no-op (what recovery commits when it finds nothing). */
  commands: Command[];
  status: Status;
  attributes: Attributes;
  /** Highest ballot promised for this instance. */
  ballot: Ballot;
  /** Ballot at which `attributes` were last voted (pre-accepted or accepted). */
  vbal: Ballot;
  /** Pre-accepted at the default ballot with exactly the leader's initial attributes (paper's PREACCEPTED_EQ). */
  preacceptedEq: boolean;
}

/**
 * The sorted distinct keys of a batch. Records and messages share their commands array, and this runs on every
 * save and every dependency computation (the simulator's top cost, issue #7), so it is computed once per array.
 * Sound because a batch is never edited once proposed or received; the result is frozen since callers share it.
 */
const keysCache = new WeakMap<readonly Command[], readonly string[]>();
export function keysOf(commands: readonly Command[]): readonly string[] {
  let keys = keysCache.get(commands);
  if (!keys) {
    keys = Object.freeze([...new Set(commands.flatMap((c) => c.keys))].sort());
    keysCache.set(commands, keys);
  }
  return keys;
}

export function sameAttributes(a: Attributes, b: Attributes): boolean {
  return a.seq === b.seq && a.deps.length === b.deps.length && a.deps.every((d, i) => d === b.deps[i]);
}

/**
 * Quorum sizes for N = 2F+1 replicas: slow F+1, fast F+⌊(F+1)/2⌋ (at least 1: at N=1 the leader is its own fast
 * quorum), both counting the leader. One function for the core, the guardrail and monitoring: the guardrail's,
 * which is property-tested (guardrail/quorum.property.test.ts); before issue #10 the core computed a fast quorum
 * of 0 at N=1 where the guardrail said 1.
 */
export interface Quorums {
  n: number;
  f: number;
  slow: number;
  fast: number;
}

export function quorums(n: number): Quorums {
  const q = quorumSizes(n);
  return { n: q.n, f: q.f, slow: q.slowQuorum, fast: q.fastQuorum };
}
