/**
 * Protocol messages, one discriminated union switched exhaustively by the replica (STYLE.md §3). Every message
 * names its instance and ballot; `epoch` lets a receiver fence messages from older memberships (guardrail).
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

export type Message =
  | PreAccept
  | PreAcceptReply
  | Accept
  | AcceptReply
  | Commit
  | Prepare
  | PrepareReply
  | TryPreAccept
  | TryPreAcceptReply;

export type MessageType = Message['type'];
