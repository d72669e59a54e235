/**
 * Chaos (issue #7): a replica process SIGKILLed mid-batch while the consensus workload runs, and restarted from
 * its state directory later. The run must end with 0 lost and 0 duplicated decisions and both agents in agreement
 * (runConsensusScenario checks that). The other faults have files of their own here; see integration/README.md.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runConsensusScenario } from '../harness/consensus-run.ts';
import { decisions, workload } from './process-faults.ts';

test('SIGKILL a replica mid-batch, restart it later', { timeout: 420_000 }, async () => {
  const { logs } = await runConsensusScenario({
    ...workload,
    attemptTimeoutMs: 15_000,
    fault: async (chaos) => {
      await chaos.ordered(decisions(0.2));
      chaos.signal('replica-1', 'SIGKILL');
      await chaos.ordered(decisions(0.5));
      await chaos.restart('replica-1');
    },
  });
  // Started twice: the kill did land and the restart did run on Kafka again.
  assert.ok(logs.filter((l) => l.startsWith('[replica-1]') && l.includes('running on kafka')).length >= 2);
});
