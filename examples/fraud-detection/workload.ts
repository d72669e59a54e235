/**
 * The workload generator: `clients` concurrent proposers, each sending payments and transfers; a `conflict`
 * share of them touch a small set of hot accounts (so they conflict), the rest touch the client's own accounts.
 */
import type { FraudDecision } from './agents.ts';

export interface WorkloadOptions {
  proposals: number;
  clients: number;
  /** Share of proposals on hot accounts (0.02 = 2%); 1 = every proposal conflicts. */
  conflict: number;
  seed: number;
}

export interface GeneratedProposal {
  id: string;
  clientId: string;
  keys: string[];
  payload: Buffer;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function* proposals(options: WorkloadOptions): Generator<GeneratedProposal> {
  const random = rng(options.seed);
  for (let i = 0; i < options.proposals; i++) {
    const client = i % options.clients;
    const account = (): string =>
      random() < options.conflict
        ? `acct:hot-${Math.floor(random() * 4)}`
        : `acct:c${client}-${i}-${Math.floor(random() * 1e6)}`;
    const transfer = random() < 0.1;
    const amount = Math.round(random() * 800 * 100) / 100;
    let decision: FraudDecision;
    let keys: string[];
    if (transfer) {
      const from = account();
      let to = account();
      if (to === from) to = `${to}-b`;
      decision = { type: 'transfer', from, to, amount };
      keys = [from, to];
    } else {
      const a = account();
      decision = { type: 'payment', account: a, amount };
      keys = [a];
    }
    yield {
      id: `p-${options.seed}-${i}`,
      clientId: `client-${client}`,
      keys,
      payload: Buffer.from(JSON.stringify(decision)),
    };
  }
}
