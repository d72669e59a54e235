/**
 * Protocol messages, one discriminated union switched exhaustively by the replica (STYLE.md §3). Every message but
 * the two of a join names its instance and ballot; `epoch` lets a receiver fence messages from older memberships
 * (guardrail).
 */
import type { Attributes, Ballot, Command, InstanceId, InstanceKey, ReplicaId, Status } from './types.ts';

interface Envelope {
  from: ReplicaId;
  to: ReplicaId;
  epoch: number;
  instance: InstanceId;
  ballot: Ballot;
}

export interface PreAccept extends Envelope {
  type: 'PreAccept';
  commands: Command[];
  attributes: Attributes;
}

export interface PreAcceptReply extends Envelope {
  type: 'PreAcceptReply';
  ok: boolean;
  /** The acceptor's promised ballot when it refused. */
  promised?: Ballot;
  attributes: Attributes;
  /** Deps this acceptor knows to be committed (the §4.4 seq guard: fast path only when every dep is). */
  committedDeps: InstanceKey[];
}

export interface Accept extends Envelope {
  type: 'Accept';
  commands: Command[];
  attributes: Attributes;
}

export interface AcceptReply extends Envelope {
  type: 'AcceptReply';
  ok: boolean;
  promised?: Ballot;
}

export interface Commit extends Envelope {
  type: 'Commit';
  commands: Command[];
  attributes: Attributes;
}

export interface Prepare extends Envelope {
  type: 'Prepare';
}

/** What an acceptor reports of an instance to a recovering replica (paper Fig. 3). */
export interface InstanceReport {
  status: Status;
  commands: Command[];
  attributes: Attributes;
  vbal: Ballot;
  preacceptedEq: boolean;
}

export interface PrepareReply extends Envelope {
  type: 'PrepareReply';
  ok: boolean;
  promised?: Ballot;
  /** Absent when the acceptor has never seen the instance. */
  report?: InstanceReport;
}

export interface TryPreAccept extends Envelope {
  type: 'TryPreAccept';
  commands: Command[];
  attributes: Attributes;
}

export interface TryPreAcceptReply extends Envelope {
  type: 'TryPreAcceptReply';
  ok: boolean;
  promised?: Ballot;
  /** The interfering instance that made the acceptor refuse, and whether it is committed there. */
  conflict?: { instance: InstanceKey; committed: boolean };
}

/**
 * §4.7: a replica that lost its state, started under a new id, asks a member what it knows. `awaiting` absent:
 * everything (the first ask); present: only the commits of these instances (a later ask, while it waits for them).
 */
export interface Join {
  type: 'Join';
  from: ReplicaId;
  to: ReplicaId;
  epoch: number;
  awaiting?: InstanceKey[];
}

/** A committed instance as a member reports it to a joining replica. */
export interface CommittedReport {
  instance: InstanceId;
  commands: Command[];
  attributes: Attributes;
  ballot: Ballot;
}

export interface JoinReply {
  type: 'JoinReply';
  from: ReplicaId;
  to: ReplicaId;
  epoch: number;
  /** True when it answers a first ask: `pending` then lists every instance the member knows uncommitted. */
  full: boolean;
  committed: CommittedReport[];
  pending: InstanceKey[];
  /** In answer to a later ask: the awaited instances of which the member holds no vote (no record, or a promise). */
  unknown: InstanceKey[];
}

/** The messages about one instance (all but the join's). */
export type InstanceMessage =
  | PreAccept
  | PreAcceptReply
  | Accept
  | AcceptReply
  | Commit
  | Prepare
  | PrepareReply
  | TryPreAccept
  | TryPreAcceptReply;

export type Message = InstanceMessage | Join | JoinReply;

export type MessageType = Message['type'];
