/**
 * Chaos (issue #7): the delay and jitter of network-netem.test.ts applied by the namespace's TCP forwarder instead
 * of the kernel; see network-delay.ts. It runs by default where the kernel cannot run netem (these machines), so
 * the delay scenario is part of every run there; where netem works it is the long variant (PARLEY_CHAOS_LONG=1).
 */
import { test } from 'node:test';
import { netemUnavailable } from '../harness/netns.ts';
import { delayedReplica } from './network-delay.ts';

const netemMissing = netemUnavailable();

test(
  'userspace delay and jitter between a replica (own network namespace) and the stack',
  {
    timeout: 420_000,
    skip:
      process.env['PARLEY_CHAOS_LONG'] === '1' || netemMissing
        ? false
        : 'netem runs the delay scenario here: set PARLEY_CHAOS_LONG=1 to run this variant too',
  },
  async (t) => {
    if (netemMissing) t.diagnostic(`instead of tc netem, which this kernel cannot run: ${netemMissing}`);
    await delayedReplica(t, 'userspace');
  },
);
