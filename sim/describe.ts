/** One line per protocol message, for traces: what a reader of a failing seed needs to follow the protocol. */
import type { Message } from '../processors/epaxos/core/messages.ts';
import { instanceKey, type Ballot } from '../processors/epaxos/core/types.ts';

export const ballotOf = (b: Ballot): string => `${b.epoch > 1 ? `${b.epoch}:` : ''}${b.round}.${b.replica}`;

export function describeMessage(m: Message): string {
  if (m.type === 'Join') return `Join ${m.from}->${m.to} e${m.epoch}${m.awaiting ? ` awaiting [${m.awaiting}]` : ''}`;
  if (m.type === 'JoinReply') {
    const committed = m.committed.map((r) => instanceKey(r.instance));
    const unknown = m.unknown.length > 0 ? ` unknown [${m.unknown}]` : '';
    return `JoinReply ${m.from}->${m.to} e${m.epoch}${m.full ? ' full' : ''} committed [${committed}] pending [${m.pending}]${unknown}`;
  }
  const base = `${m.type} ${m.from}->${m.to} ${instanceKey(m.instance)} b${ballotOf(m.ballot)}`;
  const attributes = 'attributes' in m ? ` seq ${m.attributes.seq} deps [${m.attributes.deps.join(',')}]` : '';
  const ok = 'ok' in m ? (m.ok ? ' ok' : ' refused') : '';
  const report =
    m.type === 'PrepareReply' && m.report
      ? ` ${m.report.status}${m.report.preacceptedEq ? ' EQ' : ''} vbal ${ballotOf(m.report.vbal)} seq ${m.report.attributes.seq} deps [${m.report.attributes.deps.join(',')}]`
      : '';
  return base + ok + attributes + report;
}
