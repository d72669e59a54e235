/**
 * Chaos (issue #7): `tc netem` delay and jitter on a veth pair between replica-1 (in its own network namespace)
 * and the stack, mid-workload; see network-delay.ts. Where the kernel has no sch_netem (these machines: the kernel
 * is built without CONFIG_NET_SCH_NETEM and without module support) the test is skipped with that evidence as its
 * reason, visible in every report; PARLEY_CHAOS_REQUIRE_NETEM=1 makes it fail instead. network-userspace.test.ts
 * applies the same delay and jitter with a forwarder in the namespace.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { netemUnavailable } from '../harness/netns.ts';
import { delayedReplica } from './network-delay.ts';

// Checked first, before anything starts.
const missing = netemUnavailable();
const required = process.env['PARLEY_CHAOS_REQUIRE_NETEM'] === '1';

test(
  'tc netem delay and jitter between a replica (own network namespace) and the stack',
  { timeout: 420_000, skip: missing && !required ? `this kernel cannot run tc netem: ${missing}` : false },
  async (t) => {
    if (missing) assert.fail(missing);
    await delayedReplica(t, 'netem');
  },
);
