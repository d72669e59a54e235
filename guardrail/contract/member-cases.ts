/**
 * Contract cases on history, member leases, liveness, canLead, rejoining and epoch fencing.
 */
import assert from 'node:assert/strict';
import { MemoryCounters } from '../counters.ts';
import { GuardrailConflictError } from '../errors.ts';
import { followEpoch } from '../fence.ts';
import { guardrailKeys } from '../keys.ts';
import { addMembers, initCluster, rejoinUnderNewId, removeMembers, setMode } from '../membership.ts';
import type { LivenessEvent } from '../types.ts';
import { EventLog, within, type GuardrailContractCase } from './harness.ts';

const abc = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];
const ttlS = 2; // etcd's minimum with a 1 s election timeout is 1.5 s, rounded up

export const memberCases: GuardrailContractCase[] = [
  {
    title: 'history: every change with its reason, actor and revisions, oldest first; trimmed to historyRetain',
    async run(ctx, cluster) {
      const g = await ctx.open(cluster, { historyRetain: 3 });
      try {
        const changes = [
          await initCluster(g, abc, { actor: 'test' }),
          await setMode(g, 'slow', { actor: 'test' }),
          await addMembers(g, [{ id: 'd' }, { id: 'e' }]),
        ];
        const three = await g.history();
        assert.deepEqual(
          three.map((h) => [h.revision, h.basedOn, h.reason, h.actor, h.config.epoch]),
          [
            [changes[0]!.revision, 0, 'init with a, b, c', 'test', 1],
            [changes[1]!.revision, changes[0]!.revision, 'set mode slow', 'test', 1],
            [changes[2]!.revision, changes[1]!.revision, 'add d, e', undefined, 2],
          ],
        );
        assert.deepEqual(three[2]!.config, changes[2]!.config);
        assert.deepEqual(
          (await g.history({ limit: 1 })).map((h) => h.revision),
          [changes[2]!.revision],
        );
        changes.push(await setMode(g, 'fast'), await removeMembers(g, ['d', 'e']));
        const kept = await g.history({ limit: 10 });
        assert.deepEqual(
          kept.map((h) => h.revision),
          changes.slice(2).map((c) => c.revision),
          'five changes with historyRetain 3 leave the newest three',
        );
      } finally {
        await g.close();
      }
    },
  },
  {
    title: 'members: a registration is live and exclusive; release is seen as down at once',
    async run(ctx, cluster) {
      const [g1, g2] = [await ctx.open(cluster), await ctx.open(cluster)];
      try {
        const log = new EventLog<LivenessEvent>();
        const watch = await g2.watchLiveness(log.push);
        assert.equal(watch.live().size, 0);
        const a = await g1.registerMember('a', { ttlS, address: 'a:9000' });
        assert.equal(a.canLead, true);
        await log.until('a up', (e) => e.type === 'up' && e.id === 'a', ctx.waitMs);
        const [record] = await g2.liveMembers();
        assert.deepEqual([record?.id, record?.address], ['a', 'a:9000']);
        const key = guardrailKeys(cluster).member('a');
        await assert.rejects(
          g2.registerMember('a', { ttlS }),
          (e) =>
            e instanceof GuardrailConflictError && e.key === key && e.expectedRevision === 0 && e.actualRevision > 0,
        );
        await a.release();
        assert.equal(a.canLead, false);
        await log.until('a down', (e) => e.type === 'down' && e.id === 'a', ctx.waitMs);
        assert.deepEqual(await g2.liveMembers(), []);
        assert.deepEqual([...watch.live()], []);
      } finally {
        await Promise.all([g1.close(), g2.close()]);
      }
    },
  },
  {
    title: "members: a crashed replica's lease expiry is seen by the others within the TTL (+ expiry lateness)",
    async run(ctx, cluster) {
      const [member, observer] = [await ctx.open(cluster), await ctx.open(cluster)];
      try {
        await member.registerMember('a', { ttlS });
        const log = new EventLog<LivenessEvent & { at: number }>();
        const watch = await observer.watchLiveness((e) => log.push({ ...e, at: ctx.now() }));
        assert.ok(watch.live().has('a'));
        const down = log.until('a down', (e) => e.type === 'down' && e.id === 'a', ctx.waitMs);
        const crashedAt = ctx.now();
        await member.close(); // no revoke: keepalives just stop, as when the process dies
        await ctx.elapse(ttlS * 1000 + ctx.expiryLatenessMs);
        const seen = (await down).at - crashedAt;
        // The last keepalive was at most TTL/3 before the crash, and etcd never expires a lease early.
        assert.ok(seen >= (ttlS * 1000 * 2) / 3 - 50, `seen after ${seen} ms: before the lease could expire`);
        assert.ok(seen <= ttlS * 1000 + ctx.expiryLatenessMs + 250, `seen after ${seen} ms, beyond TTL ${ttlS}s`);
        await watch.close();
      } finally {
        await Promise.all([member.close(), observer.close()]);
      }
    },
  },
  {
    title: 'members: canLead turns false when the lease is lost and true again after re-registering',
    async run(ctx, cluster) {
      const [g, observer] = [await ctx.open(cluster), await ctx.open(cluster)];
      try {
        const session = await g.registerMember('b', { ttlS });
        const changes = new EventLog<[boolean, string]>();
        session.onCanLeadChange((canLead, reason) => changes.push([canLead, reason]));
        const lost = changes.until('canLead false', ([c]) => !c, ctx.waitMs);
        await ctx.revokeLeaseOf(guardrailKeys(cluster).member('b'));
        await ctx.elapse(ttlS * 1000); // the owner learns at its next keepalive, TTL/3 later
        const [, reason] = await lost;
        assert.match(reason, /lost|revoked|expired/);
        assert.equal(session.canLead, false);
        assert.deepEqual(await observer.liveMembers(), []);
        await session.reregister();
        assert.equal(session.canLead, true);
        assert.deepEqual(
          (await observer.liveMembers()).map((m) => m.id),
          ['b'],
        );
        assert.deepEqual(
          changes.events.map(([c]) => c),
          [false, true],
        );
      } finally {
        await Promise.all([g.close(), observer.close()]);
      }
    },
  },
  {
    title: 'rejoin: a replica that lost its state comes back under a fresh id and a higher epoch',
    async run(ctx, cluster) {
      const g = await ctx.open(cluster);
      try {
        await initCluster(g, abc);
        const first = await rejoinUnderNewId(g, 'b');
        assert.equal(first.newId, 'b.e2');
        assert.deepEqual(
          [first.config.epoch, first.config.n, first.config.members.map((m) => m.id)],
          [2, 3, ['a', 'b.e2', 'c']],
        );
        const second = await rejoinUnderNewId(g, first.newId);
        assert.equal(second.newId, 'b.e3', 'never an id used before');
        const session = await g.registerMember(second.newId, { ttlS });
        assert.equal(session.canLead, true);
        await session.release();
      } finally {
        await g.close();
      }
    },
  },
  {
    title: 'fencing: after a membership change, messages of the older epoch are rejected and counted',
    async run(ctx, cluster) {
      const g = await ctx.open(cluster);
      try {
        await initCluster(g, abc);
        const counters = new MemoryCounters();
        const { fence, watch } = await followEpoch(g, counters, { replica: 'a' });
        assert.equal(fence.epoch, 1);
        assert.equal(fence.admit(1, 'PreAccept'), true);
        await addMembers(g, [{ id: 'd' }, { id: 'e' }]);
        await within(fence.whenAtLeast(2), ctx.waitMs, 'the fence reaching epoch 2');
        assert.equal(fence.admit(1, 'PreAccept'), false);
        assert.equal(fence.admit(1, 'Accept'), false);
        assert.equal(fence.admit(2, 'Accept'), true);
        assert.equal(fence.check(3), 'ahead');
        assert.equal(fence.rejected, 2);
        assert.equal(counters.get('guardrail_stale_epoch_rejections_total', { replica: 'a', kind: 'PreAccept' }), 1);
        assert.equal(counters.get('guardrail_stale_epoch_rejections_total'), 2);
        await watch.close();
      } finally {
        await g.close();
      }
    },
  },
];
