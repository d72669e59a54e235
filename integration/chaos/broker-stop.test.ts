/**
 * Chaos (issue #7), a long variant (PARLEY_CHAOS_LONG=1): stop the Kafka broker (a private one) cleanly with
 * SIGTERM mid-workload and start it again; nothing lost or doubled, agents agree. See broker-chaos.ts.
 */
import { brokerRestartTest } from './broker-chaos.ts';

brokerRestartTest(
  'stop the Kafka broker cleanly (SIGTERM) mid-workload, start it again',
  'SIGTERM',
  process.env['PARLEY_CHAOS_LONG'] === '1' ? false : 'a long variant: set PARLEY_CHAOS_LONG=1 to run it',
);
