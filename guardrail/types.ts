/**
 * The guardrail's public types: the cluster config stored at `/parley/<cluster>/config`, and the one
 * `Guardrail` interface that both the etcd and the in-process implementation provide (DESIGN.md §4).
 */
import type { GuardrailError } from './errors.ts';

export type Mode = 'fast' | 'slow';
export const modes: readonly Mode[] = ['fast', 'slow'];

/** The protocol version this code writes into new configs; consumers compare it with what they speak. */
export const protocolVersion = 1;

export interface MemberSpec {
  id: string;
  address?: string;
  /** The epoch of the change that added this member; an id is never reused (a rejoin gets a new one). */
  joinedEpoch: number;
}

/** The value of `/parley/<cluster>/config`, as JSON. n, fastQuorum and slowQuorum always agree with members. */
export interface ClusterConfig {
  members: MemberSpec[];
  n: number;
  fastQuorum: number;
  slowQuorum: number;
  /** Bumped by every membership change; replicas fence protocol messages of older epochs. */
  epoch: number;
  mode: Mode;
  protocolVersion: number;
}

/** A config with the mod revision of its key: the token a compare-and-swap update must present. */
export interface VersionedConfig {
  config: ClusterConfig;
  revision: number;
}

/** Why a change was made, recorded in the history. */
export interface ChangeInfo {
  reason: string;
  /** Who made it: a replica id, `cli`, `mode-controller`. */
  actor?: string;
}

export interface HistoryEntry {
  /** The config's mod revision this change produced. */
  revision: number;
  /** The config revision the change was based on (0 for the creation). */
  basedOn: number;
  changeId: string;
  at: string;
  reason: string;
  actor?: string;
  config: ClusterConfig;
}

/** A live member: the value of `/parley/<cluster>/members/<id>`, present while its lease lives. */
export interface MemberRecord {
  id: string;
  address?: string;
  registeredAt: string;
  /** The key's mod revision. */
  revision: number;
}

export interface LivenessEvent {
  type: 'up' | 'down';
  id: string;
  revision: number;
}

export interface ConfigListener {
  /** A valid config newer than the last one delivered. Never a malformed one. */
  onConfig(config: VersionedConfig): void;
  /** A malformed or deleted config (the last good one stays current), or a watch failure. */
  onError?(error: GuardrailError): void;
}

export interface ConfigWatch {
  /** The last good config seen, or undefined before any. */
  current(): VersionedConfig | undefined;
  close(): Promise<void>;
}

export interface LivenessWatch {
  /** Ids whose member key exists right now, as far as this watch has seen. */
  live(): ReadonlySet<string>;
  close(): Promise<void>;
}

export interface RegisterOptions {
  /** Lease TTL in whole seconds (etcd's granularity), >= 1. */
  ttlS: number;
  address?: string;
}

/**
 * A member's registration on a lease. `canLead` is true only while the lease is known alive: a replica must not
 * lead new instances otherwise (DESIGN.md §4). After a loss, `reregister()` takes a new lease.
 */
export interface MemberSession {
  readonly memberId: string;
  readonly canLead: boolean;
  /** Called with each change of canLead and why. Returns an unsubscribe function. */
  onCanLeadChange(listener: (canLead: boolean, reason: string) => void): () => void;
  reregister(): Promise<void>;
  /** Leave on purpose: revoke the lease, so others see the member down at once. */
  release(): Promise<void>;
}

export interface Guardrail {
  readonly cluster: string;
  /** Undefined when no config exists; throws GuardrailConfigError when the stored one is malformed. */
  readConfig(): Promise<VersionedConfig | undefined>;
  /** Creates the config; GuardrailConflictError when one exists. */
  createConfig(config: ClusterConfig, change: ChangeInfo): Promise<VersionedConfig>;
  /** Compare-and-swap on the config's mod revision; GuardrailConflictError when it moved on. */
  updateConfig(expectedRevision: number, next: ClusterConfig, change: ChangeInfo): Promise<VersionedConfig>;
  /** Delivers the current config (if any) and every later valid one, in revision order. */
  watchConfig(listener: ConfigListener): Promise<ConfigWatch>;
  /** Puts `members/<id>` on a new lease; GuardrailConflictError when that id is live already. */
  registerMember(id: string, options: RegisterOptions): Promise<MemberSession>;
  liveMembers(): Promise<MemberRecord[]>;
  /** Reports members going up and down after the returned watch's initial `live()` set. */
  watchLiveness(
    listener: (event: LivenessEvent) => void,
    onError?: (error: GuardrailError) => void,
  ): Promise<LivenessWatch>;
  /** The newest `limit` config changes, oldest first. */
  history(options?: { limit?: number }): Promise<HistoryEntry[]>;
  /**
   * Drops connections and timers. Leases of sessions not released are no longer kept alive and expire after their
   * TTL, exactly as when the process crashes.
   */
  close(): Promise<void>;
}
