/**
 * The Guardrail on any KvDriver: the logic both implementations share. A config change is one transaction that
 * compares the config's mod revision and writes the config, the `epoch` key and a `history/` entry together, so
 * the history cannot disagree with the config. A lost compare is a GuardrailConflictError, never an overwrite.
 * When a transaction's outcome was unknown (the leader died after applying it) and the retry's compare failed,
 * the history entry, keyed by the revision the change was based on and tagged with a fresh change id, tells
 * whether the change that landed was ours.
 */
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from './clock.ts';
import { assertWritable, isValidMemberId, parseConfig } from './config.ts';
import { GuardrailConflictError, GuardrailError, GuardrailInputError } from './errors.ts';
import { guardrailKeys, type GuardrailKeys } from './keys.ts';
import type { KvDriver, KvEntry } from './kv.ts';
import { LeaseSession } from './session.ts';
import type {
  ChangeInfo,
  ClusterConfig,
  ConfigListener,
  ConfigWatch,
  Guardrail,
  HistoryEntry,
  LivenessEvent,
  LivenessWatch,
  MemberRecord,
  MemberSession,
  RegisterOptions,
  VersionedConfig,
} from './types.ts';
import { memberIdOf, watchConfig, watchLiveness } from './watches.ts';

export interface GuardrailOptions {
  /** The cluster's name: keys live under `/parley/<cluster>/`. Default 'default'. */
  cluster?: string;
  /** Config changes kept under `history/`; older ones are trimmed. Default 1000. */
  historyRetain?: number;
}

const defaultHistoryLimit = 50;

export class KvGuardrail implements Guardrail {
  readonly cluster: string;
  readonly keys: GuardrailKeys;
  private readonly historyRetain: number;
  private readonly sessions = new Set<LeaseSession>();
  private readonly watches = new Set<{ close(): Promise<void> }>();
  private closed = false;

  constructor(
    protected readonly kv: KvDriver,
    protected readonly clock: Clock = systemClock,
    options: GuardrailOptions = {},
  ) {
    this.cluster = options.cluster ?? 'default';
    this.keys = guardrailKeys(this.cluster);
    this.historyRetain = options.historyRetain ?? 1_000;
    if (!Number.isSafeInteger(this.historyRetain) || this.historyRetain < 1) {
      throw new GuardrailInputError(`historyRetain ${options.historyRetain}: a whole number >= 1`);
    }
  }

  private check(): void {
    if (this.closed) throw new GuardrailError('CLOSED', `the guardrail of cluster ${this.cluster} is closed`);
  }

  async readConfig(): Promise<VersionedConfig | undefined> {
    this.check();
    const [entry] = (await this.kv.get(this.keys.config)).entries;
    if (!entry) return undefined;
    return { config: parseConfig(entry.value, entry.key, entry.modRevision), revision: entry.modRevision };
  }

  createConfig(config: ClusterConfig, change: ChangeInfo): Promise<VersionedConfig> {
    return this.write(0, config, change);
  }

  updateConfig(expectedRevision: number, next: ClusterConfig, change: ChangeInfo): Promise<VersionedConfig> {
    if (!Number.isSafeInteger(expectedRevision) || expectedRevision < 1) {
      throw new GuardrailInputError(
        `expected revision ${expectedRevision}: a config revision >= 1 (createConfig makes one)`,
      );
    }
    return this.write(expectedRevision, next, change);
  }

  private async write(basedOn: number, config: ClusterConfig, change: ChangeInfo): Promise<VersionedConfig> {
    this.check();
    assertWritable(config);
    const changeId = randomUUID();
    const entry = {
      changeId,
      at: new Date(this.clock.now()).toISOString(),
      reason: change.reason,
      ...(change.actor === undefined ? {} : { actor: change.actor }),
      basedOn,
      config,
    };
    const { keys } = this;
    const result = await this.kv.txn(
      [{ key: keys.config, modRevision: basedOn }],
      [
        { type: 'put', key: keys.config, value: JSON.stringify(config) },
        { type: 'put', key: keys.epoch, value: String(config.epoch) },
        { type: 'put', key: keys.history(basedOn), value: JSON.stringify(entry) },
      ],
    );
    if (result.succeeded) {
      await this.trimHistory(result.revision).catch(() => undefined); // best effort: the next change trims again
      return { config, revision: result.revision };
    }
    const [landed] = (await this.kv.get(keys.history(basedOn))).entries;
    if (landed && historyEntryOf(landed)?.changeId === changeId) return { config, revision: landed.modRevision };
    const [current] = (await this.kv.get(keys.config)).entries;
    throw new GuardrailConflictError(
      keys.config,
      basedOn,
      current?.modRevision ?? 0,
      `config change (${change.reason})`,
    );
  }

