/**
 * The EPaxos families (DESIGN.md §7, the seed's metrics table). The consensus processors feed them through
 * `ConsensusMetrics`, a small interface so processors/ never touches prom-client and the pure core never sees
 * metrics at all (STYLE.md §12: the processor that drives the core reports what its Ready output did).
 *
 * `epaxos_fast_path_success_ratio` is a gauge because the seed alerts on its value (< 0.90 = partition
 * suspicion). It is computed at scrape time over a sliding window of recent commits that *tried* the fast path
 * (path `fast` or `slow`): commits made while the guardrail forces slow mode, or by recovery, say nothing about
 * the fast quorum and would drag the ratio down by design. `epaxos_commits_total{path}` is exported too, so a
 * dashboard can compute the same ratio over any range with rate().
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { BoundedLabel } from './labels.ts';

/**
 * How an instance committed: `fast` (fast quorum agreed at the default ballot), `slow` (the fast path was tried
 * and fell back to Accept), `slow-mode` (the guardrail's mode is `slow`: Accept with F+1, no fast attempt),
 * `recovery` (committed by Explicit Prepare on behalf of another leader).
 */
export type CommitPath = 'fast' | 'slow' | 'slow-mode' | 'recovery';
export const commitPaths: readonly CommitPath[] = ['fast', 'slow', 'slow-mode', 'recovery'];

/** The phase whose quorum a reply counted in. */
export type QuorumPhase = 'pre-accept' | 'accept' | 'prepare';

/**
 * Why Explicit Prepare started (DESIGN.md §3): execution blocked past a timeout, or the leader's lease is gone;
 * `unspecified` when the reporter does not say (processors/observer.ts `recovered`).
 */
export type RecoveryReason = 'timeout' | 'lease-lost' | 'unspecified';

export interface ConsensusMetrics {
  /** `commands` proposals entered consensus at `replica`, their command leader. */
  proposed(replica: string, commands?: number): void;
  /**
   * An instance led by `replica` committed by `path`; `seconds` from proposal to commit, one value per command
   * it carries (a batch). The instance counts once in `epaxos_commits_total` and the fast-path ratio; every
   * latency is observed, so the latency histogram and the SLO count commands.
   */
  committed(replica: string, path: CommitPath, seconds: number | readonly number[]): void;
  /** A committed instance executed at `replica`, `seconds` after it committed (waits for its dependencies). */
  executed(replica: string, seconds: number): void;
  /** `replica` started recovering (Explicit Prepare) an instance. */
  recoveryStarted(replica: string, reason: RecoveryReason): void;
  /** A reply from `peer` counted in a quorum that `replica` formed in `phase`: the quorum's composition. */
  quorumReply(replica: string, peer: string, phase: QuorumPhase): void;
  /** The quorum sizes in force (from the guardrail's config: fast F+⌊(F+1)/2⌋, slow F+1) and N. */
  quorumSizes(sizes: { replicas: number; fast: number; slow: number }): void;
}

export interface ConsensusMetricsOptions {
  registry: Registry;
  clock: () => number;
  labelValuesMax: number;
  overflow: Counter<'label'>;
  /** The fast-path ratio covers commits of the last `fastPathWindowSeconds` (default 60)… */
  fastPathWindowSeconds: number;
  /** …at most this many per replica (default 1000), so a burst cannot grow memory. */
  fastPathWindowMax: number;
}

/** Seconds. 0.25 s is the commit-latency SLO's threshold (deploy/prometheus/rules/parley-slo.yml). */
export const commitLatencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Fast-path outcomes of one replica's recent commits, oldest first, bounded in count and age. */
export class FastPathWindow {
  readonly #entries: { at: number; fast: boolean }[] = [];

  constructor(
    private readonly windowMs: number,
    private readonly max: number,
  ) {}

