/**
 * What a consensus process learns from the guardrail (DESIGN.md §4), for the EPaxos processors it hosts:
 * the config in force (epoch, mode, members), which members hold a live lease, and, per replica hosted here,
 * a lease of its own that says whether it may lead new instances. The process that runs the topology (`parley
 * run`, `npm start`) connects one link and installs it with `setClusterLink`; processors read it on every tick,
 * so a topology without a guardrail (tests, the simulator) runs exactly as before.
 */
import {
  GuardrailConflictError,
  initCluster,
  type ClusterConfig,
  type ConfigWatch,
  type Guardrail,
  type LivenessWatch,
  type MemberSession,
  type VersionedConfig,
} from '../guardrail/index.ts';
import { replicaId } from './epaxos/ids.ts';

export interface ClusterLinkOptions {
  guardrail: Guardrail;
  /** Replicas of the consensus topology: the config is created with r0..r<n-1> when the cluster has none. */
  replicas: number;
  /** Lease TTL of each hosted replica; default 5 s. Others see a crashed replica down within it. */
  ttlS?: number;
  /** How often a replica whose id is still leased (its previous owner crashed) tries again; default 1000 ms. */
  registerRetryMs?: number;
  log?: (line: string) => void;
  /** Each new config, for metrics (mode, epoch). */
  onConfig?: (config: VersionedConfig) => void;
}

/** A hosted replica's lease. `canLead` is false until registered and whenever the lease is not known alive. */
export interface Leadership {
  readonly canLead: boolean;
  release(): Promise<void>;
}

type ResolvedOptions = Required<Omit<ClusterLinkOptions, 'onConfig'>> & Pick<ClusterLinkOptions, 'onConfig'>;

export class ClusterLink {
  readonly #options: ResolvedOptions;
  readonly #configWatch: ConfigWatch;
  readonly #liveness: LivenessWatch;
  readonly #leases = new Set<Leadership>();
  #closed = false;

  private constructor(options: ResolvedOptions, configWatch: ConfigWatch, liveness: LivenessWatch) {
    this.#options = options;
    this.#configWatch = configWatch;
    this.#liveness = liveness;
  }

  /** Creates the cluster config when absent, then follows it and the members' leases. */
  static async connect(options: ClusterLinkOptions): Promise<ClusterLink> {
    const resolved = { ttlS: 5, registerRetryMs: 1000, log: (line: string) => console.error(line), ...options };
    const { guardrail, replicas, log } = resolved;
    const where = `guardrail cluster ${guardrail.cluster}`;
    if ((await guardrail.readConfig()) === undefined) {
      const members = Array.from({ length: replicas }, (_, i) => ({ id: replicaId(i) }));
      try {
        await initCluster(guardrail, members, { actor: 'parley run' });
        log(`${where}: created the config with ${members.map((m) => m.id).join(', ')}`);
      } catch (error) {
        if (!(error instanceof GuardrailConflictError)) throw error; // another process created it first
      }
    }
    const configWatch = await guardrail.watchConfig({
      onConfig: (config) => resolved.onConfig?.(config),
      onError: (error) => log(`${where}: ${error.message} (the last good config stays in force)`),
    });
    const config = configWatch.current();
    if (!config) throw new Error(`${where}: no config after creating it`);
    const ids = config.config.members.map((m) => m.id);
    const expected = Array.from({ length: replicas }, (_, i) => replicaId(i));
    if (ids.length !== replicas || expected.some((id) => !ids.includes(id))) {
      await configWatch.close();
      throw new Error(
        `${where}: its config (revision ${config.revision}) has members ${ids.join(', ')}, but the topology runs ` +
          `${expected.join(', ')}: change the topology's replicas or the membership (parley guardrail)`,
      );
    }
    const liveness = await guardrail.watchLiveness(
      () => undefined,
      (error) => log(`${where}: liveness watch: ${error.message}`),
    );
    return new ClusterLink(resolved, configWatch, liveness);
  }

  get cluster(): string {
    return this.#options.guardrail.cluster;
  }

  /** The config in force: the last good one seen. */
  config(): ClusterConfig {
    return this.#configWatch.current()!.config;
  }

  /** Whether `id` holds a live lease, as far as the liveness watch has seen. */
  isLive(id: string): boolean {
    return this.#liveness.live().has(id);
  }

  /** Whether etcd answers now (for /readyz). */
  async reachable(): Promise<boolean> {
    await this.#options.guardrail.readConfig();
    return true;
  }

  /**
   * Registers `id` on a lease, in the background: while the id is still leased by a previous owner that crashed,
   * it retries until that lease expires (at most its TTL). The replica leads new instances only once registered.
   */
  lead(id: string): Leadership {
    const { guardrail, ttlS, registerRetryMs, log } = this.#options;
    let session: MemberSession | undefined;
    let released = false;
    let timer: NodeJS.Timeout | undefined;
    const attempt = async (): Promise<void> => {
      if (released || this.#closed) return;
      try {
        session = await guardrail.registerMember(id, { ttlS });
        if (released || this.#closed) await session.release().catch(() => undefined);
        else log(`guardrail cluster ${guardrail.cluster}: ${id} registered on a ${ttlS} s lease`);
        session.onCanLeadChange((canLead, reason) => {
          log(
            `guardrail cluster ${guardrail.cluster}: ${id} ${canLead ? 'may lead again' : 'stops leading'}: ${reason}`,
          );
          if (!canLead) renew();
        });
      } catch (error) {
        if (!(error instanceof GuardrailConflictError)) {
          log(`guardrail cluster ${guardrail.cluster}: registering ${id}: ${(error as Error).message}; retrying`);
        }
        timer = setTimeout(() => void attempt(), registerRetryMs);
        timer.unref();
      }
    };
    // A lost lease is taken again until it works: an etcd outage longer than one attempt must not leave the
    // replica unable to lead for good.
    let renewing = false;
    const renew = (): void => {
      if (renewing || released || this.#closed || !session || session.canLead) return;
      renewing = true;
      void session.reregister().then(
        () => void (renewing = false),
        (error: Error) => {
          renewing = false;
          log(`guardrail cluster ${guardrail.cluster}: re-registering ${id}: ${error.message}; retrying`);
          timer = setTimeout(renew, registerRetryMs);
          timer.unref();
        },
      );
    };
    void attempt();
    const leadership: Leadership = {
      get canLead() {
        return session?.canLead ?? false;
      },
      release: async () => {
        released = true;
        clearTimeout(timer);
        this.#leases.delete(leadership);
        await session?.release().catch(() => undefined);
      },
    };
    this.#leases.add(leadership);
    return leadership;
  }

  /** Releases the hosted replicas' leases (others see them down at once) and stops watching. */
  async close(): Promise<void> {
    for (const lease of [...this.#leases]) await lease.release();
    this.#closed = true;
    await this.#configWatch.close();
    await this.#liveness.close();
  }
}

let current: ClusterLink | undefined;

/** Installs the process's link (undefined: no guardrail, processors use their topology config alone). */
export function setClusterLink(link: ClusterLink | undefined): void {
  current = link;
}

export function clusterLink(): ClusterLink | undefined {
  return current;
}
