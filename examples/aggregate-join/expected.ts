/**
 * The example's workload and the outputs it must produce, computed by a deliberately naive model (no
 * topology, no stores): what both backends are compared against.
 */
import type { Account, AccountStatus, Payment } from './processors.ts';

export interface Workload {
  accounts: { key: string; value: Account; timestamp: number }[];
  payments: { key: string; value: Payment; timestamp: number }[];
}

/**
 * Deterministic: account i has limit 100*(i+1); payment j goes to account j % accounts with amount 7*(j%5+1).
 * Records sent to a real broker need a recent `start`: Kafka's time retention (7 days by default) deletes
 * segments whose records are stamped older than that at its next check, taking the workload with them.
 */
export function workload(accountCount: number, paymentCount: number, start = 1_000_000): Workload {
  const accounts = Array.from({ length: accountCount }, (_, i) => ({
    key: `acct-${i}`,
    value: { name: `Account ${i}`, limit: 100 * (i + 1) },
    timestamp: start + i,
  }));
  const payments = Array.from({ length: paymentCount }, (_, j) => ({
    key: `acct-${j % accountCount}`,
    value: { id: `pay-${j}`, amount: 7 * ((j % 5) + 1) },
    timestamp: start + accountCount + j,
  }));
  return { accounts, payments };
}

/** Per account, the statuses in payment order (every account's table row precedes its payments in time). */
export function expectedStatuses(load: Workload): Map<string, AccountStatus[]> {
  const limits = new Map(load.accounts.map((a) => [a.key, a.value.limit]));
  const totals = new Map<string, { total: number; payments: number }>();
  const out = new Map<string, AccountStatus[]>();
  for (const p of load.payments) {
    const prev = totals.get(p.key) ?? { total: 0, payments: 0 };
    const next = { total: prev.total + p.value.amount, payments: prev.payments + 1 };
    totals.set(p.key, next);
    const limit = limits.get(p.key) ?? null;
    const status: AccountStatus = {
      account: p.key,
      total: next.total,
      payments: next.payments,
      limit,
      over: limit !== null && next.total > limit,
      lastPayment: p.value.id,
    };
    out.set(p.key, [...(out.get(p.key) ?? []), status]);
  }
  return out;
}

export function groupByKey<V>(records: { key: unknown; value: V }[]): Map<string, V[]> {
  const out = new Map<string, V[]>();
  for (const r of records) out.set(String(r.key), [...(out.get(String(r.key)) ?? []), r.value]);
  return out;
}
