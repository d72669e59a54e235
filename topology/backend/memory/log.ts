/**
 * The memory backend's partitioned log, with Kafka's visibility rules: every record and transaction marker takes
 * an offset; records of an open transaction hold back the last stable offset (LSO) of their partition, so
 * read_committed readers stop there; aborted records and markers are never delivered.
 */
import type { BackendHeaders, BackendRecord } from '../types.ts';

export type TxnState = 'open' | 'committed' | 'aborted';

/** One transaction's outcome, shared by all the records it wrote (so commit/abort is one assignment). */
export interface TxnOutcome {
  state: TxnState;
}

export interface LogEntry {
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: BackendHeaders;
  /** Absent for non-transactional records. */
  txn?: TxnOutcome;
  /** Commit or abort marker: takes an offset, never delivered. */
  control?: boolean;
}

export class PartitionLog {
  readonly entries: LogEntry[] = [];
  /** First offset in this partition of each open transaction: what holds the LSO back. */
  readonly #openFrom = new Map<TxnOutcome, number>();

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  get highWatermark(): number {
    return this.entries.length;
  }

  /** First offset of the earliest open transaction, or the high watermark when none is open. */
  get lastStableOffset(): number {
    let lso = this.highWatermark;
    for (const offset of this.#openFrom.values()) lso = Math.min(lso, offset);
    return lso;
  }

  append(entry: Omit<LogEntry, 'offset'>): LogEntry {
    const full = { ...entry, offset: this.entries.length };
    this.entries.push(full);
    if (full.txn?.state === 'open' && !this.#openFrom.has(full.txn)) this.#openFrom.set(full.txn, full.offset);
    return full;
  }

  /** Writes the commit or abort marker of a transaction that wrote here; its records stop holding the LSO. */
  endTransaction(txn: TxnOutcome): void {
    this.#openFrom.delete(txn);
    this.append({ key: null, value: null, timestamp: -1, headers: {}, txn, control: true });
  }

  /** The offset a reader at this isolation level can read up to (exclusive). */
  readableEnd(readCommitted: boolean): number {
    return readCommitted ? this.lastStableOffset : this.highWatermark;
  }

  /**
   * Deliverable records in [from, min(to, readableEnd)), at most `max` of them, and the position after the last
   * entry examined (which may be past skipped markers and aborted records).
   */
  read(from: number, to: number, readCommitted: boolean, max: number): { records: BackendRecord[]; next: number } {
    const end = Math.min(to, this.readableEnd(readCommitted));
    const records: BackendRecord[] = [];
    let next = from;
    while (next < end && records.length < max) {
      const entry = this.entries[next]!;
      next++;
      if (entry.control) continue;
      if (readCommitted && entry.txn?.state === 'aborted') continue;
      records.push({
        topic: this.topic,
        partition: this.partition,
        offset: entry.offset,
        key: entry.key,
        value: entry.value,
        timestamp: entry.timestamp,
        headers: entry.headers,
      });
    }
    return { records, next };
  }
}
