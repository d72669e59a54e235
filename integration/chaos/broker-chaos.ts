/**
 * Chaos (issue #7): the Kafka broker goes away while the consensus workload runs, and comes back on the same
 * config and data folder — SIGKILL (a crash, broker-restart.test.ts) or SIGTERM (a controlled shutdown,
 * broker-stop.test.ts). The workload must end with 0 lost and 0 duplicated decisions and both agents in agreement
 * (runConsensusScenario checks that). Replica and agent processes may exit on their own errors while the broker
 * is away: the scenario's supervisor starts them again, as systemd or Kubernetes would; the diagnostics list what
 * each process did, and how many proposals the application had to propose again (same id) because a send was
 * refused while the broker was down.
 *
 * The broker is a PRIVATE one per test (integration/harness/private-kafka.ts: the native stack's own Kafka service
 * on free ports in a temp folder), never the shared broker, which the other test file running at the same time
 * uses. The registry and etcd are the shared stack's.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { runConsensusScenario } from '../harness/consensus-run.ts';
import { testStack } from '../harness/index.ts';
import { startPrivateKafka, type PrivateKafka } from '../harness/private-kafka.ts';
import { Timeline } from './timeline.ts';

const total = Number(process.env['PARLEY_CHAOS_PROPOSALS'] ?? 1500);
const decisions = (share: number) => Math.floor(total * share);

/** Defines the test: a private broker is started for it, restarted mid-workload with `signal`, and removed. */
export function brokerRestartTest(name: string, signal: 'SIGKILL' | 'SIGTERM', skip: string | false = false): void {
  test(name, { timeout: 420_000, skip }, async (t) => {
    const broker = await startPrivateKafka();
    try {
      await restartMidWorkload(t, broker, signal);
    } finally {
      await broker.close();
    }
  });
}

async function restartMidWorkload(t: TestContext, broker: PrivateKafka, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
  const timeline = new Timeline([/ failed: |dead-lettered|running on kafka/]);
  let logs: string[] = [];
  let logsAtStop = 0;
  try {
    await runConsensusScenario({
      replicas: 3,
      conflict: 0.02,
      total,
      attemptTimeoutMs: 15_000,
      endpoints: { ...(await testStack()), kafkaBrokers: broker.brokers },
      onOutput: timeline.onOutput,
      // A send refused while the broker is away fails that propose(): the application proposes again, same id.
      repropose: { attempts: 10, backoffMs: 2_000 },
      // Fail within the file's 5-minute budget, with the diagnostics, rather than be cancelled without them.
      settleTimeoutMs: 90_000,
      fault: async (chaos) => {
        logs = chaos.logs;
        await chaos.ordered(decisions(0.2));
        logsAtStop = chaos.logs.length;
        timeline.mark(`${signal} to the broker (pid ${broker.process()?.pid})`);
        await broker.kill(signal);
        timeline.mark('the broker process is gone');
        const ms = await broker.start();
        timeline.mark(`the broker is healthy again (started in ${ms} ms, pid ${broker.process()?.pid})`);
        await chaos.ordered(decisions(0.6));
        timeline.mark(`${decisions(0.6)} decisions ordered`);
      },
    });
  } finally {
    // What happened, whether the checks passed or not.
    for (const line of timeline.events) t.diagnostic(line);
    const restarts = logs.slice(logsAtStop).filter((l) => l.startsWith('[harness]'));
    t.diagnostic(
      restarts.length === 0
        ? 'no process exited after the fault: every one rode the outage out'
        : `after the fault, processes exited and were started again: ${restarts.map((l) => l.trim()).join('; ')}`,
    );
    const reproposed = logs.filter((l) => l.startsWith('[workload]'));
    t.diagnostic(
      `proposals the application proposed again: ${reproposed.length}` +
        (reproposed[0] ? `, e.g. ${reproposed[0].trim()}` : ''),
    );
  }
  assert.ok(broker.process(), 'the broker runs at the end');
}
