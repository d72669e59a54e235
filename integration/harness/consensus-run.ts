/**
 * Runs the consensus engine on the real stack as separate processes (N replica processes and 2 agent processes,
 * each `parley run`), drives it with 3 concurrent clients, optionally injects faults while it runs, and checks
 * what the issues promise: every proposal ordered exactly once per key, and both agents applied every key's
 * decisions in that order. Used by integration/tests/consensus-kafka.test.ts and integration/chaos/.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { proposals } from '../../examples/fraud-detection/workload.ts';
import { ParleyClient } from '../../processors/client/client.ts';
import { consensusTopologyFile, type OrderedDecision } from '../../processors/index.ts';
import { ConfluentRegistryClient } from '../../schemas/index.ts';
import { createKafkaBackend } from '../../topology/backend/kafka.ts';
import { loadEngine, serdeFactory } from '../../topology/engine.ts';
import { topicSerdes } from '../../topology/runtime/serdes.ts';
import type { StackEndpoints } from '../stack/config.ts';
import { endpointsToEnv, testKafka, testStack, uniqueName } from './index.ts';
import { committedReader, withSuffix } from './topology.ts';

export interface FaultContext {
  /** Resolves once at least n decisions (key, position) are ordered. */
  ordered(n: number): Promise<void>;
  signal(instance: string, signal: NodeJS.Signals): void;
  /**
   * Starts a stopped or killed process again, with its state directory as it was left. Resolves once it says it
   * runs (`running on kafka`); rejects, naming the instance, if it exits first or is not up within two minutes.
   */
  restart(instance: string): Promise<void>;
  logs: string[];
  /** Whether the instance's process runs now (the latest one started for it). */
  running(instance: string): boolean;
  /** The instance's /metrics as Prometheus scrapes it (its latest process, once that serves them). */
  scrape(instance: string): Promise<string>;
}

/** How one instance's process is started differently: a command prefix (`ip netns exec …`), extra environment. */
export interface InstancePlacement {
  prefix?: string[];
  env?: NodeJS.ProcessEnv;
}

export interface ScenarioOptions {
  replicas: number;
  conflict: number;
  total: number;
  /** Runs beside the workload; the scenario waits for it before checking. */
  fault?: (ctx: FaultContext) => Promise<void>;
  attemptTimeoutMs?: number;
  /** From proposal `from` on, the workload's conflict rate is `conflict` (a burst that ends, say). */
  conflictAfter?: { from: number; conflict: number };
  /** Extra environment of the replica and agent processes (PARLEY_MODE_WINDOW_MS, say). */
  processEnv?: NodeJS.ProcessEnv;
  /**
   * The stack to run on instead of the shared one (a private broker or etcd cluster a chaos test may kill):
   * used by the clients and readers here, and handed to the processes as PARLEY_KAFKA_BROKERS and the others.
   */
  endpoints?: StackEndpoints;
  /** Per instance (`replica-0`, `agent-1`, …): started under a prefix and/or with extra environment. */
  placement?: (instance: string) => InstancePlacement | undefined;
  /** Called with each piece of a process's output as it arrives (to timestamp it, say); `logs` has it too. */
  onOutput?: (instance: string, text: string) => void;
  /**
   * The workload as an application that keeps the client's contract (proposing again under the same id is safe:
   * a decision is applied at most once): a proposal whose propose() failed — its send refused while the broker
   * is away, say — is proposed again under its id, up to `attempts` more times, `backoffMs` apart. Each retry is
   * logged as `[workload] …`. Default: none, a failed proposal fails the scenario.
   */
  repropose?: { attempts: number; backoffMs: number };
  /** How long the end waits for every decision to be ordered and applied by both agents; default 240 s. */
  settleTimeoutMs?: number;
}

export interface ScenarioResult {
  fastPath: string;
  logs: string[];
  /** The guardrail cluster the replicas followed (their application id). */
  cluster: string;
}

const fixture = join(import.meta.dirname, '..', 'tests', 'fixtures', 'run-with-suffix.ts');
const agentsFile = join(import.meta.dirname, '..', '..', 'examples', 'fraud-detection', 'agents.yaml');

