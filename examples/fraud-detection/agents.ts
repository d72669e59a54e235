/**
 * The fraud-detection agents' reducer: per account, a balance and a decaying risk score. Payments touch one
 * account; transfers touch two (a multi-key decision, ordered against everything on either account).
 */
import { registerAgents, type Reducer } from '../../processors/index.ts';
import type { ProcessorRegistry } from '../../topology/registry.ts';

export type FraudDecision =
  { type: 'payment'; account: string; amount: number } | { type: 'transfer'; from: string; to: string; amount: number };

export interface AccountRisk {
  balance: number;
  risk: number;
  decisions: number;
}

export const riskReducer: Reducer<AccountRisk> = (state, decision) => {
  const account = state ?? { balance: 1_000, risk: 0, decisions: 0 };
  const d = decision.payloadJson as FraudDecision;
  let { balance, risk } = account;
  if (d.type === 'payment') {
    balance -= d.amount;
    risk = risk * 0.9 + (d.amount > 500 ? 20 : 1);
  } else if (decision.key === d.from) {
    balance -= d.amount;
    risk = risk * 0.9 + (d.amount > 300 ? 15 : 2);
  } else {
    balance += d.amount;
  }
  const next = {
    balance: Math.round(balance * 100) / 100,
    risk: Math.round(risk * 100) / 100,
    decisions: account.decisions + 1,
  };
  const actions: unknown[] = [];
  if (next.balance < 0 && account.balance >= 0)
    actions.push({ alert: 'overdraft', account: decision.key, at: decision.position });
  if (next.risk > 50 && account.risk <= 50)
    actions.push({ alert: 'risk', account: decision.key, at: decision.position });
  return { state: next, actions };
};

export function register(registry: ProcessorRegistry): void {
  registerAgents(registry, new Map([['risk', riskReducer as Reducer<unknown>]]));
}
