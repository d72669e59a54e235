/**
 * Chaos (issue #7), a long variant (PARLEY_CHAOS_LONG=1): the delay and jitter of network-netem.test.ts applied
 * by the namespace's TCP forwarder instead of a kernel's netem, so it needs no kernel support; see network-delay.ts.
 */
import { test } from 'node:test';
import { delayedReplica } from './network-delay.ts';

test(
  'userspace delay and jitter between a replica (own network namespace) and the stack',
  {
    timeout: 420_000,
    skip: process.env['PARLEY_CHAOS_LONG'] === '1' ? false : 'a long variant: set PARLEY_CHAOS_LONG=1 to run it',
  },
  async (t) => {
    await delayedReplica(t, 'userspace');
  },
);
