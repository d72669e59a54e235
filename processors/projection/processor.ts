/**
 * Agent projections: an agent follows some keys, folds each decision on them into its RocksDB projection with a
 * reducer, and emits side-effect records (`actions`) in the same transaction. Each (key, position) is applied once:
 * a redelivered decision (a restart, a rebalance) finds its position already applied and is skipped.
 */
import type { KeyValueStore } from '../../state/types.ts';
import type { Processor, ProcessorContext, StreamRecord } from '../../topology/processor.ts';
import type { ProcessorRegistry } from '../../topology/registry.ts';
import { observer } from '../observer.ts';
import type { OrderedDecision } from '../resolution/processor.ts';

export interface Reduction<S> {
  state: S;
  /** Side effects to emit, e.g. alerts or reservations confirmed. */
  actions?: unknown[];
}

/** An agent's logic: pure, deterministic — every agent applying the same decisions reaches the same state. */
export type Reducer<S> = (state: S | undefined, decision: OrderedDecision & { payloadJson: unknown }) => Reduction<S>;

export interface AgentConfig {
  agent: string;
  /** Key prefixes this agent follows ('' = every key). */
  follows?: string[];
  reducer: string;
  /** The child that receives the reducer's actions (default: every child). */
  actionsSink?: string;
  /** A child that receives one record per applied decision {agent, key, position, proposalId}: an audit log. */
  appliedSink?: string;
}

const appliedPrefix = 'applied/';
const statePrefix = 'state/';

export class ProjectionProcessor implements Processor<string, OrderedDecision, string, unknown> {
  #context!: ProcessorContext<string, unknown>;
  #store!: KeyValueStore<string, unknown>;
  #reducer!: Reducer<unknown>;
  #config!: AgentConfig;

  constructor(private readonly reducers: ReadonlyMap<string, Reducer<unknown>>) {}

  init(context: ProcessorContext<string, unknown>): void {
    this.#context = context;
    this.#config = context.config as unknown as AgentConfig;
    const reducer = this.reducers.get(this.#config.reducer);
    if (!reducer) {
      throw new Error(
        `processor ${context.processorName}: no reducer "${this.#config.reducer}" (known: ${[...this.reducers.keys()].join(', ')})`,
      );
    }
    this.#reducer = reducer;
    this.#store = context.getStateStore('projection');
  }

  async process(record: StreamRecord<string, OrderedDecision>): Promise<void> {
    const decision = record.value;
    const follows = this.#config.follows ?? [''];
    if (!follows.some((prefix) => decision.key.startsWith(prefix))) return;
    const applied = ((await this.#store.get(`${appliedPrefix}${decision.key}`)) as number | undefined) ?? 0;
    if (decision.position <= applied) return; // applied already: exactly once per agent
    if (decision.position !== applied + 1) {
      throw new Error(
        `agent ${this.#config.agent}: key ${decision.key} jumped from position ${applied} to ${decision.position}`,
      );
    }
    const state = await this.#store.get(`${statePrefix}${decision.key}`);
    const payloadJson = parsePayload(decision.payload);
    const { state: next, actions = [] } = this.#reducer(state, { ...decision, payloadJson });
    this.#store.put(`${statePrefix}${decision.key}`, next);
    this.#store.put(`${appliedPrefix}${decision.key}`, decision.position);
    observer().applied?.(this.#config.agent, decision.key, decision.position, decision.proposalId);
    const { actionsSink, appliedSink, agent } = this.#config;
    for (const action of actions) {
      this.#context.forward(
        { key: decision.key, value: action, timestamp: record.timestamp, headers: {} },
        actionsSink,
      );
    }
    if (appliedSink) {
      const value = { agent, key: decision.key, position: decision.position, proposalId: decision.proposalId };
      this.#context.forward({ key: decision.key, value, timestamp: record.timestamp, headers: {} }, appliedSink);
    }
  }
}

function parsePayload(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined; // opaque payloads are fine: the reducer sees the bytes
  }
}

/** Registers the consensus processors and an agent processor over the given reducers. */
export function registerConsensus(registry: ProcessorRegistry, reducers: ReadonlyMap<string, Reducer<unknown>>): void {
  registry.register('projection', () => new ProjectionProcessor(reducers));
}
