/**
 * The proposal stage: validates what agents propose before it reaches consensus. A proposal without keys, with
 * too many keys or an oversized payload is answered with a rejection record (topic `rejections`), never dropped
 * and never allowed to crash the replica. Valid proposals go on to the replica's EPaxos processor.
 */
import type { Processor, ProcessorContext, StreamRecord } from '../../topology/processor.ts';
import { resolveLimits, type ConsensusLimits } from '../limits.ts';

export interface Proposal {
  id: string;
  clientId: string;
  keys: string[];
  payload: Buffer;
  timestamp: number;
}

export interface Rejection {
  proposalId: string;
  clientId: string;
  reason: string;
}

export function validateProposal(p: Proposal, limits: ConsensusLimits): string | undefined {
  if (!p.id) return 'proposal has no id';
  if (p.keys.length === 0) return `proposal ${p.id} has no keys: every decision names the keys it touches`;
  if (p.keys.length > limits.keysPerProposalMax) {
    return `proposal ${p.id} names ${p.keys.length} keys, more than keysPerProposalMax=${limits.keysPerProposalMax}`;
  }
  if (p.keys.some((k) => k.length === 0)) return `proposal ${p.id} has an empty key`;
  if (p.payload.length > limits.payloadBytesMax) {
    return `proposal ${p.id} payload is ${p.payload.length} bytes, more than payloadBytesMax=${limits.payloadBytesMax}`;
  }
  return undefined;
}

export class ProposalProcessor implements Processor<string, Proposal> {
  #context!: ProcessorContext;
  #limits!: ConsensusLimits;

  init(context: ProcessorContext): void {
    this.#context = context;
    this.#limits = resolveLimits(context.config, `processor ${context.processorName}`);
  }

  process(record: StreamRecord<string, Proposal>): void {
    const reason = validateProposal(record.value, this.#limits);
    const { accepted = 'epaxos', rejected = 'rejections-out' } = this.#context.config as Record<string, string>;
    if (reason === undefined) {
      this.#context.forward(record, accepted);
      return;
    }
    const rejection: Rejection = { proposalId: record.value.id, clientId: record.value.clientId, reason };
    this.#context.forward({ ...record, value: rejection }, rejected);
  }
}
