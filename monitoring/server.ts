/**
 * The process's monitoring endpoints on node:http (no framework: three GET routes do not need one):
 *   /metrics  the registry in Prometheus text format
 *   /healthz  200 while the process serves requests (liveness: a restart would not help otherwise)
 *   /readyz   200 when every readiness check passes, else 503; JSON naming each check's result
 * Readiness is a list of injected async checks, so the runtime (assigned tasks restored) and the guardrail
 * (etcd reachable) wire their own; a check that throws or exceeds `checkTimeoutMs` counts as not ready.
 *
 * Bound to 127.0.0.1 by default: metrics name topics, groups and members, which is nothing to publish to a
 * network by accident. A Prometheus in a container needs `host: '0.0.0.0'` (or the bridge address) on purpose.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { RuntimeMetrics } from './runtime.ts';

export interface ReadinessCheck {
  name: string;
  /** True when ready. Thrown errors and timeouts mean not ready. */
  check(): Promise<boolean> | boolean;
}

export interface MonitoringServerOptions {
  registry: Registry;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 9464 (`defaultMetricsPort`); 0 picks a free port (read it back from `port`). */
  port?: number;
  readiness?: readonly ReadinessCheck[];
  /** Per readiness check; default 2000 ms. */
  checkTimeoutMs?: number;
}

export interface MonitoringServer {
  readonly host: string;
  readonly port: number;
  /** e.g. `http://127.0.0.1:9464` */
  readonly url: string;
  addReadinessCheck(check: ReadinessCheck): void;
  close(): Promise<void>;
}

export const defaultMetricsPort = 9464;

/** `PARLEY_METRICS_HOST` and `PARLEY_METRICS_PORT`, for processes that start the server (defaults otherwise). */
export function metricsAddressFromEnv(env: NodeJS.ProcessEnv = process.env): { host: string; port: number } {
  const text = env['PARLEY_METRICS_PORT'];
  const port = text === undefined || text === '' ? defaultMetricsPort : Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PARLEY_METRICS_PORT must be a port number (0 for any free port), got ${JSON.stringify(text)}`);
  }
  return { host: env['PARLEY_METRICS_HOST'] || '127.0.0.1', port };
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, 'ok' | 'not ready' | 'timeout' | `error: ${string}`>;
}

/** Runs every check concurrently, each under its own timeout. */
export async function checkReadiness(checks: readonly ReadinessCheck[], timeoutMs: number): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async ({ name, check }): Promise<[string, ReadinessReport['checks'][string]]> => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
      try {
        const outcome = await Promise.race([Promise.resolve().then(check), timeout]);
        if (outcome === 'timeout') return [name, 'timeout'];
        return [name, outcome === true ? 'ok' : 'not ready'];
      } catch (error) {
        return [name, `error: ${(error as Error)?.message ?? String(error)}`];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const report: ReadinessReport = { ready: results.every(([, r]) => r === 'ok'), checks: {} };
  for (const [name, result] of results) report.checks[name] = result;
  return report;
}

/** Ready once no assigned task is still restoring its stores (fed by appEventsFor's restore hooks). */
export function tasksRestoredCheck(runtime: Pick<RuntimeMetrics, 'restoringTasks'>): ReadinessCheck {
  return { name: 'tasks-restored', check: () => runtime.restoringTasks() === 0 };
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  options: MonitoringServerOptions,
  checks: ReadinessCheck[],
): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
  }
  switch (path) {
    case '/metrics':
      return send(res, 200, options.registry.contentType, await options.registry.metrics());
    case '/healthz':
      return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
    case '/readyz': {
      const report = await checkReadiness(checks, options.checkTimeoutMs ?? 2000);
      return send(res, report.ready ? 200 : 503, 'application/json', `${JSON.stringify(report)}\n`);
    }
    default:
      return send(res, 404, 'text/plain; charset=utf-8', 'not found: try /metrics, /healthz or /readyz\n');
  }
}

export async function startMonitoringServer(options: MonitoringServerOptions): Promise<MonitoringServer> {
  const checks = [...(options.readiness ?? [])];
  const server = createServer((req, res) => {
    route(req, res, options, checks).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `${(error as Error)?.message ?? error}\n`);
      else res.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? defaultMetricsPort, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    host,
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    addReadinessCheck: (check) => void checks.push(check),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections(); // keep-alive scrapers would otherwise hold close() open
      }),
  };
}
