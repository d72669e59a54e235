/**
 * Contract tests on topics, plain production, partitioning and readPartition (descriptions in ../contract.ts).
 */
import assert from 'node:assert/strict';
import { defaultPartition } from '../partitioner.ts';
import type { BackendRecord } from '../types.ts';
import { buf, collect, eventually, text, topicSpec, type ContractContext } from './harness.ts';

export interface ContractTest {
  title: string;
  run(ctx: ContractContext): Promise<void>;
}

async function createTopicsIsIdempotent({ backend, name }: ContractContext): Promise<void> {
  const a = name('idem-a');
  const b = name('idem-b');
  await backend.createTopics([topicSpec(a, 3), topicSpec(b, 1, true)]);
  await backend.createTopics([topicSpec(a, 3), topicSpec(b, 1, true)]);
  await backend.createTopics([topicSpec(a, 3)]);
  assert.equal(await backend.partitionCount(a), 3);
  assert.equal(await backend.partitionCount(b), 1);
  assert.equal(await backend.partitionCount(name('missing')), undefined);
  assert.deepEqual(await backend.endOffsets(a), [0, 0, 0]);
  assert.deepEqual(await backend.committedOffsets(name('no-group'), a), [undefined, undefined, undefined]);
}

async function createTopicsRejectsMismatch({ backend, name }: ContractContext): Promise<void> {
  const topic = name('mismatch');
  await backend.createTopics([topicSpec(topic, 2)]);
  await assert.rejects(backend.createTopics([topicSpec(topic, 7)]), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'PARTITION_COUNT_MISMATCH');
    assert.ok(error.message.includes(topic), `names the topic: ${error.message}`);
    assert.match(error.message, /\b2\b/, 'names the existing count');
    assert.match(error.message, /\b7\b/, 'names the requested count');
    return true;
  });
  assert.equal(await backend.partitionCount(topic), 2, 'the topic is unchanged');
}

async function produceThenEndOffsets({ backend, name }: ContractContext): Promise<void> {
  const topic = name('produce');
  await backend.createTopics([topicSpec(topic, 2)]);
  const producer = await backend.producer();
  // Recent timestamps: Kafka's time retention (7 days by default) judges segments by their records' timestamps,
  // so records stamped in the past are deleted by the next retention check, before they are read back.
  const base = Date.now() - 1000;
  const sent = [0, 1, 2].map((i) => ({
    topic,
    partition: 0,
    key: i === 1 ? null : buf(`k${i}`),
    value: i === 2 ? null : buf(`v${i}`),
    timestamp: base + i,
    headers: { h: buf(`header-${i}`) },
  }));
  await producer.send(sent);
  await producer.send([1, 2].map((i) => ({ topic, partition: 1, key: buf(`p1-${i}`), value: buf(`p1-${i}`) })));
  await producer.close();
  assert.deepEqual(await backend.endOffsets(topic), [3, 2]);
  const read: BackendRecord[] = [];
  await backend.readPartition(topic, 0, 0, 3, async (records) => void read.push(...records));
  const shape = (r: BackendRecord | (typeof sent)[number], offset: number) => ({
    topic: r.topic,
    partition: r.partition,
    offset,
    key: r.key?.toString() ?? null,
    value: r.value?.toString() ?? null,
    timestamp: r.timestamp,
    headers: Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k, v.toString()])),
  });
  assert.deepEqual(
    read.map((r) => shape(r, r.offset)),
    sent.map((s, offset) => shape(s, offset)),
    'offsets, keys, values (null included), timestamps and headers survive',
  );
}

/**
 * Kafka offsets (markers take one each): c0 c1 c2 c3 [commit] a4 a5, then [abort] and tail in either order: the
 * broker writes the abort marker after EndTxn returned, so the plain record can land before it.
 */
async function writeMixedLog(ctx: ContractContext, topic: string): Promise<void> {
  const plain = await ctx.backend.producer();
  const txn = await ctx.backend.transactionalProducer(ctx.name('mixed-txn'));
  const record = (value: string) => ({ topic, partition: 0, key: buf(value), value: buf(value) });
  await plain.send([record('c0'), record('c1')]);
  await txn.begin();
  await txn.send([record('c2'), record('c3')]);
  await txn.commit();
  await txn.begin();
  await txn.send([record('a4'), record('a5')]);
  await txn.abort();
  await plain.send([record('tail')]);
  await Promise.all([plain.close(), txn.close()]);
}

