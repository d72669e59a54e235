/**
 * Recovery on a slow network: every message takes longer to arrive than the recovery timeout. With a fixed retry
 * delay the leader's timeout fires before its PreAcceptReplies arrive, and each recovery round (Prepare, then
 * Accept: four message delays) is preempted by the next retry's higher ballot, at the leader and at the replicas
 * whose delays coincide with it: the instance never commits (the real stack under CI load did this). Retries that
 * back off (ReplicaState.recoveryRetryDelay) let a round finish.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster, command } from '../../../sim/cluster.ts';

/** Runs the cluster with every message delivered `delay` ticks after it was sent; returns the tick of agreement. */
function runSlow(options: { n: number; timeout: number; delay: number; maxTicks: number }): number | undefined {
  const c = new Cluster({ n: options.n, recoveryTimeoutTicks: options.timeout });
  const id = c.propose('r0', [command('a', 'k')]);
  const sentAt = new Map<number, number>();
  const stamp = (now: number) => {
    for (const flight of c.pool) if (!sentAt.has(flight.seq)) sentAt.set(flight.seq, now);
  };
  for (let now = 0; now < options.maxTicks; now++) {
    stamp(now); // what the last tick sent
    for (;;) {
      const due = c.pool.findIndex((f) => sentAt.get(f.seq)! + options.delay <= now);
      if (due < 0) break;
      c.deliver(due);
      stamp(now);
    }
    if (c.ids.every((r) => c.committedAt(r, id))) return now;
    c.tick();
  }
  return undefined;
}

for (const n of [3, 5]) {
  test(`N=${n}: an instance commits when each message takes longer than the recovery timeout`, () => {
    const timeout = 10;
    // One round trip (16 ticks) outlasts the timeout; a Prepare-Accept recovery needs 32.
    const agreed = runSlow({ n, timeout, delay: 8, maxTicks: 5_000 });
    assert.ok(agreed !== undefined, 'every replica committed the instance within 5000 ticks');
    // The retries back off to at most 8 × (1 + distance) timeouts (plus jitter): agreement comes within a few.
    assert.ok(agreed < 100 * timeout, `committed everywhere at tick ${agreed}`);
  });
}

test('a fast network still commits before any recovery', () => {
  const agreed = runSlow({ n: 3, timeout: 10, delay: 2, maxTicks: 1_000 });
  assert.ok(agreed !== undefined && agreed < 10, `committed everywhere at tick ${agreed}`);
});
