/**
 * `parley run --config <file>`: runs a topology (YAML) as its own process until SIGTERM/SIGINT, on the real
 * stack (`--backend kafka`, the default: PARLEY_KAFKA_BROKERS and PARLEY_SCHEMA_REGISTRY_URL) or in-process
 * (`--backend memory`). Progress goes to stderr; a clean stop commits and checkpoints every task.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { ConfluentRegistryClient, MemoryRegistryClient, type SchemaRegistryClient } from '../schemas/index.ts';
import { MemoryBackend } from '../topology/backend/memory/backend.ts';
import type { Backend } from '../topology/backend/types.ts';
import {
  appEventsFor,
  consensusObserverFor,
  createMetrics,
  startMonitoringServer,
  storeMetricsFor,
  tasksRestoredCheck,
} from '../monitoring/index.ts';
import { setConsensusObserver } from '../processors/observer.ts';
import { consensusReplicas, etcdGuardrailFromEnv, startGuardrailLink, type GuardrailLink } from './guardrail-link.ts';
import { createApp, loadEngine, type Engine } from '../topology/engine.ts';

export interface RunOptions {
  config: string;
  backend: 'kafka' | 'memory';
  stateDir: string;
  instance?: string;
  quiet?: boolean;
  /** /metrics, /healthz, /readyz on 127.0.0.1; 0 picks a free port (printed). Default PARLEY_METRICS_PORT or 0. */
  metricsPort?: string;
  /** The address they bind. Default PARLEY_METRICS_HOST or 127.0.0.1 (metrics name topics and members). */
  metricsHost?: string;
  /** The guardrail cluster (keys under /parley/<name>/) of a consensus topology; default its application id. */
  cluster?: string;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (needed by --backend kafka; \`npm run stack:up\` prints it)`);
  return value;
}

async function backendFor(options: RunOptions, clientId: string): Promise<[Backend, SchemaRegistryClient]> {
  if (options.backend === 'memory') return [new MemoryBackend(), new MemoryRegistryClient()];
  const { createKafkaBackend } = await import('../topology/backend/kafka.ts');
  const brokers = required('PARLEY_KAFKA_BROKERS').split(',');
  return [
    await createKafkaBackend({
      brokers,
      clientId,
      // PARLEY_KAFKAJS_LOG=debug|info|warn|error|nothing: kafkajs's own logging, for diagnosing the client.
      ...(process.env['PARLEY_KAFKAJS_LOG'] ? { logLevel: process.env['PARLEY_KAFKAJS_LOG'] as 'debug' } : {}),
    }),
    new ConfluentRegistryClient({ url: required('PARLEY_SCHEMA_REGISTRY_URL') }),
  ];
}

/** PARLEY_TASK_TIMEOUT_MS (default 5 min): how long a task may keep failing to commit with retriable errors. */
function taskTimeoutMsFromEnv(): number {
  const text = process.env['PARLEY_TASK_TIMEOUT_MS'] ?? '300000';
  const ms = Number(text);
  if (!/^\d+$/.test(text.trim())) {
    throw new Error(`PARLEY_TASK_TIMEOUT_MS ${JSON.stringify(text)}: expected a whole number of milliseconds`);
  }
  return ms;
}

/** The metrics port from --metrics-port or PARLEY_METRICS_PORT (0: any free port), checked, naming where it came from. */
function metricsPortOf(options: RunOptions): number {
  const [where, text] =
    options.metricsPort !== undefined
      ? ['--metrics-port', options.metricsPort]
      : ['PARLEY_METRICS_PORT', process.env['PARLEY_METRICS_PORT'] ?? '0'];
  const port = Number(text);
  if (!/^\d+$/.test(text.trim()) || port > 65535) {
    throw new Error(`${where} ${JSON.stringify(text)}: expected a port number from 0 to 65535 (0: any free port)`);
  }
  return port;
}

