/**
 * `npm start` (the README's run command) end to end as a child process, small: it must finish with every
 * proposal ordered once and both agents in agreement, at low and at full conflict.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

const script = join(import.meta.dirname, 'run.ts');

for (const conflict of ['0.02', '1']) {
  test(
    `npm start with 600 proposals at conflict ${conflict}: all committed once, agents agree`,
    { timeout: 120_000 },
    () => {
      const result = spawnSync(
        process.execPath,
        ['--import', 'tsx', script, '--proposals', '600', '--conflict', conflict],
        {
          encoding: 'utf8',
          timeout: 110_000,
        },
      );
      assert.equal(result.status, 0, `exit ${result.status}\n${result.stdout}\n${result.stderr}`);
      assert.match(result.stdout, /✔ 600 proposals committed and ordered once each; 2 agents applied every decision/);
      assert.match(result.stdout, /fast path \d+\.\d% of \d+ instances; commit latency p50 \d+ ms, p99 \d+ ms/);
    },
  );
}

test('npm start -- --help prints the options; a bad value or an unknown flag is one line naming it, exit 2', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8', timeout: 60_000 });
  const help = run('--help');
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /--proposals N/);
  for (const [args, names] of [
    [['--proposals', 'abc'], /--proposals "abc": expected a whole number/],
    [['--conflict', '2'], /--conflict "2": expected a share between 0 and 1/],
    [['--replicas', '4'], /--replicas 4: EPaxos needs an odd number/],
    [['--proposal', '10'], /Unknown option '--proposal'/],
  ] as const) {
    const result = run(...args);
    assert.equal(result.status, 2, `${args.join(' ')}: exit ${result.status}\n${result.stdout}${result.stderr}`);
    assert.match(result.stderr, names);
    assert.equal(result.stderr.trim().split('\n').length, 1, `one line, no stack trace: ${result.stderr}`);
    assert.doesNotMatch(result.stdout, /proposals committed/);
  }
});
