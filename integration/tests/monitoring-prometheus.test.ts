/**
 * A real Prometheus server (Debian's `prometheus` package, started here on a free loopback port with a temporary
 * config and data directory, stopped after) scrapes this process's /metrics, loads deploy/prometheus/rules, and
 * answers queries over its HTTP API with what it scraped. The metrics come from the real runtime: the
 * aggregate-join example runs on the TopologyTestDriver with `appEventsFor` and `storeMetricsFor` wired in,
 * the consensus samples go through processors/observer.ts with `consensusObserverFor` installed, and an epoch
 * fence of guardrail/ counts through `guardrailCountersFor` (so tsc also checks that every adapter still fits the
 * interface it stands in for).
 *
 * Waiting for a scrape is a bounded poll on Prometheus's API (it scrapes on its own schedule); nothing sleeps.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { EpochFence, type GuardrailCounters } from '../../guardrail/index.ts';
import {
  appEventsFor,
  consensusObserverFor,
  createMetrics,
  guardrailCountersFor,
  startMonitoringServer,
  storeMetricsFor,
  type MonitoringServer,
} from '../../monitoring/index.ts';
import { observer, setConsensusObserver, type ConsensusObserver } from '../../processors/observer.ts';
import { MemoryRegistryClient } from '../../schemas/index.ts';
import { defaultStoreOpener, loadEngine, serdeFactory } from '../../topology/engine.ts';
import { TopologyTestDriver } from '../../topology/test-driver.ts';

const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'parley-prometheus-'));
const metrics = createMetrics({ defaultLabels: { application: 'monitoring-test' } });
let server: MonitoringServer;
let prometheus: ChildProcess | undefined;
let prometheusUrl: string;
let prometheusLog = '';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Polls `probe` every 200 ms until it returns a value, failing after `timeoutMs` or if Prometheus exits. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (prometheus?.exitCode !== null)
      throw new Error(`prometheus exited (${prometheus?.exitCode}):\n${prometheusLog}`);
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`${what}: not seen within ${timeoutMs} ms\n${prometheusLog.slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(promql: string): Promise<Sample[]> {
  const res = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as { status: string; data: { result: Sample[] }; error?: string };
  if (body.status !== 'success') throw new Error(`query ${promql}: ${body.error}`);
  return body.data.result;
}

/** The value of `promql` once Prometheus has scraped a sample of it. */
function scraped(promql: string): Promise<number> {
  return until(promql, async () => {
    const [sample] = await query(promql);
    return sample && Number(sample.value[1]);
  });
}

async function runRuntime(): Promise<void> {
  const engine = await loadEngine(join(root, 'examples', 'aggregate-join', 'topology.yaml'), {});
  const serdes = serdeFactory(engine.schemasDir, new MemoryRegistryClient());
  const driver = await TopologyTestDriver.create(engine.topology, {
    registry: engine.registry,
    serdes,
    openStore: defaultStoreOpener({
      topology: engine.topology,
      serdes,
      stateDir: join(dir, 'state'),
      metrics: storeMetricsFor(metrics),
    }),
    events: appEventsFor(metrics),
  });
  await driver.pipeInputs('accounts', [{ key: 'a', value: { name: 'A', limit: 50 }, timestamp: 1 }]);
  await driver.pipeInputs('payments', [
    { key: 'a', value: { id: 'ok-1', amount: 10 }, timestamp: 2 },
    { key: 'a', value: { id: 'bad', amount: -5 }, timestamp: 3 }, // dead-lettered (negative amount)
    { key: 'a', value: { id: 'ok-2', amount: 20 }, timestamp: 4 },
  ]);
  await driver.close();
}

