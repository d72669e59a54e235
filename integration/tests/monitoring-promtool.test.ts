/**
 * The Prometheus configuration and rules in deploy/prometheus/ as Prometheus itself judges them: `promtool check
 * config` (which checks the rule files it loads), `promtool check rules`, and `promtool test rules` on the unit
 * tests beside them (each alert firing and staying quiet when it should). promtool comes from Debian's
 * `prometheus` package (integration/stack/debian-packages.txt).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(import.meta.dirname, '..', '..');
const prometheusDir = join(root, 'deploy', 'prometheus');
const ruleFiles = readdirSync(join(prometheusDir, 'rules')).map((f) => join('deploy', 'prometheus', 'rules', f));
const testFiles = readdirSync(join(prometheusDir, 'tests')).map((f) => join('deploy', 'prometheus', 'tests', f));

function promtool(...args: string[]): { code: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd: root, encoding: 'utf8' });
  if (run.error) {
    throw new Error(`promtool not runnable (${run.error.message}): apt-get install prometheus (debian-packages.txt)`);
  }
  return { code: run.status, output: `${run.stdout}${run.stderr}` };
}

test('promtool check config: prometheus.yml and the rule files it loads', () => {
  const { code, output } = promtool('check', 'config', join('deploy', 'prometheus', 'prometheus.yml'));
  assert.equal(code, 0, output);
  assert.match(output, new RegExp(`SUCCESS: ${ruleFiles.length} rule files found`));
});

test('promtool check rules', () => {
  assert.ok(ruleFiles.length >= 2);
  const { code, output } = promtool('check', 'rules', ...ruleFiles);
  assert.equal(code, 0, output);
  assert.equal(output.match(/SUCCESS: \d+ rules found/g)?.length, ruleFiles.length, output);
});

test('promtool test rules: every alert fires and stays quiet as its unit tests say', () => {
  assert.ok(testFiles.length >= 2);
  const { code, output } = promtool('test', 'rules', ...testFiles);
  assert.equal(code, 0, output);
  assert.equal(output.match(/SUCCESS/g)?.length, testFiles.length, output);
});

test('promtool test rules fails on a wrong expectation (the tests above can fail)', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'parley-promtool-'));
  try {
    const file = join(dir, 'wrong.test.yml');
    writeFileSync(
      file,
      [
        'rule_files:',
        `  - ${join(prometheusDir, 'rules', 'parley-alerts.yml')}`,
        'tests:',
        '  - interval: 1m',
        '    input_series:',
        '      - series: etcd_cluster_health{instance="p1"}',
        "        values: '1x10'",
        '    alert_rule_test:',
        '      - eval_time: 8m',
        '        alertname: EtcdMemberDown',
        '        exp_alerts:',
        '          - exp_labels: { severity: critical, instance: p1 }',
        '',
      ].join('\n'),
    );
    const { code, output } = promtool('test', 'rules', file);
    assert.equal(code, 1, output);
    assert.match(output, /FAILED/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