/** `prepare` may adjust the loaded engine (tests give topics run-unique names with it). */
export async function runTopology(options: RunOptions, prepare: (engine: Engine) => Engine = (e) => e): Promise<void> {
  const engine = prepare(await loadEngine(resolve(options.config)));
  const application = engine.topology.spec.application;
  const clientId = `${application}-${options.instance ?? process.pid}`;
  const [backend, schemaRegistry] = await backendFor(options, clientId);
  const stateDir = resolve(options.stateDir);
  mkdirSync(stateDir, { recursive: true });
  const log = (line: string): void => void (options.quiet || process.stderr.write(`${line}\n`));
  let processed = 0;
  const metrics = createMetrics({ defaultLabels: { application, instance: options.instance ?? String(process.pid) } });
  const server = await startMonitoringServer({
    registry: metrics.registry,
    port: metricsPortOf(options),
    // PARLEY_METRICS_HOST=0.0.0.0 was read by metricsAddressFromEnv but never reached this call (issue #11).
    host: options.metricsHost ?? (process.env['PARLEY_METRICS_HOST'] || '127.0.0.1'),
    readiness: [tasksRestoredCheck(metrics.runtime)],
  });
  log(`metrics on ${server.url}/metrics (also /healthz, /readyz)`);
  // A consensus topology follows its guardrail in etcd (PARLEY_ETCD_ENDPOINTS): epoch, mode, leases.
  let guarded: GuardrailLink | undefined;
  const replicas = consensusReplicas(engine);
  if (replicas !== undefined) {
    const cluster = options.cluster ?? application;
    const guardrail = etcdGuardrailFromEnv(cluster);
    if (guardrail) {
      guarded = await startGuardrailLink({
        guardrail,
        replicas,
        metrics,
        actor: `parley run ${options.instance ?? process.pid}`,
        log,
      });
      server.addReadinessCheck(guarded.readiness);
      const c = guarded.link.config();
      log(`guardrail cluster ${cluster} in etcd: epoch ${c.epoch}, mode ${c.mode}, members ${c.members.length}`);
    } else {
      log('no guardrail (PARLEY_ETCD_ENDPOINTS unset): epoch and mode come from the topology config');
    }
  }
  const app = createApp({
    engine,
    backend,
    schemaRegistry,
    stateDir,
    storeMetrics: storeMetricsFor(metrics),
    taskTimeoutMs: taskTimeoutMsFromEnv(),
    events: appEventsFor(metrics, {
      taskCreated: (id) => log(`task ${id} running`),
      taskClosed: (id) => log(`task ${id} closed`),
      taskCorrupted: (id, error) => log(`${error.message} (a retriable error: the task is created again)`),
      restoreProgress: (id, store, done, total) => {
        if (total > 0 && (done === 0 || done === total)) log(`task ${id}: restoring ${store} ${done}/${total}`);
      },
      committed: (_id, records) => void (processed += records),
      deadLettered: (id, node, stage, error) => log(`task ${id}: ${node} ${stage} failed, dead-lettered: ${error}`),
      failed: (error) => log(`application ${application} failed: ${error.message}`),
    }),
  });
  const consensus = { fast: 0, slow: 0 };
  setConsensusObserver(
    consensusObserverFor(metrics, {
      committed: (_r, fast, _n, _l, eligible) => {
        if (fast) consensus.fast++;
        else consensus.slow++;
        guarded?.committed(fast, eligible ?? fast);
      },
    }),
  );
  const fastPath = (): string => {
    const n = consensus.fast + consensus.slow;
    return n === 0 ? '' : `; fast path ${((100 * consensus.fast) / n).toFixed(1)}% of ${n} instances led here`;
  };
  await app.start();
  log(`${application} running on ${backend.kind} (state in ${stateDir}); SIGTERM or Ctrl-C stops it`);
  const progress = setInterval(() => {
    log(`${application}: ${processed} records committed${fastPath()}`);
    if (process.env['PARLEY_DEBUG_TASKS']) log(`tasks: ${JSON.stringify(app.describeTasks())}`);
  }, 5_000);
  progress.unref();
  const stopped = new Promise<string>((done) => {
    process.once('SIGTERM', () => done('SIGTERM'));
    process.once('SIGINT', () => done('SIGINT'));
  });
  const outcome = await Promise.race([stopped, app.whenFailed()]);
  clearInterval(progress);
  // Each step of the way out, timed: a stop that hangs (a slow network, a broker away) says where.
  const step = async (what: string, action: () => Promise<unknown> | undefined): Promise<void> => {
    const started = Date.now();
    const slow = setInterval(
      () => log(`stopping: still ${what} after ${Math.round((Date.now() - started) / 1000)} s`),
      10_000,
    );
    try {
      await action();
    } finally {
      clearInterval(slow);
    }
  };
  await step('pausing the guardrail link', () => guarded?.pause());
  await step('stopping the tasks', () => app.stop());
  await step('releasing the guardrail leases', () => guarded?.stop());
  await step('closing the Kafka clients', () => backend.close());
  await step('closing the metrics server', () => server.close());
  if (outcome instanceof Error) throw outcome;
  log(`${application} stopped (${outcome}): ${processed} records committed${fastPath()}`);
}

export function runCommand(): Command {
  return new Command('run')
    .description('run a topology until SIGTERM/SIGINT')
    .requiredOption('--config <file>', 'topology YAML')
    .option('--backend <kind>', 'kafka (PARLEY_KAFKA_BROKERS, PARLEY_SCHEMA_REGISTRY_URL) or memory', 'kafka')
    .option('--state-dir <dir>', 'where task stores live', '.parley-state')
    .option('--instance <id>', 'names this process in client ids and logs')
    .option(
      '--replica <id>',
      'same as --instance, for consensus processes: replicas are the tasks of the consensus topology, spread over ' +
        'the processes by the group (one each with as many processes as replicas), and they move on failure',
    )
    .option('--quiet', 'no progress output')
    .option(
      '--cluster <name>',
      'guardrail cluster of a consensus topology (PARLEY_ETCD_ENDPOINTS); default: the application id',
    )
    .option('--metrics-port <port>', '/metrics, /healthz, /readyz on 127.0.0.1 (0: a free port, printed)')
    .option('--metrics-host <address>', 'the address they bind (PARLEY_METRICS_HOST; default 127.0.0.1)')
    .action(async (options: RunOptions & { replica?: string }) => {
      if (options.replica && !options.instance) options.instance = options.replica;
      if (options.backend !== 'kafka' && options.backend !== 'memory') {
        throw new Error(`--backend ${options.backend}: expected kafka or memory`);
      }
      await runTopology(options);
    });
}
