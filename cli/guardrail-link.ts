/**
 * Connects a process that runs the consensus topology to its guardrail (guardrail/README.md): the link its EPaxos
 * processors follow (epoch, mode, leases, liveness), a mode controller fed with the fast-path outcomes of the
 * instances led here, the guardrail's metrics and a /readyz check. Used by `parley run` (etcd) and by the
 * embedded `npm start` (in-process guardrail).
 */
import { ModeController, type Guardrail, type ModePolicyOptions } from '../guardrail/index.ts';
import { guardrailCountersFor, type ParleyMetrics, type ReadinessCheck } from '../monitoring/index.ts';
import { ClusterLink, setClusterLink } from '../processors/cluster-link.ts';
import type { Engine } from '../topology/engine.ts';
import { openEtcdGuardrail, parseEndpoints } from './guardrail.ts';

export interface GuardrailLinkOptions {
  guardrail: Guardrail;
  replicas: number;
  metrics: ParleyMetrics;
  /** Who writes mode switches into the history. */
  actor: string;
  log: (line: string) => void;
  policy?: ModePolicyOptions;
  /** How often the mode controller samples; default 1000 ms. */
  sampleMs?: number;
  /**
   * At start, members register one by one: the controller waits until a fast quorum is live, or this long
   * (default 2 lease TTLs), before it judges, so a starting cluster does not switch to slow for members-down.
   */
  startupGraceMs?: number;
  ttlS?: number;
}

export interface GuardrailLink {
  link: ClusterLink;
  /** Feed of the consensus observer: one call per instance led here that committed. */
  committed(fast: boolean, fastEligible: boolean): void;
  readiness: ReadinessCheck;
  /** Stops the mode controller (before the process releases its leases: its own going must not switch modes). */
  pause(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The mode policy from PARLEY_MODE_THRESHOLD, PARLEY_MODE_MARGIN, PARLEY_MODE_WINDOW_MS and
 * PARLEY_MODE_MEMBERS_DOWN_MS (defaults 0.9, 0.05, 10 s, 3 s: longer than a task handover's lease gap).
 */
export function modePolicyFromEnv(env: NodeJS.ProcessEnv = process.env): ModePolicyOptions {
  const number = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new Error(`${name}=${raw}: expected a number`);
    return value;
  };
  return {
    threshold: number('PARLEY_MODE_THRESHOLD', 0.9),
    margin: number('PARLEY_MODE_MARGIN', 0.05),
    windowMs: number('PARLEY_MODE_WINDOW_MS', 10_000),
    membersDownMs: number('PARLEY_MODE_MEMBERS_DOWN_MS', 3_000),
  };
}

/** The replicas of the topology's EPaxos stage, or undefined when it has none (an agent topology). */
export function consensusReplicas(engine: Engine): number | undefined {
  const node = engine.topology.spec.nodes.find((n) => n.kind === 'processor' && n.processor === 'epaxos');
  if (!node || node.kind !== 'processor') return undefined;
  return Number(node.config['replicas'] ?? 3);
}

/** An etcd guardrail from PARLEY_ETCD_ENDPOINTS (undefined when unset), with the CLI's 1 s call deadline. */
export function etcdGuardrailFromEnv(cluster: string, env: NodeJS.ProcessEnv = process.env): Guardrail | undefined {
  const endpoints = parseEndpoints(env['PARLEY_ETCD_ENDPOINTS']);
  return endpoints.length === 0 ? undefined : openEtcdGuardrail({ endpoints, cluster });
}

export async function startGuardrailLink(options: GuardrailLinkOptions): Promise<GuardrailLink> {
  const { guardrail, metrics, log } = options;
  const link = await ClusterLink.connect({
    guardrail,
    replicas: options.replicas,
    log,
    ...(options.ttlS === undefined ? {} : { ttlS: options.ttlS }),
    onConfig: ({ config }) => {
      metrics.guardrail.mode(config.mode);
      metrics.guardrail.epoch(config.epoch);
    },
  });
  const current = link.config();
  metrics.guardrail.mode(current.mode);
  metrics.guardrail.epoch(current.epoch);
  setClusterLink(link);
  const controller = new ModeController({
    guardrail,
    policy: options.policy ?? modePolicyFromEnv(),
    counters: guardrailCountersFor(metrics),
    log,
    actor: options.actor,
  });
  let attempts = 0;
  let successes = 0;
  let sampling = Promise.resolve();
  const startedAt = Date.now();
  const graceMs = options.startupGraceMs ?? 2 * 1000 * (options.ttlS ?? 5);
  let judging = false;
  const timer = setInterval(() => {
    if (!judging) {
      const config = link.config();
      const live = config.members.filter((m) => link.isLive(m.id)).length;
      judging = live >= config.fastQuorum || Date.now() - startedAt >= graceMs;
      if (!judging) return;
    }
    const sample = { atMs: Date.now(), fastAttempts: attempts, fastSuccesses: successes };
    attempts = successes = 0;
    // One sample at a time: a slow etcd must not pile them up.
    sampling = sampling.then(() =>
      controller.observe(sample).then(
        () => metrics.guardrail.reachable(true),
        (error: Error) => {
          metrics.guardrail.reachable(false);
          log(`guardrail cluster ${guardrail.cluster}: mode controller: ${error.message}`);
        },
      ),
    );
  }, options.sampleMs ?? 1000);
  timer.unref();
  return {
    link,
    committed(fast, fastEligible) {
      attempts++;
      if (fast || fastEligible) successes++;
    },
    readiness: { name: 'guardrail', check: () => link.reachable() },
    async pause() {
      clearInterval(timer);
      await sampling;
    },
    async stop() {
      clearInterval(timer);
      await sampling;
      setClusterLink(undefined);
      await link.close();
      await guardrail.close();
    },
  };
}
