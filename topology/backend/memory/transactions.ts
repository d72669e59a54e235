/**
 * Transactions of the memory backend, with Kafka's rules: a transactional id has an epoch; a new producer for
 * the id bumps it, aborts the previous producer's open transaction and fences that producer (its next call
 * fails with PRODUCER_FENCED). Records and offsets of a transaction become visible together at commit, never
 * after abort.
 */
import { BackendError } from '../errors.ts';
import type { OutgoingRecord, PartitionOffset, TransactionalProducer } from '../types.ts';
import type { PartitionLog, TxnOutcome } from './log.ts';
import type { MemoryBackend } from './backend.ts';

interface OpenTransaction {
  outcome: TxnOutcome;
  logs: Set<PartitionLog>;
  offsets: Map<string, PartitionOffset[]>;
}

export class MemoryTransactions {
  readonly #epochs = new Map<string, number>();
  readonly #open = new Map<string, OpenTransaction>();

  constructor(private readonly backend: MemoryBackend) {}

  producer(transactionalId: string): TransactionalProducer {
    const epoch = (this.#epochs.get(transactionalId) ?? -1) + 1;
    this.#epochs.set(transactionalId, epoch);
    const previous = this.#open.get(transactionalId);
    if (previous) this.#end(transactionalId, previous, 'aborted'); // what a new InitProducerId does in Kafka

    const check = (operation: string): void => {
      if (this.#epochs.get(transactionalId) !== epoch) {
        throw new BackendError(
          'PRODUCER_FENCED',
          `${operation}: transactional producer ${transactionalId} (epoch ${epoch}) was fenced by a newer one`,
        );
      }
    };
    const current = (operation: string): OpenTransaction => {
      check(operation);
      const txn = this.#open.get(transactionalId);
      if (!txn) throw new BackendError('INVALID_TXN_STATE', `${operation}: ${transactionalId} has no open transaction`);
      return txn;
    };

    return {
      transactionalId,
      begin: async () => {
        check('begin');
        if (this.#open.has(transactionalId)) {
          throw new BackendError('INVALID_TXN_STATE', `begin: ${transactionalId} already has an open transaction`);
        }
        this.#open.set(transactionalId, { outcome: { state: 'open' }, logs: new Set(), offsets: new Map() });
      },
      send: async (records: OutgoingRecord[]) => {
        const txn = current('send');
        for (const record of records) {
          const log = this.backend.logFor(record);
          log.append({
            key: record.key,
            value: record.value,
            timestamp: record.timestamp ?? this.backend.now(),
            headers: record.headers ?? {},
            txn: txn.outcome,
          });
          txn.logs.add(log);
        }
        this.backend.kick(); // read_uncommitted readers may read them now
      },
      sendOffsets: async (groupId: string, offsets: PartitionOffset[]) => {
        const txn = current('sendOffsets');
        txn.offsets.set(groupId, [...(txn.offsets.get(groupId) ?? []), ...offsets]);
      },
      commit: async () => this.#end(transactionalId, current('commit'), 'committed'),
      abort: async () => this.#end(transactionalId, current('abort'), 'aborted'),
      close: async () => {
        const txn = this.#open.get(transactionalId);
        if (txn && this.#epochs.get(transactionalId) === epoch) this.#end(transactionalId, txn, 'aborted');
      },
    };
  }

  #end(transactionalId: string, txn: OpenTransaction, state: 'committed' | 'aborted'): void {
    txn.outcome.state = state;
    for (const log of txn.logs) log.endTransaction(txn.outcome);
    if (state === 'committed') {
      for (const [groupId, offsets] of txn.offsets) this.backend.group(groupId).commit(offsets);
    }
    this.#open.delete(transactionalId);
    this.backend.kick();
  }
}
