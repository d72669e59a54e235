/**
 * Chaos (issue #7): a replica process frozen with SIGSTOP while the consensus workload runs, and thawed with
 * SIGCONT later: its session and leases lapse while it is frozen, and it must find its feet again when thawed.
 * The run must end with 0 lost and 0 duplicated decisions and both agents in agreement (runConsensusScenario
 * checks that). The other faults have files of their own here; see integration/README.md.
 */
import { test } from 'node:test';
import { runConsensusScenario } from '../harness/consensus-run.ts';
import { decisions, workload } from './process-faults.ts';

test('SIGSTOP a replica, SIGCONT it later', { timeout: 420_000 }, async () => {
  await runConsensusScenario({
    ...workload,
    attemptTimeoutMs: 15_000,
    fault: async (chaos) => {
      await chaos.ordered(decisions(0.2));
      chaos.signal('replica-2', 'SIGSTOP');
      await chaos.ordered(decisions(0.5));
      chaos.signal('replica-2', 'SIGCONT');
    },
  });
});
