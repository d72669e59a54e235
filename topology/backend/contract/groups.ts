/**
 * Contract tests on consumer groups: delivery order and assignment callbacks, offsets committed outside
 * transactions, two members and hand-over, pause/resume, handler errors (descriptions in ../contract.ts).
 */
import assert from 'node:assert/strict';
import { buf, collect, topicSpec, type Collector, type ContractContext } from './harness.ts';
import type { ContractTest } from './topics.ts';

const to = (topic: string, partition: number, value: string) => ({
  topic,
  partition,
  key: buf(value),
  value: buf(value),
});

async function deliversInOrderAfterOnAssigned(ctx: ContractContext): Promise<void> {
  const { backend, name } = ctx;
  const topic = name('deliver');
  await backend.createTopics([topicSpec(topic, 3)]);
  const producer = await backend.producer();
  for (let i = 0; i < 10; i++) await producer.send([0, 1, 2].map((p) => to(topic, p, `p${p}-${i}`)));
  await producer.close();
  const reader = await collect(ctx, {
    groupId: name('deliver-group'),
    topics: [topic],
    readCommitted: true,
    // Broker round trips while "restoring": time enough for a backend that does not wait to deliver a batch,
    // which the collector would then record as a violation (a batch for a partition not yet owned).
    beforeAssigned: async () => {
      for (let i = 0; i < 3; i++) await backend.endOffsets(topic);
    },
  });
  await reader.until('30 records', (c) => c.records.length >= 30);
  await reader.member.stop();
  assert.deepEqual(reader.violations, []);
  for (const p of [0, 1, 2]) {
    assert.deepEqual(reader.offsets(topic, p), [...Array(10).keys()], `partition ${p}: every offset once, in order`);
    assert.deepEqual(
      reader.values(topic, p),
      [...Array(10).keys()].map((i) => `p${p}-${i}`),
    );
  }
  assert.equal(reader.records.length, 30, 'nothing delivered twice');
  assert.equal(reader.owned.size, 0, 'stop() revoked every partition');
}

async function commitOffsetsOutsideTransactions(ctx: ContractContext): Promise<void> {
  const { backend, name } = ctx;
  const topic = name('commit');
  const groupId = name('commit-group');
  await backend.createTopics([topicSpec(topic, 1)]);
  const producer = await backend.producer();
  await producer.send([0, 1, 2, 3, 4].map((i) => to(topic, 0, `r${i}`)));
  await producer.close();
  const first = await collect(ctx, { groupId, topics: [topic], readCommitted: true, label: 'first' });
  await first.until('5 records', (c) => c.records.length === 5);
  await first.member.commitOffsets([{ topic, partition: 0, offset: 3 }]);
  assert.deepEqual(await backend.committedOffsets(groupId, topic), [3], 'visible once commitOffsets resolved');
  await first.member.stop();
  const second = await collect(ctx, { groupId, topics: [topic], readCommitted: true, label: 'second' });
  await second.until('the last record', (c) => c.values(topic, 0).includes('r4'));
  await second.member.stop();
  assert.deepEqual(second.offsets(topic, 0), [3, 4], 'a new member starts at the committed offset');
  assert.deepEqual([...first.violations, ...second.violations], []);
}

const partitionsOf = (owned: Map<string, { partition: number }>): number[] =>
  [...new Set([...owned.values()].map((tp) => tp.partition))].sort();

