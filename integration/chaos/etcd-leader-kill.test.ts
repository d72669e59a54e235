/**
 * Chaos (issue #7): the etcd leader is SIGKILLed while the consensus workload runs, and restarted on its data
 * folder later. The replica processes follow the guardrail in that etcd (epoch, mode, one lease per replica, the
 * mode controller); a guardrail outage must not crash them, and the workload must end with 0 lost and 0 duplicated
 * decisions and both agents in agreement (runConsensusScenario checks that).
 *
 * The etcd is a PRIVATE 3-member cluster (integration/harness/etcd-cluster.ts: the stack's etcd binary and
 * timings, free loopback ports), never the shared stack's: `npm test` runs two files at once, and killing the
 * shared leader would hit the other file's guardrail. Kafka and the registry are the shared stack's.
 */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { EtcdGuardrail } from '../../guardrail/index.ts';
import { runConsensusScenario } from '../harness/consensus-run.ts';
import { startEtcdCluster } from '../harness/etcd-cluster.ts';
import { eventually, testStack } from '../harness/index.ts';
import { watchdog } from '../harness/watchdog.ts';
import { Timeline } from './timeline.ts';

const total = Number(process.env['PARLEY_CHAOS_PROPOSALS'] ?? 1500);
const decisions = (share: number) => Math.floor(total * share);
const replicas = 3;

test(
  'SIGKILL the etcd leader mid-workload, restart it: replicas keep running, nothing lost or doubled',
  { timeout: 420_000 },
  async (t) => {
    const etcd = await startEtcdCluster();
    // A cancelled test file runs no cleanup: the watchdog then kills the members and removes their folder.
    const guard = watchdog({ dir: dirname(etcd.members[0]!.pidFile) });
    // The replicas' guardrail lines (leases lost and taken again, mode switches) and any failure.
    const timeline = new Timeline([
      /guardrail cluster .*(lead|regist|unavailable|deadline)/i,
      /guardrail \S+: mode/,
      / failed: |dead-lettered/,
    ]);
    let logs: string[] = [];
    let logsAtKill: number | undefined;
    let cluster: string | undefined;
    try {
      await runConsensusScenario({
        replicas,
        conflict: 0.02,
        total,
        attemptTimeoutMs: 15_000,
        endpoints: { ...(await testStack()), etcdEndpoints: etcd.endpoints },
        onOutput: timeline.onOutput,
        fault: async (chaos) => {
          logs = chaos.logs;
          await chaos.ordered(decisions(0.2));
          cluster = chaos.logs.join('').match(/guardrail cluster (\S+) in etcd/)?.[1];
          const leader = await etcd.leader();
          logsAtKill = chaos.logs.length;
          await etcd.kill(leader);
          timeline.mark(`SIGKILLed ${leader.name}, the etcd leader`);
          // A new leader among the two left: asked of every running member until one says it leads.
          const next = await eventually(
            'a new etcd leader',
            () => etcd.leader().catch(() => undefined),
            (m) => m !== undefined,
            15_000,
          );
          timeline.mark(`${next!.name} is the new leader`);
          await chaos.ordered(decisions(0.5));
          for (let i = 0; i < replicas; i++) {
            assert.ok(chaos.running(`replica-${i}`), `replica-${i} runs while ${leader.name} is down`);
          }
          timeline.mark(`restarting ${leader.name} on its data folder`);
          await etcd.restart(leader);
          timeline.mark(`${leader.name} is healthy again`);
          await everyReplicaLeads(etcd.endpoints, cluster, timeline);
        },
      });
    } finally {
      // What happened, whether the checks passed or not.
      if (cluster) timeline.mark(`guardrail history: ${await historyOf(etcd.endpoints, cluster)}`);
      for (const line of timeline.events) t.diagnostic(line);
      const before = logs.slice(0, logsAtKill ?? 0).filter((l) => l.startsWith('[harness]'));
      if (before.length > 0) t.diagnostic(`before the fault (not counted): ${before.join('').trim()}`);
      await etcd.stop();
      guard.disarm();
    }
    // From the kill on, no process may have exited or failed: a guardrail outage must not crash anything.
    assert.deepEqual(
      logs.slice(logsAtKill).filter((l) => l.startsWith('[harness]')),
      [],
      'no replica or agent process exited during the etcd outage',
    );
    assert.deepEqual(
      timeline.matching(/ failed: |dead-lettered/, /SIGKILLed/),
      [],
      'no process reported a failure from the kill on',
    );
  },
);

/** Every replica holds a live lease in etcd again, and its process says it may lead (its last word on it). */
async function everyReplicaLeads(endpoints: string[], cluster: string | undefined, timeline: Timeline) {
  assert.ok(cluster, 'the replicas report their guardrail cluster');
  const guardrail = new EtcdGuardrail({ endpoints, cluster, callDeadlineMs: 1_000 });
  try {
    const live = await eventually(
      'every replica holds a live lease',
      async () => (await guardrail.liveMembers()).map((m) => m.id).sort(),
      (ids) => ids.length === replicas,
      20_000,
    );
    timeline.mark(`live leases: ${live.join(', ')}`);
    const leading = () =>
      live.filter((id) => {
        const last = timeline.matching(new RegExp(`: ${id} (stops leading|may lead again|registered on)`)).at(-1);
        return last !== undefined && !last.includes('stops leading');
      });
    await eventually(
      'every replica may lead again',
      async () => leading(),
      (ids) => ids.length === replicas,
    );
    timeline.mark('every replica may lead again');
  } finally {
    await guardrail.close();
  }
}

async function historyOf(endpoints: string[], cluster: string): Promise<string> {
  const guardrail = new EtcdGuardrail({ endpoints, cluster, callDeadlineMs: 1_000 });
  try {
    const history = await guardrail.history({ limit: 100 });
    return history.map((h) => `${h.config.mode} (${h.reason})`).join(' → ');
  } catch (error) {
    return `unreadable: ${(error as Error).message}`;
  } finally {
    await guardrail.close();
  }
}
