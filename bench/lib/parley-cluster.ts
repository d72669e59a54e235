/**
 * The consensus pipeline on the real stack for the benchmark, started the way integration/harness/consensus-
 * run.ts starts it: N replica processes, each `parley run` of processors/consensus.yaml through the
 * run-with-suffix fixture (run-unique topic names), following their guardrail in etcd; and one ParleyClient in
 * this process (createKafkaBackend, topicSerdes over the Confluent-compatible registry). No agent processes: a
 * decision is done once it is ordered, which is what the client's propose() waits for.
 *
 * Like the harness (and systemd or Kubernetes), a replica process that exits on an error of its own is started
 * again on its state directory; the benchmark reports the restarts of each window. After `maxRestarts` the
 * cluster counts as failed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParleyClient } from '../../processors/client/client.ts';
import { consensusTopologyFile } from '../../processors/index.ts';
import { ConfluentRegistryClient } from '../../schemas/index.ts';
import { createKafkaBackend } from '../../topology/backend/kafka.ts';
import type { Backend } from '../../topology/backend/types.ts';
import { loadEngine, serdeFactory } from '../../topology/engine.ts';
import { topicSerdes } from '../../topology/runtime/serdes.ts';
import { endpointsToEnv } from '../../integration/harness/resolve.ts';
import { withSuffix } from '../../integration/harness/topology.ts';
import type { StackEndpoints } from '../../integration/stack/config.ts';
import { deadline } from './kafka.ts';
import { progress } from './stats.ts';

const fixture = join(import.meta.dirname, '..', '..', 'integration', 'tests', 'fixtures', 'run-with-suffix.ts');

export interface ParleyCluster {
  /** The application id (also the guardrail cluster's name in etcd). */
  application: string;
  /** The ParleyClients (`clients` of them): client c of the closed loop uses clients[c % clients.length]. */
  clients: ParleyClient[];
  /** Pids of the replica processes running now. */
  pids(): number[];
  /** Replica processes started again after exiting on an error, so far; with the first line of each error. */
  restarts(): string[];
  /** Resolves with a message once more than `maxRestarts` restarts were needed. */
  whenFailed: Promise<string>;
  /** Writes everything the processes printed to a file; returns its path. */
  dumpLogs(): string;
  stop(): Promise<void>;
}