async function twoMembersSplitAndHandOver(ctx: ContractContext): Promise<void> {
  const { backend, name } = ctx;
  const [x, y] = [name('split-x'), name('split-y')];
  const groupId = name('split-group');
  await backend.createTopics([topicSpec(x, 2), topicSpec(y, 2)]);
  const journal: string[] = [];
  const common = { groupId, topics: [x, y], readCommitted: true, journal };
  const a = await collect(ctx, { ...common, label: 'A' });
  await a.until('all four partitions', (c) => c.owned.size === 4);
  const b = await collect(ctx, { ...common, label: 'B' });
  await b.until('two partitions, A the other two', (c) => c.owned.size === 2 && a.owned.size === 2);
  assert.equal(partitionsOf(a.owned).length, 1, `A owns one partition number of both topics: ${[...a.owned.keys()]}`);
  assert.equal(partitionsOf(b.owned).length, 1, `B owns one partition number of both topics: ${[...b.owned.keys()]}`);
  assert.notDeepEqual(partitionsOf(a.owned), partitionsOf(b.owned));

  const producer = await backend.producer();
  await producer.send([x, y].flatMap((topic) => [to(topic, 0, `${topic}-0`), to(topic, 1, `${topic}-1`)]));
  await a.until('records of its partitions', (c) => c.records.length === 2);
  await b.until('records of its partitions', (c) => c.records.length === 2);

  const [aPartition] = partitionsOf(a.owned);
  const [bPartition] = partitionsOf(b.owned);
  await b.member.stop();
  await a.until("B's partitions after B stopped", (c) => c.owned.size === 4);
  // Later records in all four partitions: delivered in order, so a partition A kept must not start over (the
  // collector flags an offset at or below the last one since its onAssigned), and B's old partitions are read
  // from the beginning (nothing was committed).
  const late = [x, y].flatMap((topic) => [0, 1].map((p) => to(topic, p, `${topic}-${p}-late`)));
  await producer.send(late);
  await producer.close();
  await a.until('the late records', (c) =>
    late.every((r) => c.values(r.topic, r.partition).includes(r.value.toString())),
  );
  await a.member.stop();
  for (const topic of [x, y]) {
    assert.ok(a.values(topic, bPartition!).includes(`${topic}-${bPartition}`), `A read ${topic}/${bPartition} from 0`);
    assert.ok(a.values(topic, aPartition!).includes(`${topic}-${aPartition}`), `A's own ${topic}/${aPartition}`);
  }
  const handed = [x, y].map((topic) => `${topic}/${bPartition}`);
  for (const tp of handed) {
    const revoked = journal.indexOf(`B revoked ${tp}`);
    const assigned = journal.lastIndexOf(`A assigned ${tp}`);
    assert.ok(revoked >= 0 && assigned > revoked, `stop(): B's onRevoked(${tp}) before A's onAssigned: ${journal}`);
  }
  assert.deepEqual([...a.violations, ...b.violations], []);
}

async function pauseAndResume(ctx: ContractContext): Promise<void> {
  const { backend, name } = ctx;
  const topic = name('pause');
  await backend.createTopics([topicSpec(topic, 2)]);
  const reader = await collect(ctx, { groupId: name('pause-group'), topics: [topic], readCommitted: true });
  await reader.until('both partitions', (c) => c.owned.size === 2);
  reader.member.pause([{ topic, partition: 0 }]);
  const producer = await backend.producer();
  await producer.send([to(topic, 0, 'held')]);
  // Written after 'held': once delivered, an unpaused partition 0 would have delivered 'held' as well.
  await producer.send([to(topic, 1, 'sentinel')]);
  await reader.until('the sentinel', (c) => c.values(topic, 1).includes('sentinel'));
  assert.deepEqual(reader.values(topic, 0), [], 'nothing from a paused partition');
  reader.member.resume([{ topic, partition: 0 }]);
  await reader.until('the held record', (c) => c.values(topic, 0).length > 0);
  await producer.close();
  await reader.member.stop();
  assert.deepEqual(reader.offsets(topic, 0), [0], 'delivered once after resume, from where it was');
  assert.deepEqual(reader.violations, []);
}