  /** Keeps the newest `historyRetain` entries; runs a range delete only once 10% more have piled up. */
  private async trimHistory(configRevision: number): Promise<void> {
    const { historyPrefix } = this.keys;
    const count = await this.kv.count(historyPrefix);
    const excess = count - this.historyRetain;
    if (excess <= Math.max(1, Math.floor(this.historyRetain / 10))) return;
    const oldest = (await this.kv.range(historyPrefix, { limit: excess })).entries;
    const last = oldest.at(-1);
    // Guarded by the config revision just written: if another change came in, it trims instead.
    const guard = [{ key: this.keys.config, modRevision: configRevision }];
    if (last) await this.kv.txn(guard, [{ type: 'delete', key: historyPrefix, end: `${last.key}\0` }]);
  }

  async watchConfig(listener: ConfigListener): Promise<ConfigWatch> {
    this.check();
    return this.track(await watchConfig(this.kv, this.clock, this.keys.config, listener));
  }

  async registerMember(id: string, options: RegisterOptions): Promise<MemberSession> {
    this.check();
    if (!isValidMemberId(id)) throw new GuardrailInputError(`member id ${JSON.stringify(id)} is not a valid id`);
    if (!Number.isInteger(options.ttlS) || options.ttlS < 1) {
      throw new GuardrailInputError(`lease TTL ${options.ttlS}: whole seconds >= 1 (etcd's granularity)`);
    }
    const session = new LeaseSession(this.kv, id, this.keys.member(id), options, () => this.clock.now());
    await session.register();
    this.sessions.add(session);
    return session;
  }

  async liveMembers(): Promise<MemberRecord[]> {
    this.check();
    const { entries } = await this.kv.range(this.keys.membersPrefix);
    return entries.map((e) => memberRecordOf(e, this.keys.membersPrefix));
  }

  async watchLiveness(
    listener: (event: LivenessEvent) => void,
    onError?: (error: GuardrailError) => void,
  ): Promise<LivenessWatch> {
    this.check();
    return this.track(await watchLiveness(this.kv, this.clock, this.keys.membersPrefix, listener, onError));
  }

  async history(options: { limit?: number } = {}): Promise<HistoryEntry[]> {
    this.check();
    const limit = options.limit ?? defaultHistoryLimit;
    const { entries } = await this.kv.range(this.keys.historyPrefix, { limit, newestFirst: true });
    return entries
      .map(historyEntryOf)
      .filter((e): e is HistoryEntry => e !== undefined)
      .reverse();
  }

  private track<W extends { close(): Promise<void> }>(watch: W): W {
    this.watches.add(watch);
    const close = watch.close.bind(watch);
    watch.close = async () => {
      this.watches.delete(watch);
      await close();
    };
    return watch;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const session of this.sessions) session.abandon();
    await Promise.all([...this.watches].map((w) => w.close()));
    await this.kv.close();
  }
}

function memberRecordOf(entry: KvEntry, prefix: string): MemberRecord {
  let value: { address?: unknown; registeredAt?: unknown } = {};
  try {
    value = JSON.parse(entry.value) as typeof value;
  } catch {
    // A hand-written member key still counts as live: liveness is the key's existence, not its value.
  }
  return {
    id: memberIdOf(entry, prefix),
    ...(typeof value.address === 'string' ? { address: value.address } : {}),
    registeredAt: typeof value.registeredAt === 'string' ? value.registeredAt : '',
    revision: entry.modRevision,
  };
}

function historyEntryOf(entry: KvEntry): HistoryEntry | undefined {
  try {
    const raw = JSON.parse(entry.value) as Omit<HistoryEntry, 'revision'>;
    if (typeof raw.changeId !== 'string' || typeof raw.config !== 'object') return undefined;
    return { ...raw, revision: entry.modRevision };
  } catch {
    return undefined;
  }
}
