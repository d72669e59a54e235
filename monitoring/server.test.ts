/** /metrics, /healthz and /readyz over real HTTP on a free loopback port. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMetrics } from './registry.ts';
import {
  checkReadiness,
  metricsAddressFromEnv,
  startMonitoringServer,
  tasksRestoredCheck,
  type MonitoringServer,
} from './server.ts';

describe('monitoring server', () => {
  const metrics = createMetrics({ processMetrics: false });
  let restored = false;
  let guardrail: () => Promise<boolean> = async () => true;
  let server: MonitoringServer;

  before(async () => {
    server = await startMonitoringServer({
      registry: metrics.registry,
      port: 0,
      checkTimeoutMs: 100,
      readiness: [
        { name: 'tasks-restored', check: () => restored },
        { name: 'guardrail', check: () => guardrail() },
      ],
    });
  });
  after(() => server.close());

  it('binds loopback by default and serves the registry at /metrics', async () => {
    assert.equal(server.host, '127.0.0.1');
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    metrics.consensus.proposed('r1', 4);
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(await res.text(), /^epaxos_proposals_total\{replica="r1"\} 4$/m);
  });

  it('/healthz answers while the process serves', async () => {
    const res = await fetch(`${server.url}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok\n');
  });

  it('/readyz is 503 until every check passes, naming each result', async () => {
    restored = false;
    let res = await fetch(`${server.url}/readyz`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { ready: false, checks: { 'tasks-restored': 'not ready', guardrail: 'ok' } });
    restored = true;
    res = await fetch(`${server.url}/readyz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ready: true, checks: { 'tasks-restored': 'ok', guardrail: 'ok' } });
  });

  it('a check that throws or hangs past its timeout is not ready', async () => {
    restored = true;
    guardrail = async () => Promise.reject(new Error('etcd unreachable'));
    let res = await fetch(`${server.url}/readyz`);
    assert.equal(res.status, 503);
    assert.equal(
      ((await res.json()) as { checks: Record<string, string> }).checks['guardrail'],
      'error: etcd unreachable',
    );
    guardrail = () => new Promise(() => undefined);
    res = await fetch(`${server.url}/readyz`);
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { checks: Record<string, string> }).checks['guardrail'], 'timeout');
    guardrail = async () => true;
  });

  it('checks added later count too', async () => {
    let late = false;
    server.addReadinessCheck({ name: 'late', check: () => late });
    assert.equal((await fetch(`${server.url}/readyz`)).status, 503);
    late = true;
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
  });

  it('unknown paths are 404, other methods 405', async () => {
    assert.equal((await fetch(`${server.url}/nope`)).status, 404);
    const post = await fetch(`${server.url}/metrics`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });
});

describe('readiness helpers', () => {
  it('no checks means ready', async () => {
    assert.deepEqual(await checkReadiness([], 10), { ready: true, checks: {} });
  });

  it('tasksRestoredCheck waits for restores to finish', async () => {
    const m = createMetrics({ processMetrics: false });
    m.runtime.restoreProgress('0_0', 's', 0, 5);
    assert.equal((await checkReadiness([tasksRestoredCheck(m.runtime)], 100)).ready, false);
    m.runtime.taskCreated('0_0');
    assert.equal((await checkReadiness([tasksRestoredCheck(m.runtime)], 100)).ready, true);
  });

  it('the address comes from PARLEY_METRICS_HOST / PARLEY_METRICS_PORT', () => {
    assert.deepEqual(metricsAddressFromEnv({}), { host: '127.0.0.1', port: 9464 });
    assert.deepEqual(metricsAddressFromEnv({ PARLEY_METRICS_PORT: '0', PARLEY_METRICS_HOST: '0.0.0.0' }), {
      host: '0.0.0.0',
      port: 0,
    });
    assert.throws(() => metricsAddressFromEnv({ PARLEY_METRICS_PORT: 'http' }), /PARLEY_METRICS_PORT/);
  });

  it('a port in use is an error, not a silent second server', async () => {
    const first = await startMonitoringServer({ registry: createMetrics({ processMetrics: false }).registry, port: 0 });
    try {
      await assert.rejects(
        startMonitoringServer({ registry: createMetrics({ processMetrics: false }).registry, port: first.port }),
        { code: 'EADDRINUSE' },
      );
    } finally {
      await first.close();
    }
  });
});
