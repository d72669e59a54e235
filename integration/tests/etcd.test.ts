/**
 * The etcd primitives the guardrail is built on, against the real 3-member cluster: compare-and-swap on a
 * key's mod revision (DESIGN.md §4) and a lease whose expiry deletes its key (member liveness).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { testStack, uniqueName } from '../harness/index.ts';

let client: Etcd3;
const prefix = `/parley-test/${uniqueName('etcd')}/`;

before(async () => {
  const { etcdEndpoints } = await testStack();
  client = new Etcd3({ hosts: etcdEndpoints, dialTimeout: 3_000 });
});

after(async () => {
  await client.delete().prefix(prefix);
  client.close();
});

test('the cluster has three started members and answers through every endpoint', async () => {
  const { members } = await client.cluster.memberList({});
  assert.equal(members.length, 3);
  assert.ok(
    members.every((m) => m.name && m.clientURLs.length > 0),
    'every member is started and serving',
  );
  const { etcdEndpoints } = await testStack();
  for (const endpoint of etcdEndpoints) {
    const one = new Etcd3({ hosts: endpoint, dialTimeout: 3_000 });
    try {
      const status = await one.maintenance.status();
      assert.ok(Number(status.leader) !== 0, `${endpoint} knows a leader`);
    } finally {
      one.close();
    }
  }
});

test('compare-and-swap on the mod revision: the first writer wins, a stale writer changes nothing', async () => {
  const key = `${prefix}config`;
  await client.put(key).value('v1');
  const [kv] = (await client.get(key).exec()).kvs;
  assert.ok(kv);
  const revision = kv.mod_revision;

  const first = await client.if(key, 'Mod', '==', revision).then(client.put(key).value('v2')).commit();
  assert.equal(first.succeeded, true);

  // A second writer that read the same revision loses: the key moved on, so its compare fails.
  const stale = await client.if(key, 'Mod', '==', revision).then(client.put(key).value('v3')).commit();
  assert.equal(stale.succeeded, false);
  assert.equal(await client.get(key).string(), 'v2');

  const [updated] = (await client.get(key).exec()).kvs;
  assert.ok(updated && BigInt(updated.mod_revision) > BigInt(revision), 'a successful swap bumps the mod revision');
});

test('a lease that is not kept alive expires and deletes its key', async () => {
  const key = `${prefix}members/replica-1`;
  const ttlSeconds = 2; // etcd's minimum TTL with a 1 s election timeout is 1.5 s, rounded up
  const lease = client.lease(ttlSeconds, { autoKeepAlive: false });
  const granted = Date.now();
  await lease.put(key).value('alive');
  assert.equal(await client.get(key).string(), 'alive');

  const watcher = await client.watch().key(key).create();
  const deleted = new Promise<number>((resolve) => watcher.on('delete', () => resolve(Date.now())));
  const deletedAt = await deleted;
  await watcher.cancel();

  assert.equal(await client.get(key).string(), null, 'the key is gone after the lease expired');
  const elapsedS = (deletedAt - granted) / 1000;
  // etcd may expire a lease late (its lessor checks every 500 ms) but never before its TTL.
  assert.ok(elapsedS >= ttlSeconds - 0.1, `deleted after ${elapsedS}s, before the ${ttlSeconds}s TTL`);
  await lease.revoke().catch(() => undefined);
});
