/**
 * Contract tests on transactions: visibility to read_committed and read_uncommitted readers, offsets committed
 * with a transaction, and fencing (descriptions in ../contract.ts).
 */
import assert from 'node:assert/strict';
import { buf, collect, eventually, isFenced, topicSpec, type ContractContext } from './harness.ts';
import type { ContractTest } from './topics.ts';

const to = (topic: string, partition: number, value: string) => ({
  topic,
  partition,
  key: buf(value),
  value: buf(value),
});

async function openTransactionIsInvisible(ctx: ContractContext): Promise<void> {
  const { backend, name } = ctx;
  const topic = name('open-txn');
  await backend.createTopics([topicSpec(topic, 2)]);
  const txn = await backend.transactionalProducer(name('open-txn-id'));
  await txn.begin();
  await txn.send([to(topic, 0, 'open-1'), to(topic, 0, 'open-2')]);

  const uncommitted = await collect(ctx, { groupId: name('ru'), topics: [topic], readCommitted: false });
  await uncommitted.until('the open records', (c) => c.values(topic, 0).length === 2);
  const committed = await collect(ctx, { groupId: name('rc'), topics: [topic], readCommitted: true });
  // A later record on another partition: once it is delivered, a visible open record would have been too.
  const plain = await backend.producer();
  await plain.send([to(topic, 1, 'sentinel')]);
  await committed.until('the sentinel', (c) => c.values(topic, 1).includes('sentinel'));
  assert.deepEqual(committed.values(topic, 0), [], 'records of an open transaction stay invisible to read_committed');

  await txn.commit();
  await committed.until('the committed records', (c) => c.values(topic, 0).length === 2);
  assert.deepEqual(committed.values(topic, 0), ['open-1', 'open-2']);
  assert.deepEqual(uncommitted.values(topic, 0), ['open-1', 'open-2'], 'read_uncommitted saw them before commit');
  await Promise.all([uncommitted.member.stop(), committed.member.stop(), txn.close(), plain.close()]);
  assert.deepEqual([...uncommitted.violations, ...committed.violations], []);
}

async function abortedTransactionIsInvisible(ctx: ContractContext): Promise<void> {
  const { backend, name } = ctx;
  const topic = name('aborted');
  await backend.createTopics([topicSpec(topic, 1)]);
  const txn = await backend.transactionalProducer(name('aborted-id'));
  await txn.begin();
  await txn.send([to(topic, 0, 'aborted-1'), to(topic, 0, 'aborted-2')]);
  await txn.abort();
  await txn.begin();
  await txn.send([to(topic, 0, 'after-abort')]);
  await txn.commit();
  await txn.close();

  const committed = await collect(ctx, { groupId: name('rc'), topics: [topic], readCommitted: true });
  const uncommitted = await collect(ctx, { groupId: name('ru'), topics: [topic], readCommitted: false });
  await committed.until('the record after the abort', (c) => c.values(topic, 0).includes('after-abort'));
  await uncommitted.until('the record after the abort', (c) => c.values(topic, 0).includes('after-abort'));
  await Promise.all([committed.member.stop(), uncommitted.member.stop()]);
  // Same partition, later offset: delivering 'after-abort' means everything before it was considered.
  assert.deepEqual(committed.values(topic, 0), ['after-abort'], 'read_committed never sees aborted records');
  assert.deepEqual(
    uncommitted.values(topic, 0),
    ['aborted-1', 'aborted-2', 'after-abort'],
    'the aborted records are in the log (read_uncommitted sees them), so the check above is meaningful',
  );
  assert.deepEqual([...committed.violations, ...uncommitted.violations], []);
}

async function offsetsCommitWithTheTransaction(ctx: ContractContext): Promise<void> {
  const { backend, name, waitMs } = ctx;
  const input = name('offsets-in');
  const groupId = name('offsets-group');
  await backend.createTopics([topicSpec(input, 2)]);
  const txn = await backend.transactionalProducer(name('offsets-id'));
  const committed = () => backend.committedOffsets(groupId, input);

  await txn.begin();
  await txn.sendOffsets(groupId, [{ topic: input, partition: 0, offset: 5 }]);
  await txn.commit();
  // Kafka writes the commit markers (and so the offsets) after EndTxn returned: visible shortly after commit().
  await eventually('offsets of the committed transaction', committed, (o) => o[0] === 5, waitMs);

  await txn.begin();
  await txn.sendOffsets(groupId, [{ topic: input, partition: 0, offset: 9 }]);
  await txn.abort();
  await txn.begin();
  await txn.sendOffsets(groupId, [{ topic: input, partition: 1, offset: 3 }]);
  await txn.commit();
  // The later transaction's offsets being visible means the aborted one's would have been too.
  const offsets = await eventually('offsets of the later transaction', committed, (o) => o[1] === 3, waitMs);
  assert.deepEqual(offsets, [5, 3], 'offsets sent in an aborted transaction do not commit');
  await txn.close();
}

async function newProducerFencesTheOld(ctx: ContractContext): Promise<void> {
  const { backend, name } = ctx;
  const topic = name('fence');
  const id = name('fence-id');
  await backend.createTopics([topicSpec(topic, 1)]);
  const zombie = await backend.transactionalProducer(id);
  await zombie.begin();
  await zombie.send([to(topic, 0, 'zombie-1')]);

  const successor = await backend.transactionalProducer(id);
  await assert.rejects(zombie.send([to(topic, 0, 'zombie-2')]), isFenced, 'send after being fenced');
  await assert.rejects(zombie.commit(), isFenced, 'commit after being fenced');
  await successor.begin();
  await successor.send([to(topic, 0, 'successor')]);
  await successor.commit();
  await Promise.all([zombie.close(), successor.close()]);

  const reader = await collect(ctx, { groupId: name('fence-reader'), topics: [topic], readCommitted: true });
  await reader.until("the successor's record", (c) => c.values(topic, 0).includes('successor'));
  await reader.member.stop();
  assert.deepEqual(reader.values(topic, 0), ['successor'], "the fenced producer's open transaction was aborted");
  assert.deepEqual(reader.violations, []);
}

export const transactionTests: ContractTest[] = [
  {
    title: 'records of an open transaction reach read_committed readers only at commit',
    run: openTransactionIsInvisible,
  },
  {
    title: 'aborted records never reach read_committed readers; read_uncommitted sees them',
    run: abortedTransactionIsInvisible,
  },
  { title: 'sendOffsets commits with the transaction, and not when it aborts', run: offsetsCommitWithTheTransaction },
  {
    title: 'a new transactional producer fences the old one and aborts its open transaction',
    run: newProducerFencesTheOld,
  },
];