export interface ParleyClusterOptions {
  replicas: number;
  endpoints: StackEndpoints;
  /** Part of every topic, group and application name of this cluster (carries the run id). */
  suffix: string;
  stateRoot: string;
  startTimeoutMs: number;
  /**
   * ParleyClient objects in this process (default 1). Each has its own producer, and a client sends one
   * Produce request per proposal, one at a time (kafkajs's idempotent producer): more clients, more requests
   * in flight. Each also reads the whole `ordered` topic.
   */
  clients?: number;
  /** Default 5. */
  maxRestarts?: number;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

const live = new Set<ChildProcess>();
// A second Ctrl-C quits at once (bench/lib/stats.ts): leave no replica process behind.
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export async function startParleyCluster(options: ParleyClusterOptions): Promise<ParleyCluster> {
  const { replicas, endpoints, suffix } = options;
  const env = { ...process.env, ...endpointsToEnv(endpoints), PARLEY_REPLICAS: String(replicas) };
  const engine = withSuffix(await loadEngine(consensusTopologyFile, env), suffix);
  const application = engine.topology.spec.application;
  const name = (base: string) => `${base}-${suffix}`;
  const logs: string[] = [];
  const children: ChildProcess[] = [];
  const restarts: string[] = [];
  let lastTaskChange = Date.now();
  let stopping = false;
  let failed: (message: string) => void = () => undefined;
  const whenFailed = new Promise<string>((resolve) => (failed = resolve));
  let backend: Backend | undefined;
  const clients: ParleyClient[] = [];
  const stop = async (): Promise<void> => {
    stopping = true;
    for (const client of clients) await client.close().catch(() => undefined);
    await Promise.all(children.map(stopChild));
    await backend?.close().catch(() => undefined);
  };
  /** Starts replica i; resolves once it says it runs, rejects if it exits first. */
  const launch = (i: number): Promise<void> => {
    const instance = `replica-${i}`;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fixture, consensusTopologyFile, suffix, join(options.stateRoot, instance), instance],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children[i] = child;
    live.add(child);
    let output = '';
    let up: () => void = () => undefined;
    let early: (error: Error) => void = () => undefined;
    const running = new Promise<void>((resolve, reject) => ((up = resolve), (early = reject)));
    running.catch(() => undefined);
    const collect = (d: Buffer): void => {
      logs.push(`[${instance}] ${d.toString()}`);
      if (logs.length > 20_000) logs.splice(0, 5_000); // the latest output is what a failure needs
      output = (output + d.toString()).slice(-20_000);
      if (/task \S+ (running|closed)/.test(d.toString())) lastTaskChange = Date.now();
      if (/ running on \w+ \(state in /.test(output)) up();
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    child.once('exit', (code, signal) => {
      live.delete(child);
      early(new Error(`${instance} exited (${signal ?? `code ${code}`}) before it was up`));
      if (stopping || signal !== null || code === 0) return;
      const error = /^(\w*Error: .*)$/m.exec(output)?.[1] ?? `code ${code}`;
      restarts.push(`${instance}: ${error}`);
      progress(`parley: ${instance} exited (${error}); starting it again`);
      if (restarts.length > (options.maxRestarts ?? 5))
        failed(`${restarts.length} replica restarts: ${restarts.join('; ')}`);
      else void launch(i);
    });
    return running;
  };
  try {
    backend = await createKafkaBackend({
      brokers: endpoints.kafkaBrokers,
      clientId: name('bench-client'),
      logLevel: 'nothing', // its ERROR lines while the new topics get leaders would bury the progress lines
    });
    await backend.createTopics(engine.topology.spec.topics);
    const running = Array.from({ length: replicas }, (_, i) => launch(i));
    await deadline(Promise.all(running), options.startTimeoutMs, `${replicas} replica processes to run`);
    const serdes = topicSerdes(
      engine.topology,
      serdeFactory(engine.schemasDir, new ConfluentRegistryClient({ url: endpoints.schemaRegistryUrl })),
    );
    for (let i = 0; i < (options.clients ?? 1); i++) {
      const client = await ParleyClient.connect({
        backend,
        serdes,
        replicas,
        attemptTimeoutMs: 30_000,
        topics: { proposals: name('proposals'), ordered: name('ordered'), rejections: name('rejections') },
      });
      clients.push(client);
    }
    progress(`parley N=${replicas}: replicas run; waiting for a first decision`);
    // The processes say they run before their group settled on its tasks: the first decision waits for that.
    await deadline(
      Promise.all(clients.map((client, i) => client.propose([`k-ready-${i}`], 'ready'))),
      options.startTimeoutMs,
      'a first decision',
    );
    // Then until no task moved for 3 s: replicas that joined late still take their tasks over.
    const settled = async () => {
      while (Date.now() - lastTaskChange < 3000) await new Promise((resolve) => setTimeout(resolve, 250));
    };
    await deadline(settled(), options.startTimeoutMs, 'the replicas to settle on their tasks');
  } catch (error) {
    await stop();
    const file = join(tmpdir(), `parley-bench-${suffix}.log`);
    writeFileSync(file, logs.join(''));
    throw new Error(`${(error as Error).message} (the processes' output: ${file})`, { cause: error });
  }
  return {
    application,
    clients,
    pids: () => children.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => c.pid!),
    restarts: () => [...restarts],
    whenFailed,
    dumpLogs: () => {
      const file = join(tmpdir(), `parley-bench-${suffix}.log`);
      writeFileSync(file, logs.join(''));
      return file;
    },
    stop,
  };
}
