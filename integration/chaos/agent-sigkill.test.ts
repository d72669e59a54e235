/**
 * Chaos (issue #7): an agent process SIGKILLed while the consensus workload runs, and restarted later: it resumes
 * from its committed offsets and projection, and must apply every decision exactly once, in the order the other
 * agent did (runConsensusScenario checks that). The other faults have files of their own here; see
 * integration/README.md.
 */
import { test } from 'node:test';
import { runConsensusScenario } from '../harness/consensus-run.ts';
import { decisions, workload } from './process-faults.ts';

test('SIGKILL an agent, restart it: it applies every decision once', { timeout: 420_000 }, async () => {
  await runConsensusScenario({
    ...workload,
    fault: async (chaos) => {
      await chaos.ordered(decisions(0.3));
      chaos.signal('agent-1', 'SIGKILL');
      await chaos.ordered(decisions(0.6));
      await chaos.restart('agent-1');
    },
  });
});
