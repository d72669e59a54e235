/**
 * The in-process guardrail passes the same contract as the etcd one, on a manual clock: lease expiry happens
 * when the test moves time, not when the machine gets round to it. Plus what only a manual clock can show.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from './clock.ts';
import { guardrailContract, type GuardrailContractContext } from './contract.ts';
import { InProcessGuardrail } from './implementations.ts';
import { InMemoryEtcd } from './kv-memory.ts';
import { initCluster } from './membership.ts';
import type { LivenessEvent } from './types.ts';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function context(clock = new ManualClock(Date.parse('2025-01-01T00:00:00Z'))): GuardrailContractContext {
  const store = new InMemoryEtcd(clock);
  return {
    open: async (cluster, options) => new InProcessGuardrail({ store, cluster, ...options }),
    putRaw: async (key, value) => void store.txn([], [{ type: 'put', key, value }]),
    getRaw: async (key) => store.get(key).entries[0]?.value,
    revokeLeaseOf: async (key) => {
      const lease = store.leaseOf(key);
      assert.ok(lease, `${key} is on a lease`);
      store.revokeLease(lease);
    },
    // Small steps with the event loop flushed between them, so every event is stamped with its own instant.
    elapse: async (ms) => {
      for (let done = 0; done < ms; done += 50) {
        clock.advance(Math.min(50, ms - done));
        await flush();
      }
    },
    now: () => clock.now(),
    expiryLatenessMs: 0,
    waitMs: 2_000,
  };
}

guardrailContract('in-process', () => context());

describe('in-process guardrail on a manual clock', () => {
  test('keepalives hold a lease across many TTLs; it expires exactly one TTL after they stop', async () => {
    const clock = new ManualClock(0);
    const store = new InMemoryEtcd(clock);
    const member = new InProcessGuardrail({ store, cluster: 'c' });
    const observer = new InProcessGuardrail({ store, cluster: 'c' });
    const events: (LivenessEvent & { at: number })[] = [];
    await member.registerMember('a', { ttlS: 3 });
    await observer.watchLiveness((e) => events.push({ ...e, at: clock.now() }));
    for (let i = 0; i < 100; i++) {
      clock.advance(1_000);
      await flush();
    }
    assert.equal(events.length, 0, 'kept alive for 100 s with a 3 s TTL');
    assert.deepEqual(
      (await observer.liveMembers()).map((m) => m.id),
      ['a'],
    );
    const lastKeepalive = 100_000; // keepalives every 1000 ms (TTL/3) since t=0, the last at t=100 s
    await member.close();
    for (let i = 0; i < 40; i++) {
      clock.advance(100);
      await flush();
    }
    assert.equal(events.length, 1);
    assert.deepEqual([events[0]!.type, events[0]!.id, events[0]!.at], ['down', 'a', lastKeepalive + 3_000]);
    await observer.close();
  });

  test('two stores with the same seed of operations end in the same revisions (no hidden nondeterminism)', async () => {
    async function run() {
      const clock = new ManualClock(0);
      const g = new InProcessGuardrail({ store: new InMemoryEtcd(clock), cluster: 'c' });
      const created = await initCluster(g, [{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
      const session = await g.registerMember('a', { ttlS: 1 });
      clock.advance(10_000);
      await session.release();
      const result = [created.revision, g.store.currentRevision(), (await g.history()).map((h) => h.reason)];
      await g.close();
      return result;
    }
    assert.deepEqual(await run(), await run());
  });

  test('a watch from an old revision replays what it missed, in order', async () => {
    const store = new InMemoryEtcd(new ManualClock(0));
    const start = store.currentRevision() + 1;
    for (const v of ['1', '2', '3']) store.txn([], [{ type: 'put', key: 'k', value: v }]);
    const seen: string[] = [];
    const cancel = store.watch('k', false, start + 1, {
      onEvents: (es) => seen.push(...es.map((e) => e.value)),
      onError: assert.fail,
    });
    await flush();
    store.txn([], [{ type: 'put', key: 'k', value: '4' }]);
    await flush();
    cancel();
    assert.deepEqual(seen, ['2', '3', '4']);
  });
});
