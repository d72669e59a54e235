/**
 * What the checkers read of a finished cluster (checkers.ts): each replica's committed records, its execution log,
 * and when each instance was proposed and first acknowledged. Replicas that lost their state are read as they
 * were when they lost it: what they committed and applied then must agree with the rest.
 */
import { instanceKey, type InstanceKey, type InstanceRecord, type ReplicaId } from '../processors/epaxos/core/types.ts';
import type { History } from './checkers.ts';
import type { Cluster } from './cluster.ts';

export function historyOf(c: Cluster): History {
  const committed = new Map<ReplicaId, Map<InstanceKey, InstanceRecord>>();
  for (const r of c.allIds) {
    const records = new Map<InstanceKey, InstanceRecord>();
    for (const [key, record] of c.replica(r).state.instances)
      if (record.status === 'committed') records.set(key, record);
    committed.set(r, records);
  }
  return {
    replicas: c.allIds,
    committed,
    executed: new Map(c.allIds.map((r) => [r, c.executed.get(r)!.map((x) => instanceKey(x.id))])),
    proposedAt: c.proposedAt,
    acknowledgedAt: c.acknowledgedAt,
    fastCommitted: c.fastCommitted,
    recoveryDecisions: c.recoveryDecisions,
  };
}
