/**
 * deploy/ consumes the metric names this folder defines: the Grafana dashboard parses and every PromQL query in
 * it, and in the Prometheus rules, names only series the registry exports (or rules record, or Prometheus's own
 * `up`). A renamed metric fails here instead of leaving an empty panel or an alert that can never fire.
 * promtool itself runs in integration/tests/monitoring-promtool.test.ts (it needs Debian's prometheus package).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { createMetrics, metricSeriesNames } from './registry.ts';

const deploy = join(import.meta.dirname, '..', 'deploy');
const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'by', 'without', 'on', 'ignoring']);

/** Metric names a PromQL expression selects: identifiers outside matchers, ranges, grouping and function calls. */
function promqlMetricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""') // label values and other strings
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries ($__rate_interval included)
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // label lists
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w:$.])([a-zA-Z_:][\w:]*)\b(?!\s*\()/g)) {
    if (!keywords.has(match[1]!.toLowerCase())) names.add(match[1]!);
  }
  return [...names].sort();
}

interface RuleFile {
  groups: { name: string; rules: { record?: string; alert?: string; expr: string }[] }[];
}

const ruleFiles = readdirSync(join(deploy, 'prometheus', 'rules'))
  .filter((f) => f.endsWith('.yml'))
  .map((f) => ({ file: f, rules: parse(readFileSync(join(deploy, 'prometheus', 'rules', f), 'utf8')) as RuleFile }));
const recorded = ruleFiles.flatMap(({ rules }) => rules.groups.flatMap((g) => g.rules.map((r) => r.record)));
const known = new Set([...metricSeriesNames(createMetrics().registry), ...recorded.filter(Boolean), 'up']);

function unknownNames(exprs: { where: string; expr: string }[]): string[] {
  return exprs.flatMap(({ where, expr }) =>
    promqlMetricNames(expr)
      .filter((name) => !known.has(name))
      .map((name) => `${where}: ${name}`),
  );
}

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}

describe('PromQL name extraction', () => {
  it('finds selected metrics and skips functions, labels, ranges, keywords and numbers', () => {
    assert.deepEqual(
      promqlMetricNames(
        'histogram_quantile(0.99, sum by (replica, le) (rate(epaxos_commit_latency_seconds_bucket{path!="x y"}[$__rate_interval])))',
      ),
      ['epaxos_commit_latency_seconds_bucket'],
    );
    assert.deepEqual(
      promqlMetricNames('a:b:rate5m > 2 * c_total offset 5m and on(job) up == 1 or d unless e bool > 1e3'),
      ['a:b:rate5m', 'c_total', 'd', 'e', 'up'],
    );
  });

  it('reports a name the registry does not define', () => {
    assert.deepEqual(unknownNames([{ where: 'x', expr: 'rate(epaxos_proposal_total[5m])' }]), [
      'x: epaxos_proposal_total',
    ]);
  });
});

describe('the Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(join(deploy, 'grafana', 'dashboards', 'parley.json'), 'utf8')) as {
    uid: string;
    panels: Panel[];
  };
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
  const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: p.title, expr: t.expr })));

  it('parses, and every panel has a query', () => {
    assert.equal(dashboard.uid, 'parley-overview');
    assert.ok(panels.length >= 20, `${panels.length} panels`);
    for (const panel of panels) assert.ok((panel.targets ?? []).length > 0, `${panel.title} has no query`);
  });

  it('references only metric names the registry defines or the rules record', () => {
    assert.deepEqual(unknownNames(exprs), []);
  });

  it('covers per-replica latency, quorum composition, commit rate and lag per group', () => {
    const used = new Set(exprs.flatMap(({ expr }) => promqlMetricNames(expr)));
    for (const name of [
      'epaxos_commit_latency_seconds_bucket',
      'epaxos_quorum_replies_total',
      'epaxos_commits_total',
      'kafka_consumer_group_total_lag',
      'kafka_consumer_group_max_lag_seconds',
      'epaxos_fast_path_success_ratio',
      'etcd_cluster_health',
    ]) {
      assert.ok(used.has(name), `the dashboard shows ${name}`);
    }
    assert.ok(
      exprs.some(({ expr }) => /by \(replica, le\)/.test(expr)),
      'latency is split per replica',
    );
  });
});

describe('the Prometheus rules', () => {
  it('reference only metric names the registry defines or other rules record', () => {
    const exprs = ruleFiles.flatMap(({ file, rules }) =>
      rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `${file} ${r.alert ?? r.record}`, expr: r.expr }))),
    );
    assert.ok(exprs.length >= 10);
    assert.deepEqual(unknownNames(exprs), []);
  });

  it('alert on every row of the seed’s metrics table, the SLO and dead letters', () => {
    const alerts = ruleFiles.flatMap(({ rules }) => rules.groups.flatMap((g) => g.rules.map((r) => r.alert)));
    for (const alert of [
      'EpaxosProposalSpike',
      'EpaxosFastPathRatioLow',
      'CommittedTopicLagHigh',
      'EtcdMemberDown',
      'EpaxosCommitLatencyBudgetBurnFast',
      'EpaxosCommitLatencyBudgetBurnSlow',
      'DeadLettersGrowing',
    ]) {
      assert.ok(alerts.includes(alert), alert);
    }
  });

  it('every rule file has a promtool unit test file that loads it', () => {
    const tests = readdirSync(join(deploy, 'prometheus', 'tests')).map((f) =>
      readFileSync(join(deploy, 'prometheus', 'tests', f), 'utf8'),
    );
    for (const { file } of ruleFiles)
      assert.ok(
        tests.some((t) => t.includes(`../rules/${file}`)),
        file,
      );
  });
});