  add(at: number, fast: boolean): void {
    this.#entries.push({ at, fast });
    if (this.#entries.length > this.max) this.#entries.shift();
  }

  /** Fraction of fast commits in (now - window, now]; undefined when there were none to judge. */
  ratio(now: number): number | undefined {
    while (this.#entries.length > 0 && this.#entries[0]!.at <= now - this.windowMs) this.#entries.shift();
    if (this.#entries.length === 0) return undefined;
    return this.#entries.filter((e) => e.fast).length / this.#entries.length;
  }
}

function consensusFamilies(registry: Registry) {
  const registers = [registry];
  return {
    proposals: new Counter({
      name: 'epaxos_proposals_total',
      help: 'Proposals that entered consensus, by command leader.',
      labelNames: ['replica'] as const,
      registers,
    }),
    commits: new Counter({
      name: 'epaxos_commits_total',
      help: 'Committed instances, by command leader and commit path (fast, slow, slow-mode, recovery).',
      labelNames: ['replica', 'path'] as const,
      registers,
    }),
    commitLatency: new Histogram({
      name: 'epaxos_commit_latency_seconds',
      help: 'From proposal to commit, by command leader and commit path.',
      labelNames: ['replica', 'path'] as const,
      buckets: commitLatencyBuckets,
      registers,
    }),
    executionLatency: new Histogram({
      name: 'epaxos_execution_latency_seconds',
      help: 'From commit to execution (waiting for the dependency graph), by executing replica.',
      labelNames: ['replica'] as const,
      buckets: commitLatencyBuckets,
      registers,
    }),
    recoveries: new Counter({
      name: 'epaxos_recoveries_total',
      help: 'Explicit Prepare (recovery) runs started, by replica and reason.',
      labelNames: ['replica', 'reason'] as const,
      registers,
    }),
    quorumReplies: new Counter({
      name: 'epaxos_quorum_replies_total',
      help: 'Replies counted in a quorum, by the replica that formed it, the replying peer and the phase.',
      labelNames: ['replica', 'peer', 'phase'] as const,
      registers,
    }),
    quorumSize: new Gauge({
      name: 'epaxos_quorum_size',
      help: 'Quorum sizes in force: kind="fast" (F+floor((F+1)/2)), "slow" (F+1), "replicas" (N).',
      labelNames: ['kind'] as const,
      registers,
    }),
  };
}

/** The ratio gauge reads the replicas' windows at scrape time, so an idle window ages out on its own. */
function fastPathRatioGauge(registry: Registry, windows: Map<string, FastPathWindow>, clock: () => number): void {
  new Gauge({
    name: 'epaxos_fast_path_success_ratio',
    help: 'Share of recent commits that tried the fast path and got it (sliding window); absent when none tried.',
    labelNames: ['replica'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const now = clock();
      for (const [replica, window] of windows) {
        const ratio = window.ratio(now);
        if (ratio !== undefined) this.set({ replica }, ratio);
      }
    },
  });
}

export function createConsensusMetrics(options: ConsensusMetricsOptions): ConsensusMetrics {
  const bound = (name: string) => new BoundedLabel(name, options.labelValuesMax, options.overflow);
  const replicas = bound('replica');
  const peers = bound('peer');
  const windows = new Map<string, FastPathWindow>();
  const { proposals, commits, commitLatency, executionLatency, recoveries, quorumReplies, quorumSize } =
    consensusFamilies(options.registry);
  fastPathRatioGauge(options.registry, windows, options.clock);

  return {
    proposed(replica, count = 1) {
      proposals.inc({ replica: replicas.value(replica) }, count);
    },
    committed(replica, path, seconds) {
      const r = replicas.value(replica);
      commits.inc({ replica: r, path });
      for (const latency of typeof seconds === 'number' ? [seconds] : seconds) {
        commitLatency.observe({ replica: r, path }, latency);
      }
      if (path === 'fast' || path === 'slow') {
        let window = windows.get(r);
        if (!window) {
          window = new FastPathWindow(options.fastPathWindowSeconds * 1000, options.fastPathWindowMax);
          windows.set(r, window);
        }
        window.add(options.clock(), path === 'fast');
      }
    },
    executed(replica, seconds) {
      executionLatency.observe({ replica: replicas.value(replica) }, seconds);
    },
    recoveryStarted(replica, reason) {
      recoveries.inc({ replica: replicas.value(replica), reason });
    },
    quorumReply(replica, peer, phase) {
      quorumReplies.inc({ replica: replicas.value(replica), peer: peers.value(peer), phase });
    },
    quorumSizes({ replicas: n, fast, slow }) {
      quorumSize.set({ kind: 'replicas' }, n);
      quorumSize.set({ kind: 'fast' }, fast);
      quorumSize.set({ kind: 'slow' }, slow);
    },
  };
}
