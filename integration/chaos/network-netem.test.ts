/**
 * Chaos (issue #7): `tc netem` delay and jitter between replica-1 (in its own network namespace) and the stack,
 * mid-workload; see network-delay.ts. The host kernel's netem on a veth pair where it has one. These machines'
 * kernel is built without CONFIG_NET_SCH_NETEM and without module support, so there the netem is a User-mode Linux
 * guest's (Debian's user-mode-linux, whose kernel has sch_netem), routing between the two namespaces. Where
 * neither works the test is skipped with both reasons, visible in every report; PARLEY_CHAOS_REQUIRE_NETEM=1
 * makes it fail instead. network-userspace.test.ts applies the same delay with a forwarder (PARLEY_CHAOS_LONG=1).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { umlNetemUnavailable } from '../harness/netem-router.ts';
import { netemUnavailable } from '../harness/netns.ts';
import { delayedReplica } from './network-delay.ts';

// Checked first, before anything starts.
const hostMissing = netemUnavailable();
const guestMissing = hostMissing ? await umlNetemUnavailable() : undefined;
const missing =
  hostMissing && guestMissing ? `${hostMissing}\nnor in a User-mode Linux guest: ${guestMissing}` : undefined;
const required = process.env['PARLEY_CHAOS_REQUIRE_NETEM'] === '1';

test(
  'tc netem delay and jitter between a replica (own network namespace) and the stack',
  { timeout: 420_000, skip: missing && !required ? `this machine cannot run tc netem: ${missing}` : false },
  async (t) => {
    if (missing) assert.fail(missing);
    if (hostMissing)
      t.diagnostic(
        `netem in a User-mode Linux guest: the host kernel has none (${hostMissing.split('\n')[1]?.trim()})`,
      );
    await delayedReplica(t, hostMissing ? 'netem-guest' : 'netem');
  },
);
