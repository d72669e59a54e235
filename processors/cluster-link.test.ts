/**
 * ClusterLink on the in-process guardrail with a manual clock: the config is created once and checked against
 * the topology, a hosted replica leads only on its own live lease (after a crashed owner's lease expired), and
 * liveness follows the members' leases.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InMemoryEtcd, InProcessGuardrail, ManualClock, setMode } from '../guardrail/index.ts';
import { ClusterLink } from './cluster-link.ts';

const quiet = () => undefined;

/** Runs the event loop until `done()` holds; fails after `turns` turns instead of hanging. */
async function until(done: () => boolean, what: string, turns = 2000): Promise<void> {
  for (let i = 0; i < turns && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 1));
  assert.ok(done(), what);
}

function cluster() {
  const clock = new ManualClock(0);
  const store = new InMemoryEtcd(clock);
  const open = () => new InProcessGuardrail({ store, cluster: 'c1' });
  return { clock, open };
}

test('connect creates the config with r0..r<n-1> once, and follows later changes', async () => {
  const { open } = cluster();
  const a = await ClusterLink.connect({ guardrail: open(), replicas: 3, log: quiet });
  const b = await ClusterLink.connect({ guardrail: open(), replicas: 3, log: quiet });
  assert.deepEqual(
    a.config().members.map((m) => m.id),
    ['r0', 'r1', 'r2'],
  );
  assert.equal(b.config().epoch, 1, 'the second process found the config: no second creation');
  await setMode(open(), 'slow', { reason: 'test' });
  await until(() => a.config().mode === 'slow' && b.config().mode === 'slow', 'both links see the switch');
  await a.close();
  await b.close();
});

test('a topology whose replicas differ from the guardrail membership is refused, naming both', async () => {
  const { open } = cluster();
  const first = await ClusterLink.connect({ guardrail: open(), replicas: 3, log: quiet });
  await assert.rejects(
    ClusterLink.connect({ guardrail: open(), replicas: 5, log: quiet }),
    /guardrail cluster c1: its config \(revision \d+\) has members r0, r1, r2, but the topology runs r0, r1, r2, r3, r4/,
  );
  await first.close();
});

test('a replica leads only on its own lease: after its crashed owner’s lease expires, not before', async () => {
  const { clock, open } = cluster();
  const crashed = open();
  const old = await ClusterLink.connect({ guardrail: crashed, replicas: 3, log: quiet, ttlS: 2 });
  const before = old.lead('r1');
  await until(() => before.canLead, 'the first owner registered r1');
  await crashed.close(); // a crash: no release, the lease lives until its TTL

  const link = await ClusterLink.connect({ guardrail: open(), replicas: 3, log: quiet, ttlS: 2, registerRetryMs: 1 });
  assert.equal(link.isLive('r1'), true, 'the crashed owner still holds r1');
  const lease = link.lead('r1');
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 1));
  assert.equal(lease.canLead, false, 'r1 is still leased by the crashed owner: the new owner waits');
  clock.advance(2_001);
  await until(() => lease.canLead, 'registered once the old lease expired');
  assert.equal(link.isLive('r1'), true);

  await lease.release();
  assert.equal(lease.canLead, false);
  await until(() => !link.isLive('r1'), 'released: seen down at once, without waiting for the TTL');
  await link.close();
});
