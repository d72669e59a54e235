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
