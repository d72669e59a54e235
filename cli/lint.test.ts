/**
 * `parley lint` and `parley describe` as a user runs them: the real bin in a child process, checked by exit code
 * and output.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { lintFiles } from './lint.ts';

const projectRoot = join(import.meta.dirname, '..');
const fixture = (name: string) => relative(projectRoot, join(projectRoot, 'topology', 'config', 'testdata', name));

function parley(...args: string[]) {
  const env = { ...process.env, NODE_OPTIONS: '' };
  const run = spawnSync(process.execPath, ['cli/parley.mjs', ...args], { cwd: projectRoot, encoding: 'utf8', env });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('parley lint', () => {
  it('prints every error of a broken file with line:column and exits 1', () => {
    const { code, stdout } = parley('lint', fixture('broken.yaml'));
    assert.equal(code, 1);
    const lines = stdout.trimEnd().split('\n');
    const issues = lines.slice(0, -1);
    assert.equal(issues.length, 15);
    for (const line of issues) {
      assert.match(line, /^topology\/config\/testdata\/broken\.yaml:\d+:\d+: (error|warning): \S/, line);
    }
    assert.equal(lines.at(-1), 'FAILED: 1 file, 14 errors, 1 warning');
  });

  it('exits 0 for clean files, with a summary', () => {
    const { code, stdout } = parley('lint', fixture('fraud.yaml'), fixture('consensus.yaml'));
    assert.equal(code, 0);
    assert.equal(stdout, 'ok: 2 files, 0 errors, 0 warnings\n');
  });

  it('counts warnings without failing, and unreadable files as errors', () => {
    const report = lintFiles([fixture('warning.yaml')], {});
    assert.deepEqual(report.lines, [
      `${fixture('warning.yaml')}:6:3: warning: store "unused" is used by no processor (add it to a processor's stores, or remove it)`,
      'ok: 1 file, 0 errors, 1 warning',
    ]);
    assert.equal(parley('lint', fixture('warning.yaml')).code, 0);
    const missing = lintFiles([fixture('missing.yaml'), fixture('env.yaml')], {});
    assert.equal(missing.errors, 2);
    assert.match(missing.lines[0]!, /missing\.yaml:1:1: error: cannot read file/);
    assert.match(missing.lines[1]!, /env\.yaml:10:25: error: environment variable INPUT_TOPIC is not set/);
  });
});

describe('parley describe', () => {
  it('prints the Kafka Streams text by default', () => {
    const { code, stdout } = parley('describe', fixture('consensus.yaml'));
    assert.equal(code, 0);
    assert.ok(stdout.startsWith('Topologies:\n   Sub-topology: 0\n    Source: proposals-in (topics: [proposals])\n'));
    assert.match(stdout, /\n {2}Sub-topology: 1\n/);
  });

  it('prints Mermaid, and the JSON graph for --dry-run --json', () => {
    const mermaid = parley('describe', fixture('consensus.yaml'), '--format', 'mermaid');
    assert.equal(mermaid.code, 0);
    assert.match(mermaid.stdout, /^flowchart LR\n/);
    const json = parley('describe', fixture('fraud.yaml'), '--dry-run', '--json');
    assert.equal(json.code, 0);
    const graph = JSON.parse(json.stdout) as { application: string; subtopologies: { tasks: string[] }[] };
    assert.equal(graph.application, 'fraud-detection');
    assert.deepEqual(graph.subtopologies[0]!.tasks, ['0_0', '0_1', '0_2']);
    const format = parley('describe', fixture('fraud.yaml'), '--format', 'json');
    assert.equal(format.code, 0, format.stderr);
    assert.deepEqual(JSON.parse(format.stdout), graph, '--format json is --json');
  });

  it('exits 1 with the issues on stderr for an invalid file', () => {
    const { code, stdout, stderr } = parley('describe', fixture('broken.yaml'));
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.match(stderr, /broken\.yaml:20:15: error: processor "enrich": unknown parent "jion"/);
  });
});
