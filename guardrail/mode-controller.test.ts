/**
 * The mode controller on the in-process guardrail: a policy decision becomes a compare-and-swap of the config,
 * logged with its reason and counted; a lost race re-reads and re-decides.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from './clock.ts';
import { MemoryCounters } from './counters.ts';
import { InProcessGuardrail } from './implementations.ts';
import { InMemoryEtcd } from './kv-memory.ts';
import { addMembers, initCluster, setMode } from './membership.ts';
import { ModeController } from './mode-controller.ts';
import type { Guardrail } from './types.ts';

const policy = { threshold: 0.8, margin: 0.1, windowMs: 1_000 };
const abc = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];

async function setup() {
  const store = new InMemoryEtcd(new ManualClock(0));
  const g = new InProcessGuardrail({ store, cluster: 'm' });
  await initCluster(g, abc);
  const counters = new MemoryCounters();
  const lines: string[] = [];
  return { store, g, counters, lines };
}

describe('mode controller', () => {
  test('a sustained low fast-path ratio switches to slow: one CAS, logged with its reason, counted', async () => {
    const { g, counters, lines } = await setup();
    const controller = new ModeController({ guardrail: g, policy, counters, log: (l) => lines.push(l) });
    const low = { fastAttempts: 10, fastSuccesses: 5, liveMembers: 3 };
    assert.equal(await controller.observe({ atMs: 0, ...low }), undefined);
    const change = await controller.observe({ atMs: 1_000, ...low });
    assert.ok(change);
    assert.deepEqual([change.from, change.to, change.cause], ['fast', 'slow', 'low-fast-path-ratio']);
    const now = (await g.readConfig())!;
    assert.deepEqual(now, change.config);
    assert.equal(now.config.mode, 'slow');
    assert.equal(now.config.epoch, 1, 'a mode switch is not a membership change');
    const [last] = await g.history({ limit: 1 });
    assert.deepEqual([last?.actor, last?.reason], ['mode-controller', `low-fast-path-ratio: ${change.reason}`]);
    assert.equal(counters.get('guardrail_mode_switches_total', { to: 'slow', cause: 'low-fast-path-ratio' }), 1);
    assert.deepEqual(lines, [
      `guardrail m: mode fast -> slow at config revision ${now.revision} (low-fast-path-ratio: ${change.reason})`,
    ]);
    const healthy = { fastAttempts: 10, fastSuccesses: 10, liveMembers: 3 };
    assert.equal(await controller.observe({ atMs: 1_500, ...healthy }), undefined);
    assert.equal((await controller.observe({ atMs: 2_500, ...healthy }))?.to, 'fast');
    assert.equal(counters.get('guardrail_mode_switches_total'), 2);
    await g.close();
  });

  test('without a live count given, it counts configured members whose lease is live', async () => {
    const { g, counters } = await setup();
    const controller = new ModeController({ guardrail: g, policy, counters, log: () => undefined });
    await g.registerMember('a', { ttlS: 5 });
    await g.registerMember('stranger', { ttlS: 5 }); // live but not a member: does not count
    const change = await controller.observe({ atMs: 0, fastAttempts: 0, fastSuccesses: 0 });
    assert.deepEqual([change?.to, change?.cause], ['slow', 'members-down']);
    assert.match(change!.reason, /^1 live members, fewer than the fast quorum of 2$/);
    await g.close();
  });

  test('a lost race re-reads and writes against the new config; a race that already switched is not re-done', async () => {
    const { store, g, counters } = await setup();
    const rival = new InProcessGuardrail({ store, cluster: 'm' });
    let races = 1;
    // Before the controller's first write lands, a rival changes the membership (N=5, fast quorum 3).
    const racing: Guardrail = Object.assign(Object.create(g) as Guardrail, {
      updateConfig: async (...args: Parameters<Guardrail['updateConfig']>) => {
        if (races-- > 0) await addMembers(rival, [{ id: 'd' }, { id: 'e' }]);
        return g.updateConfig(...args);
      },
    });
    const controller = new ModeController({ guardrail: racing, policy, counters, log: () => undefined });
    const change = await controller.observe({ atMs: 0, fastAttempts: 1, fastSuccesses: 1, liveMembers: 1 });
    assert.equal(change?.to, 'slow');
    assert.match(change!.reason, /fewer than the fast quorum of 3/, 'decided again against the new config');
    assert.deepEqual(
      (await g.history()).map((h) => h.reason.split(':')[0]),
      ['init with a, b, c', 'add d, e', 'members-down'],
    );

    await setMode(rival, 'fast');
    races = 1;
    const rivalSwitch = Object.assign(Object.create(g) as Guardrail, {
      updateConfig: async (...args: Parameters<Guardrail['updateConfig']>) => {
        if (races-- > 0) await setMode(rival, 'slow');
        return g.updateConfig(...args);
      },
    });
    const second = new ModeController({ guardrail: rivalSwitch, policy, counters, log: () => undefined });
    assert.equal(await second.observe({ atMs: 0, fastAttempts: 1, fastSuccesses: 1, liveMembers: 1 }), undefined);
    assert.equal(counters.get('guardrail_mode_switches_total'), 1, 'only the controller’s own switch is counted');
    await Promise.all([g.close(), rival.close()]);
  });
});
