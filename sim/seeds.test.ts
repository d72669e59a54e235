/**
 * Seeds spread over worker threads run exactly as they do in one thread: the same commands, the same failing
 * seeds with the same violations, none lost or run twice (chunks claimed from a shared cursor). The unsafe fast
 * quorum makes many seeds fail, so the comparison covers failures as well as passes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSeeds, type SeedChunk } from './seeds.ts';
import { defaultSimOptions } from './simulate.ts';

const base = { ...defaultSimOptions, unsafeFastQuorumMinusOne: true };

test('worker threads run each seed once, as one thread does', async () => {
  const counted: number[] = [];
  const onChunk = (chunk: SeedChunk) => void counted.push(chunk.seeds);
  const alone = await runSeeds({ base, first: 11, count: 240, jobs: 1, chunk: 25 });
  const spread = await runSeeds({ base, first: 11, count: 240, jobs: 2, chunk: 25, onChunk });
  assert.equal(spread.threads, 2);
  assert.equal(alone.threads, 1);
  assert.ok(alone.failures.length > 0, 'the unsafe core fails some of these seeds');
  assert.ok(alone.failures.length < 240, 'and passes others');
  assert.equal(spread.commands, alone.commands);
  assert.deepEqual(spread.failures, alone.failures);
  assert.equal(
    counted.reduce((a, b) => a + b, 0),
    240,
  );
  assert.ok(
    spread.failures.every((f, i) => i === 0 || f.seed > spread.failures[i - 1]!.seed),
    'in seed order',
  );
});
