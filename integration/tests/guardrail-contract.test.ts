/**
 * The etcd guardrail passes the guardrail contract (guardrail/contract.ts) on the real 3-member etcd: the same
 * tests the in-process guardrail passes, in real time. Every case uses its own cluster name and deletes it after.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { Etcd3 } from 'etcd3';
import { guardrailContract } from '../../guardrail/contract.ts';
import { EtcdGuardrail } from '../../guardrail/index.ts';
import { testStack } from '../harness/index.ts';

let endpoints: string[] = [];
let admin: Etcd3 | undefined;

before(async () => {
  endpoints = (await testStack()).etcdEndpoints;
  admin = new Etcd3({ hosts: endpoints, dialTimeout: 3_000 });
});

after(() => admin?.close());

guardrailContract(
  'etcd',
  () => ({
    open: async (cluster, options) => new EtcdGuardrail({ endpoints, cluster, callDeadlineMs: 1_000, ...options }),
    putRaw: async (key, value) => void (await admin!.put(key).value(value)),
    getRaw: async (key) => (await admin!.get(key).string()) ?? undefined,
    revokeLeaseOf: async (key) => {
      const [kv] = (await admin!.get(key).exec()).kvs;
      assert.ok(kv && kv.lease !== '0', `${key} is on a lease`);
      await admin!.leaseClient.leaseRevoke({ ID: kv.lease });
    },
    elapse: async () => undefined, // real time passes by itself; the case waits on the event
    now: () => Date.now(),
    // etcd's lessor looks for expired leases every 500 ms; the revocation then goes through Raft and the watch.
    expiryLatenessMs: 1_000,
    waitMs: 15_000,
  }),
  { cleanup: async (cluster) => void (await admin!.delete().prefix(`/parley/${cluster}/`)) },
);
