/**
 * Issue #5 acceptance on the shared real 3-member etcd (non-destructive; the leader kill runs on a private
 * cluster in guardrail-leader-kill.test.ts): concurrent add-member calls, lease expiry seen by the other
 * replicas, and stale-epoch messages rejected and counted, each with several replicas as separate etcd clients.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { barrierOnRead, EventLog, within } from '../../guardrail/contract.ts';
import {
  addMembers,
  EtcdGuardrail,
  followEpoch,
  GuardrailConflictError,
  guardrailKeys,
  initCluster,
  MemoryCounters,
  rejoinUnderNewId,
  type LivenessEvent,
  type VersionedConfig,
} from '../../guardrail/index.ts';
import { testStack, uniqueName } from '../harness/index.ts';

let endpoints: string[] = [];
let admin: Etcd3 | undefined;
const clusters: string[] = [];

before(async () => {
  endpoints = (await testStack()).etcdEndpoints;
  admin = new Etcd3({ hosts: endpoints, dialTimeout: 3_000 });
});

after(async () => {
  for (const cluster of clusters) await admin?.delete().prefix(guardrailKeys(cluster).root);
  admin?.close();
});

function replicas(count: number): { cluster: string; guardrails: EtcdGuardrail[] } {
  const cluster = uniqueName('accept');
  clusters.push(cluster);
  const guardrails = Array.from(
    { length: count },
    () => new EtcdGuardrail({ endpoints, cluster, callDeadlineMs: 1_000 }),
  );
  return { cluster, guardrails };
}

const closeAll = (gs: EtcdGuardrail[]) => Promise.all(gs.map((g) => g.close()));

test('of eight concurrent add-member calls deciding on one config, exactly one wins; seven get a conflict', async () => {
  const { cluster, guardrails } = replicas(8);
  try {
    const created = await initCluster(guardrails[0]!, [{ id: 'r1' }, { id: 'r2' }, { id: 'r3' }]);
    const views = barrierOnRead(guardrails);
    const results = await Promise.allSettled(views.map((g, i) => addMembers(g, [{ id: `x${i}` }, { id: `y${i}` }])));
    const won = results.filter((r): r is PromiseFulfilledResult<VersionedConfig> => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(won.length, 1, 'exactly one add-member wins');
    const winner = won[0]!.value;
    for (const { reason } of lost) {
      assert.ok(reason instanceof GuardrailConflictError, String(reason));
      assert.deepEqual(
        [reason.code, reason.retriable, reason.key, reason.expectedRevision, reason.actualRevision],
        ['CONFLICT', false, guardrailKeys(cluster).config, created.revision, winner.revision],
      );
    }
    assert.equal(lost.length, 7);
    const now = await guardrails[1]!.readConfig();
    assert.deepEqual(now, winner);
    assert.deepEqual([now!.config.n, now!.config.epoch], [5, 2]);
    assert.deepEqual(
      (await guardrails[2]!.history()).map((h) => h.revision),
      [created.revision, winner.revision],
    );
  } finally {
    await closeAll(guardrails);
  }
});

test("a replica's lease expiry is seen by every other replica within the TTL", async (t) => {
  const ttlS = 2;
  const { guardrails } = replicas(3);
  try {
    await Promise.all(guardrails.map((g, i) => g.registerMember(`r${i + 1}`, { ttlS })));
    const logs = [new EventLog<LivenessEvent & { at: number }>(), new EventLog<LivenessEvent & { at: number }>()];
    const watches = await Promise.all(
      logs.map((log, i) => guardrails[i + 1]!.watchLiveness((e) => log.push({ ...e, at: Date.now() }))),
    );
    assert.ok(watches.every((w) => w.live().size === 3));
    const downs = logs.map((log) => log.until('r1 down', (e) => e.type === 'down' && e.id === 'r1', 15_000));
    const crashedAt = Date.now();
    await guardrails[0]!.close(); // keepalives stop without a revoke, as when the process dies
    const seen = (await Promise.all(downs)).map((e) => e.at - crashedAt);
    t.diagnostic(`r1's lease (TTL ${ttlS} s) expiry seen by r2 after ${seen[0]} ms, by r3 after ${seen[1]} ms`);
    // etcd's lessor checks for expired leases every 500 ms; the revoke then goes through Raft and the watch.
    for (const ms of seen) assert.ok(ms <= ttlS * 1000 + 1_000, `seen after ${ms} ms, beyond the ${ttlS} s TTL`);
    assert.deepEqual(
      watches.map((w) => [...w.live()].sort()),
      [
        ['r2', 'r3'],
        ['r2', 'r3'],
      ],
    );
    assert.deepEqual((await guardrails[1]!.liveMembers()).map((m) => m.id).sort(), ['r2', 'r3']);
  } finally {
    await closeAll(guardrails);
  }
});

test('after a replica rejoins under a new id, every other replica rejects and counts its stale-epoch messages', async () => {
  const { guardrails } = replicas(3);
  try {
    const [g1, g2, g3] = guardrails as [EtcdGuardrail, EtcdGuardrail, EtcdGuardrail];
    await initCluster(g1, [{ id: 'r1' }, { id: 'r2' }, { id: 'r3' }]);
    const counters = new MemoryCounters();
    const fences = await Promise.all([
      followEpoch(g1, counters, { replica: 'r1' }),
      followEpoch(g3, counters, { replica: 'r3' }),
    ]);
    assert.deepEqual(
      fences.map((f) => f.fence.epoch),
      [1, 1],
    );
    // r2 lost its disk: it comes back as a new member in a new epoch; whatever the old r2 still sends is stale.
    const rejoined = await rejoinUnderNewId(g2, 'r2');
    assert.equal(rejoined.newId, 'r2.e2');
    await within(Promise.all(fences.map((f) => f.fence.whenAtLeast(2))), 15_000, 'both fences at epoch 2');
    for (const { fence } of fences) {
      assert.equal(fence.admit(1, 'PreAcceptReply'), false);
      assert.equal(fence.admit(1, 'AcceptReply'), false);
      assert.equal(fence.admit(2, 'PreAccept'), true);
    }
    assert.equal(counters.get('guardrail_stale_epoch_rejections_total'), 4);
    assert.equal(counters.get('guardrail_stale_epoch_rejections_total', { replica: 'r3', kind: 'AcceptReply' }), 1);
    assert.deepEqual(
      fences.map((f) => f.fence.rejected),
      [2, 2],
    );
    await Promise.all(fences.map((f) => f.watch.close()));
  } finally {
    await closeAll(guardrails);
  }
});
