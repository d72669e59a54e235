/**
 * The backend contract: node:test tests every Backend (types.ts) must pass, `kafka` on a real broker
 * (integration/tests/kafka-backend.test.ts) and `memory` in-process. Call `backendContract(name, makeBackend)` from a
 * test file. Every test gets a fresh backend from `makeBackend` (closed afterwards) and names no other test uses
 * (`contract-<what>-<random>`), so tests run concurrently by default and share a broker safely. Waits are on
 * observable events (a handler resolved a promise) bounded by `waitMs`; the one poll (`eventually`) is for offsets
 * committed in a transaction, which Kafka makes visible shortly after commit() returns, by design.
 *
 * Delivery claims of the form "nothing was delivered" are checked at a sentinel: a record written later, whose
 * delivery implies the earlier one would have been delivered if it were deliverable (same partition: offset order;
 * another partition of the same member: a backend delivers a record no later than one written after it). Group
 * members are collectors (contract/harness.ts) that flag, as they happen: a batch for a partition whose onAssigned
 * has not resolved (or after its onRevoked), an empty batch, an offset not above the previous one of its partition
 * (reordering or duplicates), a record of another partition, highWatermark not above the batch's last offset,
 * onAssigned for a partition already held, onRevoked for one not held. Each group test asserts none occurred.
 *
 * What each test requires (contract/topics.ts, transactions.ts, groups.ts):
 *  1. createTopics twice is a no-op; partitionCount gives the count, undefined for a missing topic; endOffsets of a
 *     new topic are zeros; committedOffsets of an unknown group are undefined per partition.
 *  2. createTopics with another partition count rejects with code PARTITION_COUNT_MISMATCH and a message naming
 *     the topic and both counts; the topic is unchanged.
 *  3. A plain producer's records (explicit partitions; null keys and values, timestamps, headers) come back whole
 *     from readPartition at offsets 0..n-1; endOffsets = records per partition.
 *  4. readPartition hands over exactly the committed records with offsets in [from, to), never an empty batch, and
 *     returns when the range ends in a commit marker, in aborted records plus their abort marker, or holds only
 *     aborted records; from >= to returns at once. (Kafka gives markers offsets; the test learns every data
 *     record's offset from a read_uncommitted group, so it holds whether or not a backend numbers markers; Kafka
 *     may write the abort marker after the plain record that follows it.) endOffsets, polled, must pass the last
 *     record, by at most two offsets.
 *  5. Records sent without a partition, by a plain and by a transactional producer, land in
 *     defaultPartition(key, partitions) (partitioner.ts, Kafka's murmur2) and spread over >= 3 of 4 partitions.
 *  6. Records of an open transaction: a read_uncommitted group receives them; a read_committed group does not
 *     (sentinel: a later plain record on another partition); after commit it receives them, in order.
 *  7. An aborted transaction's records never reach a read_committed group (sentinel: a later committed record in
 *     the same partition) while a read_uncommitted group receives them.
 *  8. sendOffsets + commit makes committedOffsets show the offset (eventually); sendOffsets + abort does not
 *     (checked once a later transaction's offsets are visible).
 *  9. transactionalProducer(id) for an id in use fences the older producer: its send() and commit() reject with
 *     `code: 'PRODUCER_FENCED'` and `retriable: false`, and its open transaction is aborted (never visible).
 * 10. A member (fromBeginning) receives every record of every partition exactly once in offset order, no batch of
 *     a partition before its onAssigned resolved (onAssigned spends a few endOffsets round trips), and stop()
 *     runs onRevoked for everything still held.
 * 11. commitOffsets is visible in committedOffsets as soon as it resolves; a new member of the group starts there.
 * 12. Two members of a group subscribed to two topics of two partitions each: each ends up with one partition
 *     number of both topics (co-partitioning: partition p of every topic goes to one member); records reach only
 *     their partition's owner; after one member's stop(), the other gets all four partitions, its onAssigned for
 *     the handed-over partitions comes after the stopped member's onRevoked, and it reads them from the beginning.
 * 13. pause(p0) stops delivery of p0 (sentinel on p1); resume(p0) delivers the held record once, at offset 0.
 * 14. An onBatch rejection is not retried: onError receives that very error once, no further batch is delivered
 *     (counted after stop() resolved), stop() still revokes what the member held, no offset is committed, and the
 *     next member of the group receives the failed batch's records again.
 * 15. rejoin() called inside onBatch (after commitOffsets of that partition at 1) returns at once; onRevoked runs
 *     for both held partitions, then onAssigned for both again; afterwards the partition starts at its committed
 *     offset and the one without a commit from the beginning.
 */
import { describe, test } from 'node:test';
import { groupTests } from './contract/groups.ts';
import { Signal, uniqueName, type ContractContext } from './contract/harness.ts';
import { topicTests, type ContractTest } from './contract/topics.ts';
import { transactionTests } from './contract/transactions.ts';
import type { Backend } from './types.ts';

export interface BackendContractOptions {
  /** Per-test timeout; default 60000. */
  testTimeoutMs?: number;
  /** Bound of each wait inside a test; default 20000. */
  waitMs?: number;
  /** Run the tests of the suite concurrently; default true (each has its own backend and names). */
  concurrency?: boolean;
}

export const contractTests: readonly ContractTest[] = [...topicTests, ...transactionTests, ...groupTests];

export function backendContract(
  name: string,
  makeBackend: () => Promise<Backend>,
  options: BackendContractOptions = {},
): void {
  const { testTimeoutMs = 60_000, waitMs = 20_000, concurrency = true } = options;
  describe(`backend contract: ${name}`, { concurrency }, () => {
    for (const { title, run } of contractTests) {
      test(title, { timeout: testTimeoutMs }, async () => {
        const backend = await makeBackend();
        const ctx: ContractContext = { backend, signal: new Signal(), waitMs, name: uniqueName };
        try {
          await run(ctx);
        } finally {
          await backend.close();
        }
      });
    }
  });
}