function start(
  stateRoot: string,
  config: string,
  suffix: string,
  instance: string,
  env: NodeJS.ProcessEnv,
  logs: string[],
  prefix: string[] = [],
  onOutput?: (instance: string, text: string) => void,
): ChildProcess {
  const command = [process.execPath, '--import', 'tsx', fixture, config, suffix, join(stateRoot, suffix, instance)];
  const [file, ...args] = [...prefix, ...command, instance];
  const child = spawn(file!, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (d: Buffer): void => {
    logs.push(`[${instance}] ${d.toString()}`);
    onOutput?.(instance, d.toString());
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  return child;
}

/** What a `parley run` process says once it is up: its metrics URL, then that it runs. */
function announcements(instance: string, child: ChildProcess): { metrics: Promise<string>; running: Promise<void> } {
  let output = ''; // what it printed until it was up (a line may come in two chunks)
  const waiting: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  const look = (d: Buffer): void => {
    output += d.toString();
    for (const w of [...waiting]) {
      const match = output.match(w.pattern);
      if (!match) continue;
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve(match);
    }
    if (waiting.length > 0) return;
    child.stdout!.off('data', look);
    child.stderr!.off('data', look);
  };
  child.stdout!.on('data', look);
  child.stderr!.on('data', look);
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`${instance} exited (${signal ?? `code ${code}`}) before it was up; it printed:\n${output}`)),
    ),
  );
  const said = (pattern: RegExp): Promise<RegExpMatchArray> =>
    Promise.race([new Promise<RegExpMatchArray>((resolve) => waiting.push({ pattern, resolve })), exited]);
  const metrics = said(/metrics on (http:\/\/[\d.:]+)\/metrics/).then((m) => m[1]!);
  const running = said(/ running on \w+ \(state in /).then(() => undefined);
  // Nobody may wait on one of them (an agent's metrics): an exit must not become an unhandled rejection.
  metrics.catch(() => undefined);
  running.catch(() => undefined);
  exited.catch(() => undefined);
  return { metrics, running };
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${ms / 1000} s for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const stop = async (child: ChildProcess): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGCONT'); // a process stopped by a fault must run to handle SIGTERM
  child.kill('SIGTERM');
  await exited;
};