async function readPartitionRanges(ctx: ContractContext): Promise<void> {
  const { backend, name } = ctx;
  const topic = name('read');
  await backend.createTopics([topicSpec(topic, 1)]);
  await writeMixedLog(ctx, topic);
  // Offsets of every data record, aborted ones included, as a read_uncommitted reader sees them.
  const all = await collect(ctx, { groupId: name('read-all'), topics: [topic], readCommitted: false });
  await all.until('every record', (c) => c.values(topic, 0).includes('tail'));
  await all.member.stop();
  assert.deepEqual(all.values(topic, 0), ['c0', 'c1', 'c2', 'c3', 'a4', 'a5', 'tail']);
  const at = (value: string): number => all.records.find((r) => text(r) === value)!.offset;
  // Past 'tail' means every marker is written (an unwritten abort marker holds Kafka's end offset at a4).
  const ends = await eventually(
    'an end past the tail',
    () => backend.endOffsets(topic),
    (e) => e[0]! > at('tail'),
    ctx.waitMs,
  );
  const end = ends[0]!;
  assert.ok(end - at('tail') <= 2, `the end (${end}) is at most a marker past the tail (${at('tail')})`);
  const read = async (from: number, to: number): Promise<string[]> => {
    const values: string[] = [];
    await backend.readPartition(topic, 0, from, to, async (records) => {
      assert.ok(records.length > 0, 'readPartition never hands over an empty batch');
      for (const r of records) assert.ok(r.offset >= from && r.offset < to, `offset ${r.offset} in [${from}, ${to})`);
      values.push(...records.map(text));
    });
    return values;
  };
  assert.deepEqual(await read(0, end), ['c0', 'c1', 'c2', 'c3', 'tail'], 'the whole log, committed only');
  assert.deepEqual(await read(at('c1'), at('a4')), ['c1', 'c2', 'c3'], 'a range ending in a commit marker');
  assert.deepEqual(await read(at('c2'), at('tail')), ['c2', 'c3'], 'a range ending in aborted records (+ marker)');
  assert.deepEqual(await read(at('a4'), at('a5') + 1), [], 'a range of aborted records only');
  assert.deepEqual(await read(at('tail'), end), ['tail'], 'a range ending at the end (in a marker, if it follows)');
  assert.deepEqual(await read(at('tail'), at('tail')), [], 'an empty range');
  assert.deepEqual(await read(end, 0), [], 'from after to');
}

async function keyPartitioningIsStable(ctx: ContractContext): Promise<void> {
  const { backend, name } = ctx;
  const topic = name('keys');
  await backend.createTopics([topicSpec(topic, 4)]);
  const keys = Array.from({ length: 40 }, (_, i) => `key-${i}-${'x'.repeat(i % 7)}`);
  const plain = await backend.producer();
  await plain.send(keys.map((key) => ({ topic, key: buf(key), value: buf(`plain:${key}`) })));
  await plain.close();
  const txn = await backend.transactionalProducer(name('keys-txn'));
  await txn.begin();
  await txn.send(keys.map((key) => ({ topic, key: buf(key), value: buf(`txn:${key}`) })));
  await txn.commit();
  await txn.close();
  const reader = await collect(ctx, { groupId: name('keys-reader'), topics: [topic], readCommitted: true });
  await reader.until('both copies of every key', (c) => c.records.length >= 2 * keys.length);
  await reader.member.stop();
  assert.deepEqual(reader.violations, []);
  assert.equal(reader.records.length, 2 * keys.length);
  for (const record of reader.records) {
    const key = record.key!.toString();
    assert.equal(record.partition, defaultPartition(record.key, 4), `partition of ${key}`);
  }
  const used = new Set(reader.records.map((r) => r.partition));
  assert.ok(used.size >= 3, `keys spread over partitions (${[...used].join(',')})`);
}

export const topicTests: ContractTest[] = [
  {
    title: 'createTopics is idempotent; partitionCount, endOffsets, committedOffsets of new topics',
    run: createTopicsIsIdempotent,
  },
  {
    title: 'createTopics rejects another partition count, naming the topic and both counts',
    run: createTopicsRejectsMismatch,
  },
  { title: 'produced records read back whole; endOffsets counts them', run: produceThenEndOffsets },
  {
    title: 'readPartition returns exactly the committed records of [from, to) and ends on markers',
    run: readPartitionRanges,
  },
  {
    title: 'records without a partition go to defaultPartition(key), from both producers',
    run: keyPartitioningIsStable,
  },
];
