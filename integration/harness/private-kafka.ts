/**
 * A private Kafka broker for tests that stop or kill the broker: the native stack's own service (the same
 * server.properties, storage format and command line, integration/stack/services.ts) with a private stack folder
 * under the OS temp dir and free loopback ports. The shared broker must never be restarted: other test files use
 * it at the same time (`npm test` runs two files at once).
 *
 * kill() ends the process; start() launches it again on the same data folder and waits until it answers a
 * metadata round trip with a controller (the stack's own health check); close() stops it and removes the folder
 * (and, should the test process die first, integration/harness/watchdog.ts does).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { endpointsOf, loadStackConfig, type StackConfig } from '../stack/config.ts';
import { fetchStack, type StackArtifacts } from '../stack/fetch.ts';
import { isOurs, readPidRecord, startDetached, stopRecorded, tailOf, type PidRecord } from '../stack/process.ts';
import { stackServices, type ServiceSpec } from '../stack/services.ts';
import { watchdog } from './watchdog.ts';
import { freePort } from './ports.ts';

export interface PrivateKafka {
  brokers: string[];
  config: StackConfig;
  logFile: string;
  /** The running broker's process, or undefined. */
  process(): PidRecord | undefined;
  /** Sends `signal` to the broker and resolves once the process is gone (SIGTERM: a controlled shutdown). */
  kill(signal: 'SIGKILL' | 'SIGTERM', timeoutMs?: number): Promise<void>;
  /** Starts the broker on its data folder and resolves once it is healthy; returns how long that took. */
  start(): Promise<number>;
  /** Stops the broker and removes its folder. */
  close(): Promise<void>;
}

async function waitHealthy(service: ServiceSpec, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let reason: string | undefined = 'not checked';
  while (Date.now() < deadline) {
    if (!isOurs(readPidRecord(service.pidFile))) {
      throw new Error(`${service.title} exited while starting; last lines of its log:\n${tailOf(service.logFile)}`);
    }
    reason = await service.check();
    if (reason === undefined) return;
    await delay(250); // polling a starting broker: there is no event to wait on
  }
  throw new Error(`${service.title} not healthy after ${timeoutMs} ms (${reason}):\n${tailOf(service.logFile)}`);
}

export async function startPrivateKafka(options: { healthTimeoutMs?: number } = {}): Promise<PrivateKafka> {
  const runDir = mkdtempSync(join(tmpdir(), 'parley-kafka-'));
  // A cancelled test file runs no cleanup: the watchdog then kills the broker and removes the folder.
  const guard = watchdog({ dir: runDir });
  const config = loadStackConfig({
    PARLEY_STACK_DIR: runDir,
    ...(process.env['PARLEY_STACK_CACHE'] ? { PARLEY_STACK_CACHE: process.env['PARLEY_STACK_CACHE'] } : {}),
    PARLEY_KAFKA_PORT: String(await freePort()),
    PARLEY_KAFKA_CONTROLLER_PORT: String(await freePort()),
  });
  const service = stackServices(config).find((s) => s.name === 'kafka')!;
  const healthTimeoutMs = options.healthTimeoutMs ?? config.healthTimeoutS * 1000;
  let artifacts: StackArtifacts | undefined;
  const start = async (): Promise<number> => {
    const started = Date.now();
    if (isOurs(readPidRecord(service.pidFile))) throw new Error(`${service.title} is running already`);
    artifacts ??= fetchStack(config);
    const launch = service.launch(artifacts);
    launch.prepare(); // idempotent: storage is formatted only the first time, so a restart keeps its data
    startDetached({ command: launch.command, args: launch.args, pidFile: service.pidFile, logFile: service.logFile });
    await waitHealthy(service, healthTimeoutMs);
    return Date.now() - started;
  };
  const close = async (): Promise<void> => {
    await stopRecorded(service.pidFile, 10_000);
    rmSync(runDir, { recursive: true, force: true });
    guard.disarm();
  };
  try {
    await start();
  } catch (error) {
    await close();
    throw error;
  }
  return {
    brokers: endpointsOf(config).kafkaBrokers,
    config,
    logFile: join(config.runDir, 'logs', 'kafka-server.log'),
    process: () => {
      const record = readPidRecord(service.pidFile);
      return isOurs(record) ? record : undefined;
    },
    async kill(signal, timeoutMs = 60_000) {
      const record = readPidRecord(service.pidFile);
      if (!isOurs(record)) throw new Error(`${service.title} is not running`);
      process.kill(record.pid, signal);
      const deadline = Date.now() + timeoutMs;
      while (isOurs(record)) {
        if (Date.now() > deadline) throw new Error(`${service.title} still runs ${timeoutMs} ms after ${signal}`);
        await delay(20); // the exit of a detached process: reaped asynchronously, nothing to wait on
      }
    },
    start,
    close,
  };
}