export async function runConsensusScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const { replicas, conflict, total } = options;
  const kafka = options.endpoints
    ? await (async () => {
        const { Kafka, logLevel } = await import('kafkajs');
        return new Kafka({
          clientId: 'consensus-scenario',
          brokers: options.endpoints!.kafkaBrokers,
          logLevel: logLevel.ERROR,
        });
      })()
    : await testKafka('consensus-scenario');
  const stateRoot = mkdtempSync(join(tmpdir(), 'parley-consensus-'));
  const suffix = uniqueName(`c${replicas}`);
  const env = {
    ...(options.endpoints ? endpointsToEnv(options.endpoints) : {}),
    ...options.processEnv,
    PARLEY_REPLICAS: String(replicas),
  };
  const logs: string[] = [];
  const children = new Map<string, ChildProcess>();
  // Per process started: resolves with its metrics URL, then once it runs; rejects if it exits before either.
  const announced = new Map<ChildProcess, { metrics: Promise<string>; running: Promise<void> }>();
  const openClients = new Set<ParleyClient>();
  let finishing = false;
  const launch = (config: string, instance: string, extra: NodeJS.ProcessEnv = {}): void => {
    const placed = options.placement?.(instance);
    const child = start(
      stateRoot,
      config,
      suffix,
      instance,
      { ...env, ...extra, ...placed?.env },
      logs,
      placed?.prefix,
      options.onOutput,
    );
    children.set(instance, child);
    announced.set(child, announcements(instance, child));
    // Like a supervisor (systemd, Kubernetes): a process that exits on an error of its own is started again.
    child.once('exit', (code, signal) => {
      if (finishing || signal !== null || code === 0 || children.get(instance) !== child) return;
      logs.push(`[harness] ${instance} exited with ${code}: restarting it\n`);
      launch(config, instance, extra);
    });
  };
  // The metrics URL of the instance's latest process; one the supervisor replaced while we waited is followed.
  const latestMetricsUrl = async (instance: string): Promise<string> => {
    for (;;) {
      const child = children.get(instance);
      assert.ok(child, `${instance} was started`);
      try {
        return await withTimeout(announced.get(child)!.metrics, 120_000, `${instance} to serve metrics`);
      } catch (error) {
        if (children.get(instance) === child) throw error;
      }
    }
  };
  const { schemaRegistryUrl, kafkaBrokers } = options.endpoints ?? (await testStack());
  const consensus = withSuffix(await loadEngine(consensusTopologyFile, env), suffix);
  const name = (base: string) => `${base}-${suffix}`;
  const registry = new ConfluentRegistryClient({ url: schemaRegistryUrl });
  const serdes = topicSerdes(consensus.topology, serdeFactory(consensus.schemasDir, registry));
  const backend = await createKafkaBackend({ brokers: kafkaBrokers, clientId: uniqueName('clients') });
  await backend.createTopics(consensus.topology.spec.topics);
  const ordered = await committedReader(kafka, name('ordered'));
  const agentsEngine = withSuffix(await loadEngine(agentsFile, env), suffix);
  await backend.createTopics(agentsEngine.topology.spec.topics);
  const applied = await committedReader(kafka, name('agent-applied'));
  try {
    for (let i = 0; i < replicas; i++) launch(consensusTopologyFile, `replica-${i}`);
    for (const agent of ['agent-1', 'agent-2']) launch(agentsFile, agent, { PARLEY_AGENT_ID: agent });
    const clients = await Promise.all(
      [0, 1, 2].map(() =>
        ParleyClient.connect({
          backend,
          serdes,
          replicas,
          attemptTimeoutMs: options.attemptTimeoutMs ?? 30_000,
          topics: { proposals: name('proposals'), ordered: name('ordered'), rejections: name('rejections') },
        }).then((client) => (openClients.add(client), client)),
      ),
    );
    const seed = replicas * 100 + conflict * 10;
    const split = options.conflictAfter?.from ?? total;
    const workload = [
      ...proposals({ proposals: split, clients: 3, conflict, seed }),
      // Another seed: proposal ids are p-<seed>-<i>, so the two parts never share one.
      ...proposals({
        proposals: total - split,
        clients: 3,
        conflict: options.conflictAfter?.conflict ?? 0,
        seed: seed + 1,
      }),
    ];
    const propose = async (client: ParleyClient, p: (typeof workload)[number]): Promise<unknown> => {
      for (let retry = 0; ; retry++) {
        try {
          return await client.propose(p.keys, p.payload, { id: p.id });
        } catch (error) {
          if (!options.repropose || retry >= options.repropose.attempts) throw error;
          logs.push(`[workload] ${p.id}: ${(error as Error).message}; proposing it again (retry ${retry + 1})\n`);
          await new Promise((resolve) => setTimeout(resolve, options.repropose!.backoffMs));
        }
      }
    };
    const faults = options.fault?.({
      ordered: (n) => ordered.until(n, 240_000),
      signal: (instance, signal) => void children.get(instance)?.kill(signal),
      restart: async (instance) => {
        if (instance.startsWith('agent-')) launch(agentsFile, instance, { PARLEY_AGENT_ID: instance });
        else launch(consensusTopologyFile, instance);
        await withTimeout(announced.get(children.get(instance)!)!.running, 120_000, `${instance} to run again`);
      },
      logs,
      running: (instance) => {
        const child = children.get(instance);
        return child !== undefined && child.exitCode === null && child.signalCode === null;
      },
      scrape: async (instance) => (await fetch(`${await latestMetricsUrl(instance)}/metrics`)).text(),
    });
    // Each client keeps a window of proposals in flight, like a busy agent.
    await Promise.all(
      clients.map(async (client, c) => {
        const mine = workload.filter((_, i) => i % 3 === c);
        for (let i = 0; i < mine.length; i += 100) {
          await Promise.all(mine.slice(i, i + 100).map((p) => propose(client, p)));
        }
      }),
    );
    await faults;
    const decisions = workload.reduce((n, p) => n + p.keys.length, 0);
    await ordered.until(decisions, options.settleTimeoutMs ?? 240_000);
    await applied.until(2 * decisions, options.settleTimeoutMs ?? 240_000);
    // Each process serves /metrics (its port printed at start): the replicas count what they proposed and
    // committed. A process restarted by a fault or the supervisor may still be starting: wait for its URL.
    const scraped = await Promise.all(
      Array.from({ length: replicas }, async (_, i) => {
        const url = await latestMetricsUrl(`replica-${i}`);
        return (await fetch(`${url}/metrics`)).text();
      }),
    );
    const sum = (name: string) =>
      scraped.reduce(
        (n, text) =>
          n + [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\d+)`, 'gm'))].reduce((m, x) => m + Number(x[1]), 0),
        0,
      );
    // Counters start again with a restarted process: compare only when every replica ran throughout.
    if (!options.fault && !logs.some((l) => l.startsWith('[harness]'))) {
      assert.ok(sum('epaxos_proposals_total') >= total, 'epaxos_proposals_total counts every proposal (retries too)');
    }
    assert.ok(sum('epaxos_commits_total') > 0);
    for (const client of clients) await client.close();
    openClients.clear();

    const orderSerde = serdes.topic(name('ordered')).value;
    const byKey = new Map<string, string[]>();
    // Where each (key, position) was ordered, so a duplicate says which stage doubled it: resolution (twice here)
    // or an agent (once here, twice in `applied`).
    const orderedAt = new Map<string, string>();
    for (const r of ordered.records) {
      const d = (await orderSerde.deserialize(name('ordered'), r.value)) as OrderedDecision;
      const at = `${d.key}@${d.position}`;
      const here = `${d.proposalId} (instance ${JSON.stringify(d.instance)}, ordered[${r.partition}]@${r.offset})`;
      assert.equal(orderedAt.get(at), undefined, `resolution ordered ${at} twice: ${orderedAt.get(at)}, then ${here}`);
      orderedAt.set(at, here);
      const ids = byKey.get(d.key) ?? [];
      ids[d.position - 1] = d.proposalId;
      byKey.set(d.key, ids);
    }
    for (const p of workload) {
      for (const key of p.keys) {
        assert.equal(byKey.get(key)!.filter((id) => id === p.id).length, 1, `${p.id} once under ${key}`);
      }
    }
    for (const agent of ['agent-1', 'agent-2']) {
      const mine = new Map<string, string[]>();
      for (const r of applied.records) {
        const a = JSON.parse(r.value.toString()) as {
          agent: string;
          key: string;
          position: number;
          proposalId: string;
        };
        if (a.agent !== agent) continue;
        const ids = mine.get(a.key) ?? [];
        const where = `applied[${r.partition}]@${r.offset}, ordered as ${orderedAt.get(`${a.key}@${a.position}`)}`;
        assert.equal(ids[a.position - 1], undefined, `${agent} applied ${a.key}@${a.position} twice (${where})`);
        ids[a.position - 1] = a.proposalId;
        mine.set(a.key, ids);
      }
      assert.deepEqual(mine, byKey, `${agent} applied every key's decisions in the execution order`);
    }
  } catch (error) {
    // Show what the processes said: a failed scenario is otherwise hard to read.
    const tail = logs
      .join('')
      .split('\n')
      .filter((l) => !l.includes('"logger":"kafkajs"'))
      .slice(-80)
      .join('\n');
    // The whole output, kafkajs lines and PARLEY_DEBUG_GROUP=1 traces included, for what the tail leaves out.
    const full = join(tmpdir(), `parley-scenario-${suffix}.log`);
    writeFileSync(full, logs.join(''));
    throw new Error(`${(error as Error).message}\n--- last process output (all of it: ${full}) ---\n${tail}`, {
      cause: error,
    });
  } finally {
    finishing = true;
    // A failed run leaves its clients open (their consumers would keep the test process alive): close them.
    for (const client of openClients) await client.close().catch(() => undefined);
    await Promise.all([...children.values()].map(stop));
    await ordered.stop();
    await applied.stop();
    await backend.close();
    rmSync(stateRoot, { recursive: true, force: true });
  }
  // Each replica process reports, as it stops, the fast-path share of the instances it led.
  let fast = 0;
  let instances = 0;
  for (const [, share, n] of logs.join('').matchAll(/stopped \(SIGTERM\).*?fast path ([\d.]+)% of (\d+) instances/g)) {
    fast += (Number(share) / 100) * Number(n);
    instances += Number(n);
  }
  const ratio = instances === 0 ? 'n/a' : `${((100 * fast) / instances).toFixed(1)}% of ${instances} instances`;
  console.log(
    `N=${replicas}, conflict ${conflict * 100}%: ${total} proposals ordered once, agents agree; fast path ${ratio}`,
  );
  return { fastPath: ratio, logs, cluster: consensus.topology.spec.application };
}
