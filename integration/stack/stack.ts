/**
 * `up`, `down` and `status` of the native stack. `up` is idempotent: what runs stays, what is missing starts.
 * `down` stops exactly the processes whose PID files `up` wrote.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { endpointsOf, type StackConfig, type StackEndpoints } from './config.ts';
import { fetchStack } from './fetch.ts';
import { isOurs, readPidRecord, startDetached, stopRecorded, tailOf } from './process.ts';
import { info, ticker } from './progress.ts';
import { stackServices, type ServiceSpec } from './services.ts';

export class StackStartError extends Error {
  override name = 'StackStartError';
  constructor(
    message: string,
    readonly service: string,
    readonly logFile: string,
  ) {
    super(message);
  }
}

export interface ServiceStatus {
  name: string;
  title: string;
  running: boolean;
  pid?: number;
  healthy: boolean;
  detail?: string;
  logFile: string;
}

/** Serialises `up`/`down` across processes (parallel test files may all ask for the stack at once). */
async function withLock<T>(config: StackConfig, fn: () => Promise<T>): Promise<T> {
  mkdirSync(config.runDir, { recursive: true });
  const lockFile = join(config.runDir, 'stack.lock');
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      closeSync(openSync(lockFile, 'wx'));
      writeFileSync(lockFile, String(process.pid));
      break;
    } catch {
      const holder = Number(readFileSync(lockFile, 'utf8') || 0);
      if (holder && !pidAlive(holder)) {
        rmSync(lockFile, { force: true }); // its holder died mid-way; the next `up` re-checks everything
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${lockFile} is held by PID ${holder} for over 15 minutes`);
      await delay(250);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockFile, { force: true });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portOf(service: ServiceSpec, config: StackConfig): number {
  if (service.name === 'kafka') return config.kafkaPort;
  if (service.name === 'registry') return config.registryPort;
  const member = config.etcd.find((m) => m.name === service.name);
  if (!member) throw new Error(`unknown service ${service.name}`);
  return member.clientPort;
}

function portAnswers(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    socket.setTimeout(500);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

export async function stackUp(config: StackConfig): Promise<StackEndpoints> {
  return withLock(config, async () => {
    const services = stackServices(config);
    const missing = services.filter((s) => !isOurs(readPidRecord(s.pidFile)));
    if (missing.length > 0) {
      for (const service of missing) {
        const port = portOf(service, config);
        if (await portAnswers(port, config.host)) {
          throw new StackStartError(
            `${service.title}: port ${port} is already taken by a process this stack did not start; ` +
              `stop it or choose other ports (PARLEY_*_PORT)`,
            service.name,
            service.logFile,
          );
        }
      }
      const artifacts = fetchStack(config);
      for (const service of missing) {
        const launch = service.launch(artifacts);
        try {
          launch.prepare();
        } catch (error) {
          throw new StackStartError(
            `${service.title}: preparing failed: ${(error as Error).message}`,
            service.name,
            service.logFile,
          );
        }
        const record = startDetached({
          command: launch.command,
          args: launch.args,
          pidFile: service.pidFile,
          logFile: service.logFile,
        });
        info(`started ${service.title} (pid ${record.pid}, log ${service.logFile})`);
      }
    }
    await waitHealthy(config, services);
    return endpointsOf(config);
  });
}

async function waitHealthy(config: StackConfig, services: ServiceSpec[]): Promise<void> {
  const t = ticker('waiting for the stack to be healthy');
  const deadline = Date.now() + config.healthTimeoutS * 1000;
  const pending = new Map(services.map((s) => [s.name, s]));
  const reasons = new Map<string, string>();
  while (pending.size > 0) {
    await Promise.all(
      [...pending.values()].map(async (service) => {
        const record = readPidRecord(service.pidFile);
        if (!isOurs(record)) {
          t.fail(`${service.name} exited`);
          throw new StackStartError(
            `${service.title} exited during start-up; last lines of ${service.logFile}:\n${tailOf(service.logFile)}`,
            service.name,
            service.logFile,
          );
        }
        const reason = await service.check();
        if (reason === undefined) pending.delete(service.name);
        else reasons.set(service.name, reason);
      }),
    );
    if (pending.size === 0) break;
    t.update(`pending: ${[...pending.keys()].join(', ')}`);
    if (Date.now() > deadline) {
      const service = [...pending.values()][0]!;
      t.fail(`timed out after ${config.healthTimeoutS}s`);
      throw new StackStartError(
        `${service.title} not healthy after ${config.healthTimeoutS}s (${reasons.get(service.name)}); ` +
          `last lines of ${service.logFile}:\n${tailOf(service.logFile)}`,
        service.name,
        service.logFile,
      );
    }
    await delay(500);
  }
  t.done(services.map((s) => s.name).join(', '));
}

export async function stackDown(config: StackConfig): Promise<string[]> {
  return withLock(config, async () => {
    const stopped: string[] = [];
    for (const service of stackServices(config).reverse()) {
      if (await stopRecorded(service.pidFile)) stopped.push(service.name);
    }
    return stopped;
  });
}

export async function stackStatus(config: StackConfig): Promise<ServiceStatus[]> {
  return Promise.all(
    stackServices(config).map(async (service) => {
      const record = readPidRecord(service.pidFile);
      const running = isOurs(record);
      const detail = running ? await service.check() : 'not running';
      return {
        name: service.name,
        title: service.title,
        running,
        ...(running ? { pid: record.pid } : {}),
        healthy: running && detail === undefined,
        ...(detail === undefined ? {} : { detail }),
        logFile: service.logFile,
      };
    }),
  );
}
