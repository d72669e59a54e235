/**
 * The aggregate-join example's processors: a per-account running total of payments, joined against an accounts
 * table (limits), flagging accounts over their limit. It exercises what the engine promises: two co-partitioned
 * inputs in event-time order, two RocksDB stores with changelogs, Avro and JSON topics, a dead-letter policy.
 */
import type { Processor, ProcessorContext, StreamRecord } from '../../topology/processor.ts';
import type { ProcessorRegistry } from '../../topology/registry.ts';
import type { KeyValueStore } from '../../state/types.ts';

export interface Account {
  name: string;
  limit: number;
}

export interface Payment {
  id: string;
  amount: number;
}

export interface AccountStatus {
  account: string;
  total: number;
  payments: number;
  limit: number | null;
  over: boolean;
  lastPayment: string;
}

/** Upserts the accounts table into its store (a tombstone deletes). Forwards nothing. */
export class AccountTable implements Processor<string, Account | null> {
  #accounts!: KeyValueStore<string, Account>;

  init(context: ProcessorContext): void {
    this.#accounts = context.getStateStore('accounts');
  }

  process(record: StreamRecord<string, Account | null>): void {
    if (record.value === null) this.#accounts.delete(record.key);
    else this.#accounts.put(record.key, record.value);
  }
}

/** Adds each payment to its account's total and emits the account's status against its limit. */
export class PaymentTotals implements Processor<string, Payment, string, AccountStatus> {
  #context!: ProcessorContext<string, AccountStatus>;
  #totals!: KeyValueStore<string, { total: number; payments: number }>;
  #accounts!: KeyValueStore<string, Account>;

  init(context: ProcessorContext<string, AccountStatus>): void {
    this.#context = context;
    this.#totals = context.getStateStore('totals');
    this.#accounts = context.getStateStore('accounts');
  }

  async process(record: StreamRecord<string, Payment>): Promise<void> {
    const payment = record.value;
    if (!Number.isFinite(payment.amount) || payment.amount < 0) {
      // A poison record for this engine: the topology's onError policy decides (dlq in the example).
      throw new RangeError(`payment ${payment.id} has an invalid amount ${payment.amount}`);
    }
    const previous = (await this.#totals.get(record.key)) ?? { total: 0, payments: 0 };
    const next = { total: previous.total + payment.amount, payments: previous.payments + 1 };
    this.#totals.put(record.key, next);
    const account = await this.#accounts.get(record.key);
    this.#context.forward({
      key: record.key,
      value: {
        account: record.key,
        total: next.total,
        payments: next.payments,
        limit: account?.limit ?? null,
        over: account !== undefined && next.total > account.limit,
        lastPayment: payment.id,
      },
      timestamp: record.timestamp,
      headers: {},
    });
  }
}

export function register(registry: ProcessorRegistry): void {
  registry.register('account-table', () => new AccountTable());
  registry.register('payment-totals', () => new PaymentTotals());
}
