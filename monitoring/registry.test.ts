/**
 * The registry and its families: one registry per call (never prom-client's global one), the families DESIGN.md
 * §7 and the seed name, the fast-path ratio window, bounded labels, and the runtime adapters.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { register as globalRegistry } from 'prom-client';
import { appEventsFor, consensusObserverFor, guardrailCountersFor, storeMetricsFor } from './adapters.ts';
import { FastPathWindow } from './consensus.ts';
import { BoundedLabel, OTHER_LABEL_VALUE } from './labels.ts';
import { createMetrics, metricFamilyNames, metricSeriesNames } from './registry.ts';

const sample = (text: string, series: string): number | undefined => {
  const escaped = series.replace(/[{}"()[\]|+.*?^$\\]/g, '\\$&');
  const match = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
};

describe('createMetrics', () => {
  it('makes its own registry each time and leaves the global one empty', async () => {
    const a = createMetrics();
    const b = createMetrics();
    assert.notEqual(a.registry, b.registry);
    a.consensus.proposed('r1');
    assert.equal(sample(await b.registry.metrics(), 'epaxos_proposals_total{replica="r1"}'), undefined);
    assert.equal(globalRegistry.getMetricsAsArray().length, 0);
  });

  it('registers every family of DESIGN.md §7 and the seed, plus process metrics', () => {
    const names = metricFamilyNames(createMetrics().registry);
    for (const name of [
      'epaxos_proposals_total',
      'epaxos_fast_path_success_ratio',
      'epaxos_commit_latency_seconds',
      'epaxos_execution_latency_seconds',
      'epaxos_recoveries_total',
      'kafka_consumer_lag',
      'kafka_consumer_lag_seconds',
      'etcd_cluster_health',
      'etcd_member_up',
      'parley_processor_latency_seconds',
      'parley_store_entries',
      'parley_store_operation_latency_seconds',
      'parley_restore_remaining_records',
      'parley_dead_letters_total',
      'parley_guardrail_mode',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      assert.ok(names.includes(name), `${name} registered`);
    }
    assert.ok(
      !metricFamilyNames(createMetrics({ processMetrics: false }).registry).includes('process_cpu_seconds_total'),
    );
  });

  it('metricSeriesNames adds histogram suffixes', () => {
    const series = metricSeriesNames(createMetrics({ processMetrics: false }).registry);
    assert.ok(series.includes('epaxos_commit_latency_seconds_bucket'));
    assert.ok(series.includes('epaxos_commit_latency_seconds_count'));
    assert.ok(!series.includes('epaxos_proposals_total_count'));
  });

  it('default labels go on every series', async () => {
    const m = createMetrics({ processMetrics: false, defaultLabels: { instance_id: 'p1' } });
    m.consensus.proposed('r1', 3);
    assert.equal(sample(await m.registry.metrics(), 'epaxos_proposals_total{replica="r1",instance_id="p1"}'), 3);
  });
});

describe('consensus metrics', () => {
  it('counts proposals, commits by path, latencies and recoveries', async () => {
    const m = createMetrics({ processMetrics: false });
    m.consensus.proposed('r1', 2);
    m.consensus.committed('r1', 'fast', 0.004);
    m.consensus.committed('r1', 'slow', 0.3);
    m.consensus.executed('r2', 0.02);
    m.consensus.recoveryStarted('r2', 'lease-lost');
    m.consensus.quorumReply('r1', 'r3', 'pre-accept');
    m.consensus.quorumSizes({ replicas: 5, fast: 3, slow: 3 });
    const text = await m.registry.metrics();
    assert.equal(sample(text, 'epaxos_proposals_total{replica="r1"}'), 2);
    assert.equal(sample(text, 'epaxos_commits_total{replica="r1",path="slow"}'), 1);
    assert.equal(sample(text, 'epaxos_commit_latency_seconds_bucket{le="0.25",replica="r1",path="slow"}'), 0);
    assert.equal(sample(text, 'epaxos_commit_latency_seconds_bucket{le="0.5",replica="r1",path="slow"}'), 1);
    assert.equal(sample(text, 'epaxos_execution_latency_seconds_count{replica="r2"}'), 1);
    assert.equal(sample(text, 'epaxos_recoveries_total{replica="r2",reason="lease-lost"}'), 1);
    assert.equal(sample(text, 'epaxos_quorum_replies_total{replica="r1",peer="r3",phase="pre-accept"}'), 1);
    assert.equal(sample(text, 'epaxos_quorum_size{kind="fast"}'), 3);
  });

  it('the fast-path ratio counts only commits that tried the fast path, over a sliding window', async () => {
    let now = 0;
    const m = createMetrics({ processMetrics: false, clock: () => now, fastPathWindowSeconds: 10 });
    const ratio = async () => sample(await m.registry.metrics(), 'epaxos_fast_path_success_ratio{replica="r1"}');
    assert.equal(await ratio(), undefined, 'no commits: no ratio (an alert must not fire on nothing)');
    for (let i = 0; i < 9; i++) m.consensus.committed('r1', 'fast', 0.001);
    m.consensus.committed('r1', 'slow', 0.01);
    m.consensus.committed('r1', 'slow-mode', 0.01);
    m.consensus.committed('r1', 'recovery', 0.01);
    assert.equal(await ratio(), 0.9);
    now = 5_000;
    m.consensus.committed('r1', 'slow', 0.01);
    assert.equal(await ratio(), 9 / 11);
    now = 10_000; // the first ten left the window
    assert.equal(await ratio(), 0);
    now = 15_001;
    assert.equal(await ratio(), undefined);
  });

  it('FastPathWindow keeps at most `max` commits', () => {
    const window = new FastPathWindow(1_000_000, 4);
    for (let i = 0; i < 4; i++) window.add(i, false);
    for (let i = 0; i < 4; i++) window.add(10 + i, true);
    assert.equal(window.ratio(20), 1);
  });
});

describe('bounded labels', () => {
  it('folds values past the cap into _other and counts the overflow', async () => {
    const m = createMetrics({ processMetrics: false, labelValuesMax: 2 });
    for (const replica of ['r1', 'r2', 'r3', 'r4']) m.consensus.proposed(replica);
    const text = await m.registry.metrics();
    assert.equal(sample(text, `epaxos_proposals_total{replica="${OTHER_LABEL_VALUE}"}`), 2);
    assert.equal(sample(text, 'epaxos_proposals_total{replica="r3"}'), undefined);
    assert.equal(sample(text, 'parley_metric_label_overflow_total{label="replica"}'), 2);
  });

  it('a forgotten value frees its slot', () => {
    const label = new BoundedLabel('x', 1);
    assert.equal(label.value('a'), 'a');
    assert.equal(label.value('b'), OTHER_LABEL_VALUE);
    label.forget('a');
    assert.equal(label.value('b'), 'b');
    assert.throws(() => new BoundedLabel('x', 0), /positive integer/);
  });
});

describe('guardrail metrics', () => {
  it('etcd health is the fraction of members up; members no longer listed disappear', async () => {
    const m = createMetrics({ processMetrics: false });
    // No guardrail reported yet (a process without etcd): no sample at all, not a 0 that fires the alert.
    assert.equal(sample(await m.registry.metrics(), 'etcd_cluster_health'), undefined);
    assert.match(await m.registry.metrics(), /# TYPE etcd_cluster_health gauge/);
    m.guardrail.etcdMembers([
      { member: 'etcd1', up: true },
      { member: 'etcd2', up: false },
      { member: 'etcd3', up: true },
      { member: 'etcd4', up: true },
    ]);
    let text = await m.registry.metrics();
    assert.equal(sample(text, 'etcd_cluster_health'), 0.75);
    assert.equal(sample(text, 'etcd_member_up{member="etcd2"}'), 0);
    m.guardrail.etcdMembers([
      { member: 'etcd1', up: true },
      { member: 'etcd3', up: true },
    ]);
    text = await m.registry.metrics();
    assert.equal(sample(text, 'etcd_cluster_health'), 1);
    assert.equal(sample(text, 'etcd_member_up{member="etcd2"}'), undefined);
    m.guardrail.etcdMembers([]);
    assert.equal(sample(await m.registry.metrics(), 'etcd_cluster_health'), undefined, 'absent again');
  });

  it('mode is 1 for the current mode and 0 for the other', async () => {
    const m = createMetrics({ processMetrics: false });
    assert.equal(m.guardrail.currentMode(), undefined);
    m.guardrail.mode('fast');
    m.guardrail.mode('slow');
    m.guardrail.epoch(7);
    m.guardrail.reachable(false);
    const text = await m.registry.metrics();
    assert.equal(m.guardrail.currentMode(), 'slow');
    assert.equal(sample(text, 'parley_guardrail_mode{mode="slow"}'), 1);
    assert.equal(sample(text, 'parley_guardrail_mode{mode="fast"}'), 0);
    assert.equal(sample(text, 'parley_guardrail_epoch'), 7);
    assert.equal(sample(text, 'parley_guardrail_reachable'), 0);
  });

  it('guardrailCountersFor counts the guardrail’s own counters, dropping labels they do not declare', async () => {
    const m = createMetrics({ processMetrics: false });
    const counters = guardrailCountersFor(m);
    counters.inc('guardrail_mode_switches_total', { to: 'slow', cause: 'members-down' });
    counters.inc('guardrail_stale_epoch_rejections_total', { replica: 'r1', kind: 'PreAccept', extra: 'x' }, 3);
    counters.inc('guardrail_stale_epoch_rejections_total');
    const text = await m.registry.metrics();
    assert.equal(sample(text, 'guardrail_mode_switches_total{to="slow",cause="members-down"}'), 1);
    assert.equal(sample(text, 'guardrail_stale_epoch_rejections_total{kind="PreAccept",replica="r1"}'), 3);
    assert.equal(sample(text, 'guardrail_stale_epoch_rejections_total{kind="",replica=""}'), 1);
  });
});

describe('consensus observer adapter', () => {
  it('maps the observer’s commits to paths, per-command latencies and recoveries, then calls `next`', async () => {
    const m = createMetrics({ processMetrics: false });
    const seen: string[] = [];
    const observer = consensusObserverFor(m, { ordered: (key) => seen.push(`ordered ${key}`) });
    observer.committed('r1', true, 2, [3, 400]);
    observer.committed('r1', false, 1, [20]);
    m.guardrail.mode('slow');
    observer.committed('r1', false, 1, [30]);
    observer.recovered('r2');
    observer.ordered('k', 1, 'p1');
    observer.applied('agent-1', 'k', 1, 'p1');
    observer.executed('r0.1', 30);
    observer.executed('r0.2', 2_000);
    const text = await m.registry.metrics();
    assert.equal(sample(text, 'epaxos_execution_latency_seconds_count{replica="resolution"}'), 2);
    assert.equal(sample(text, 'epaxos_execution_latency_seconds_bucket{le="0.05",replica="resolution"}'), 1);
    assert.equal(sample(text, 'epaxos_commits_total{replica="r1",path="fast"}'), 1, 'an instance counts once');
    assert.equal(sample(text, 'epaxos_commit_latency_seconds_count{replica="r1",path="fast"}'), 2, 'per command');
    assert.equal(sample(text, 'epaxos_commit_latency_seconds_bucket{le="0.25",replica="r1",path="fast"}'), 1);
    assert.equal(sample(text, 'epaxos_commits_total{replica="r1",path="slow"}'), 1);
    assert.equal(sample(text, 'epaxos_commits_total{replica="r1",path="slow-mode"}'), 1, 'slow mode is not a failure');
    assert.equal(sample(text, 'epaxos_fast_path_success_ratio{replica="r1"}'), 0.5);
    assert.equal(sample(text, 'epaxos_recoveries_total{replica="r2",reason="unspecified"}'), 1);
    assert.deepEqual(seen, ['ordered k']);
  });
});

describe('runtime adapters', () => {
  it('appEventsFor feeds the runtime families and still calls the caller’s hooks', async () => {
    const m = createMetrics({ processMetrics: false });
    const seen: string[] = [];
    const events = appEventsFor(m, { taskCreated: (id) => seen.push(`created ${id}`), failed: () => seen.push('x') });
    events.restoreProgress('0_1', 'totals', 0, 10);
    assert.equal(m.runtime.restoringTasks(), 1);
    events.restoreProgress('0_1', 'totals', 4, 10);
    let text = await m.registry.metrics();
    assert.equal(sample(text, 'parley_restore_remaining_records{task="0_1",store="totals"}'), 6);
    events.restoreProgress('0_1', 'totals', 10, 10);
    events.taskCreated('0_1');
    assert.equal(m.runtime.restoringTasks(), 0);
    events.processed('0_1', 'payment-totals', 0.002);
    events.processed('0_1', 'payment-totals', 0.003);
    events.committed('0_1', 2, 0.01);
    events.deadLettered('0_1', 'payment-totals', 'process', new Error('bad'));
    events.skipped('0_1', 'resolve', 'deserialize', new Error('bad'));
    events.failed(new Error('boom'));
    text = await m.registry.metrics();
    assert.equal(sample(text, 'parley_restored_records_total{store="totals"}'), 10);
    assert.equal(sample(text, 'parley_tasks_running'), 1);
    assert.equal(sample(text, 'parley_processor_latency_seconds_count{processor="payment-totals"}'), 2);
    assert.equal(sample(text, 'parley_task_committed_records_total{subtopology="0"}'), 2);
    assert.equal(sample(text, 'parley_dead_letters_total{processor="payment-totals",stage="process"}'), 1);
    assert.equal(sample(text, 'parley_skipped_records_total{processor="resolve",stage="deserialize"}'), 1);
    assert.equal(sample(text, 'parley_app_failures_total'), 1);
    assert.deepEqual(seen, ['created 0_1', 'x']);
    events.taskClosed('0_1');
    text = await m.registry.metrics();
    assert.equal(sample(text, 'parley_tasks_running'), 0);
    assert.equal(sample(text, 'parley_restore_remaining_records{task="0_1",store="totals"}'), undefined);
  });

  it('storeMetricsFor times operations; store sizes are read at scrape time and summed per store', async () => {
    const m = createMetrics({ processMetrics: false });
    storeMetricsFor(m).record('get', 'totals', 0.00002);
    storeMetricsFor(m).record('get', 'totals', 0.2);
    let entries = 3;
    const stop = m.runtime.observeStoreSizes(async () => [
      { store: 'totals', entries },
      { store: 'totals', entries: 2 },
    ]);
    let text = await m.registry.metrics();
    assert.equal(sample(text, 'parley_store_operation_latency_seconds_count{store="totals",operation="get"}'), 2);
    assert.equal(sample(text, 'parley_store_entries{store="totals"}'), 5);
    entries = 10;
    assert.equal(sample(await m.registry.metrics(), 'parley_store_entries{store="totals"}'), 12);
    stop();
    text = await m.registry.metrics();
    assert.equal(sample(text, 'parley_store_entries{store="totals"}'), undefined);
  });
});
