/**
 * What other folders use from processors/: the consensus stages registered by name for topologies, the agent
 * projection over user reducers, and the consensus topology file.
 */
import { fileURLToPath } from 'node:url';
import type { ProcessorRegistry } from '../topology/registry.ts';
import { EpaxosProcessor } from './epaxos/processor.ts';
import { ProjectionProcessor, type Reducer } from './projection/processor.ts';
import { ProposalProcessor } from './proposal/processor.ts';
import { ResolutionProcessor } from './resolution/processor.ts';

export { replicaId } from './epaxos/processor.ts';
export type { OrderedDecision } from './resolution/processor.ts';
export type { Reducer, Reduction } from './projection/processor.ts';
export type { Proposal, Rejection } from './proposal/processor.ts';

/** The consensus pipeline as a YAML topology: proposal → epaxos → committed → resolution → ordered. */
export const consensusTopologyFile = fileURLToPath(new URL('./consensus.yaml', import.meta.url));

export function register(registry: ProcessorRegistry): void {
  registry.register('proposal', () => new ProposalProcessor());
  registry.register('epaxos', () => new EpaxosProcessor());
  registry.register('resolution', () => new ResolutionProcessor());
}

export function registerAgents(registry: ProcessorRegistry, reducers: ReadonlyMap<string, Reducer<unknown>>): void {
  registry.register('projection', () => new ProjectionProcessor(reducers));
}