async function handlerErrorStopsTheMember(ctx: ContractContext): Promise<void> {
  const { backend, name } = ctx;
  const topic = name('failing');
  const groupId = name('failing-group');
  await backend.createTopics([topicSpec(topic, 1)]);
  const producer = await backend.producer();
  await producer.send([to(topic, 0, 'r0'), to(topic, 0, 'r1')]);
  await producer.close();
  const boom = new Error('handler failed');
  const failing = await collect(ctx, {
    groupId,
    topics: [topic],
    readCommitted: true,
    label: 'failing',
    inBatch: async () => {
      throw boom;
    },
  });
  await failing.until('onError', (c) => c.errors.length > 0);
  await failing.member.stop();
  assert.deepEqual(failing.errors, [boom], 'onError gets the handler error itself, once');
  assert.equal(failing.batches, 1, 'no batch after the failure (the count is final once stop() resolved)');
  assert.equal(failing.owned.size, 0, 'stop() still revoked what the member held');
  assert.deepEqual(await backend.committedOffsets(groupId, topic), [undefined]);
  const next = await collect(ctx, { groupId, topics: [topic], readCommitted: true, label: 'next' });
  await next.until('both records', (c) => c.records.length === 2);
  await next.member.stop();
  assert.deepEqual(next.offsets(topic, 0), [0, 1], 'the failed batch was not consumed');
  assert.deepEqual([...failing.violations, ...next.violations], []);
}

async function rejoinAssignsAfresh(ctx: ContractContext): Promise<void> {
  const { backend, name } = ctx;
  const topic = name('rejoin');
  const groupId = name('rejoin-group');
  await backend.createTopics([topicSpec(topic, 2)]);
  const producer = await backend.producer();
  await producer.send([0, 1, 2].flatMap((i) => [to(topic, 0, `p0-${i}`), to(topic, 1, `p1-${i}`)]));
  await producer.close();
  const journal: string[] = [];
  let first: number | undefined; // partition of the batch that asked to rejoin
  let split = -1; // records delivered before the second assignment
  let assignments = 0;
  const reader: Collector = await collect(ctx, {
    groupId,
    topics: [topic],
    readCommitted: true,
    label: 'm',
    journal,
    beforeAssigned: async () => {
      if (++assignments === 2) split = reader.records.length;
    },
    inBatch: async (batch) => {
      if (first !== undefined) return;
      first = batch.partition;
      await reader.member.commitOffsets([{ topic, partition: first, offset: 1 }]);
      reader.member.rejoin(); // from inside onBatch: must not wait for this batch to return
    },
  });
  const after = (partition: number) => reader.records.slice(split).filter((r) => r.partition === partition);
  await reader.until('both partitions delivered after the rejoin', () => {
    if (split < 0 || reader.owned.size < 2) return false;
    return after(first!).length >= 2 && after(1 - first!).length >= 3;
  });
  await reader.member.stop();
  const other = 1 - first!;
  assert.deepEqual(
    journal.slice(0, 6).map((entry) => entry.replace(topic, 't')),
    ['m assigned t/0', 'm assigned t/1', 'm revoked t/0', 'm revoked t/1', 'm assigned t/0', 'm assigned t/1'],
    'everything revoked, then everything assigned again',
  );
  assert.deepEqual(
    after(first!).map((r) => r.offset),
    [1, 2],
    'the rejoining partition starts at its committed offset',
  );
  assert.deepEqual(
    after(other).map((r) => r.offset),
    [0, 1, 2],
    'a partition without a commit starts from the beginning',
  );
  assert.deepEqual(reader.errors, []);
  assert.deepEqual(reader.violations, []);
}

export const groupTests: ContractTest[] = [
  {
    title: 'a group delivers every record once, in offset order, after onAssigned resolved',
    run: deliversInOrderAfterOnAssigned,
  },
  {
    title: 'commitOffsets commits outside transactions; a new member starts there',
    run: commitOffsetsOutsideTransactions,
  },
  {
    title: 'two members split co-partitioned partitions; stop() hands over after onRevoked',
    run: twoMembersSplitAndHandOver,
  },
  { title: 'pause stops delivery for a partition and resume restarts it', run: pauseAndResume },
  {
    title: 'a handler error stops the member, reaches onError, and leaves the batch unconsumed',
    run: handlerErrorStopsTheMember,
  },
  {
    title: 'rejoin() from inside onBatch revokes everything and assigns it afresh from the committed offsets',
    run: rejoinAssignsAfresh,
  },
];