before(async () => {
  await runRuntime();
  metrics.consensus.proposed('r1', 12);
  const consensusObserver: ConsensusObserver = consensusObserverFor(metrics);
  setConsensusObserver(consensusObserver);
  observer().committed?.('r1', true, 1, [4]);
  observer().committed?.('r1', false, 1, [30]);
  setConsensusObserver({});
  metrics.consensus.quorumReply('r1', 'r2', 'pre-accept');
  const counters: GuardrailCounters = guardrailCountersFor(metrics);
  const fence = new EpochFence(5, counters, { replica: 'r1' });
  assert.equal(fence.admit(4, 'PreAccept'), false, 'a stale epoch is refused and counted');
  metrics.guardrail.etcdMembers([
    { member: 'etcd1', up: true },
    { member: 'etcd2', up: false },
    { member: 'etcd3', up: true },
  ]);
  metrics.guardrail.mode('fast');
  server = await startMonitoringServer({ registry: metrics.registry, port: 0 });

  const port = await freePort();
  prometheusUrl = `http://127.0.0.1:${port}`;
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'rule_files:',
      `  - ${join(root, 'deploy', 'prometheus', 'rules', '*.yml')}`,
      'scrape_configs:',
      '  - job_name: parley',
      '    static_configs:',
      `      - targets: ['${server.host}:${server.port}']`,
      '',
    ].join('\n'),
  );
  prometheus = spawn(
    'prometheus',
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  prometheus.on('error', (error) => (prometheusLog += `spawn failed: ${error.message} (apt-get install prometheus)\n`));
  prometheus.stdout!.on('data', (chunk: Buffer) => (prometheusLog += chunk.toString()));
  prometheus.stderr!.on('data', (chunk: Buffer) => (prometheusLog += chunk.toString()));
  await until('prometheus /-/ready', async () => ((await fetch(`${prometheusUrl}/-/ready`)).ok ? true : undefined));
});

after(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
    prometheus.kill('SIGTERM');
    await exited;
  }
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('Prometheus scrapes the process: the target is up and the runtime’s series arrive', async () => {
  assert.equal(await scraped('up{job="parley"}'), 1);
  assert.equal(await scraped('parley_dead_letters_total{processor="payment-totals",stage="process"}'), 1);
  // Of the three payments two were processed (the runtime times successes) and one dead-lettered.
  assert.equal(await scraped('parley_processor_latency_seconds_count{processor="payment-totals"}'), 2);
  assert.equal(await scraped('parley_processor_latency_seconds_count{processor="account-table"}'), 1);
  assert.ok((await scraped('sum(parley_store_operation_latency_seconds_count{store="totals"})')) > 0);
  assert.ok((await scraped('sum(parley_task_committed_records_total)')) >= 4);
  const [withLabel] = await query('parley_dead_letters_total{application="monitoring-test"}');
  assert.ok(withLabel, 'default labels reach Prometheus');
});

test('consensus and guardrail series arrive with their values', async () => {
  assert.equal(await scraped('epaxos_proposals_total{replica="r1"}'), 12);
  assert.equal(await scraped('epaxos_fast_path_success_ratio{replica="r1"}'), 0.5);
  assert.equal(await scraped('epaxos_commit_latency_seconds_count{replica="r1",path="slow"}'), 1);
  assert.equal(await scraped('epaxos_quorum_replies_total{replica="r1",peer="r2"}'), 1);
  assert.equal(await scraped('etcd_member_up{member="etcd2"}'), 0);
  assert.equal(await scraped('parley_guardrail_mode{mode="fast"}'), 1);
  assert.equal(await scraped('guardrail_stale_epoch_rejections_total{replica="r1",kind="PreAccept"}'), 1);
  assert.ok((await scraped('process_resident_memory_bytes')) > 0, 'process metrics too');
});

test('the deploy rules load into Prometheus, evaluate cleanly and raise alerts on these series', async () => {
  interface Rule {
    name: string;
    health: string;
    lastError?: string;
  }
  const rules = await until('every rule evaluated', async () => {
    const res = await fetch(`${prometheusUrl}/api/v1/rules`);
    const body = (await res.json()) as { data: { groups: { name: string; rules: Rule[] }[] } };
    const all = body.data.groups.flatMap((g) => g.rules);
    return all.length > 0 && all.every((r) => r.health !== 'unknown') ? all : undefined;
  });
  assert.deepEqual(
    rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`),
    [],
  );
  assert.ok(rules.length >= 15, `${rules.length} rules loaded`);

  // One etcd member is down: EtcdMemberDown is pending (for: 1m). A dead letter appeared: DeadLettersGrowing fires.
  const alerts = await until('alerts', async () => {
    const res = await fetch(`${prometheusUrl}/api/v1/alerts`);
    const body = (await res.json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
    const byName = new Map(body.data.alerts.map((a) => [a.labels['alertname']!, a]));
    return byName.has('EtcdMemberDown') && byName.get('DeadLettersGrowing')?.state === 'firing' ? byName : undefined;
  });
  assert.equal(alerts.get('EtcdMemberDown')!.state, 'pending');
  assert.equal(alerts.get('DeadLettersGrowing')!.labels['processor'], 'payment-totals');
  assert.ok(!alerts.has('EpaxosFastPathRatioLow') || alerts.get('EpaxosFastPathRatioLow')!.state === 'pending');
});
