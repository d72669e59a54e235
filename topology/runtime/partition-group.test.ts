/**
 * PartitionGroup on its own: the next record is the oldest head across the task's partitions (ties: the earlier
 * topic), a partition that is empty while more of it is known to exist (fetch position below the known end)
 * makes the group wait, buffered counts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BackendRecord } from '../backend/types.ts';
import { PartitionGroup } from './partition-group.ts';

function records(topic: string, from: number, timestamps: number[]): BackendRecord[] {
  return timestamps.map((timestamp, i) => ({
    topic,
    partition: 0,
    offset: from + i,
    key: null,
    value: Buffer.from(`${topic}@${timestamp}`),
    timestamp,
    headers: {},
  }));
}

function drain(group: PartitionGroup): string[] {
  const out: string[] = [];
  for (let r = group.poll(); r; r = group.poll()) out.push(r.value!.toString());
  return out;
}

test('poll takes the oldest head across partitions; ties go to the earlier topic', () => {
  const group = new PartitionGroup(['a', 'b', 'c'], [0, 0, 0], [0, 0, 0]);
  group.add('b', records('b', 0, [2, 5, 5]), 3, 3);
  group.add('a', records('a', 0, [1, 5, 9]), 3, 3);
  group.add('c', records('c', 0, [5, 3]), 2, 2); // out of order inside a partition: offsets still win there
  assert.equal(group.buffered(), 8);
  assert.equal(group.buffered('c'), 2);
  assert.deepEqual(drain(group), ['a@1', 'b@2', 'a@5', 'b@5', 'b@5', 'c@5', 'c@3', 'a@9']);
  assert.equal(group.buffered(), 0);
  assert.equal(group.poll(), undefined);
});

test('an empty partition known to hold more data makes the group wait until its data arrives', () => {
  // b's end (3) is known from the start, e.g. read at task creation; nothing of b is buffered yet.
  const group = new PartitionGroup(['a', 'b'], [0, 0], [0, 3]);
  assert.equal(group.waitingForData(), true);
  group.add('a', records('a', 0, [1]), 1, 1);
  assert.equal(group.waitingForData(), true);
  group.add('b', records('b', 0, [0, 2]), 3, 2);
  assert.equal(group.waitingForData(), false);
  assert.deepEqual([group.poll()?.timestamp, group.poll()?.timestamp], [0, 1]);
  // a is empty and at its end: no reason to wait for it while b still has a record.
  assert.equal(group.waitingForData(), false);
  assert.equal(group.poll()?.timestamp, 2);
  assert.equal(group.waitingForData(), true, 'b: fetched up to 2 of 3');
  group.add('b', records('b', 2, [7]), 3, 3);
  assert.equal(group.waitingForData(), false);
});

test('the fetch position, markers included, tells a caught-up partition from one with more to come', () => {
  // Records at 0 and 1, a commit marker at 2: the end (3) was known when the task was created.
  const group = new PartitionGroup(['a', 'b'], [0, 0], [3, 0]);
  group.add('a', records('a', 0, [1, 2]), 3, 3); // the batch covered the marker: nextOffset 3
  group.poll();
  group.poll();
  assert.equal(group.waitingForData(), false);
  // A batch that stopped before the marker leaves the group waiting, until a marker-only advance arrives.
  const other = new PartitionGroup(['a', 'b'], [0, 0], [3, 0]);
  other.add('a', records('a', 0, [1, 2]), 3, 2);
  other.poll();
  other.poll();
  assert.equal(other.waitingForData(), true);
  other.advance('a', 3, 3);
  assert.equal(other.waitingForData(), false);
  // Positions never go back (a late report of an older position changes nothing).
  other.advance('a', 1, 3);
  assert.equal(other.waitingForData(), false);
});

test('clear drops what is buffered; counts stay right after many polls (head compaction)', () => {
  const group = new PartitionGroup(['a'], [0], [0]);
  const many = Array.from({ length: 3000 }, (_, i) => i);
  group.add('a', records('a', 0, many.slice(0, 1500)), 1500, 1500);
  for (let i = 0; i < 1400; i++) group.poll();
  group.add('a', records('a', 1500, many.slice(1500)), 3000, 3000);
  assert.equal(group.buffered('a'), 1600);
  assert.equal(group.poll()!.offset, 1400);
  group.clear();
  assert.equal(group.buffered(), 0);
  assert.equal(group.poll(), undefined);
  assert.throws(() => group.buffered('nope'), /partition group has no source topic nope/);
});

test('records handed over again (a fetch that raced a seek) are buffered once', () => {
  const group = new PartitionGroup(['a'], [10], [0]);
  group.add('a', records('a', 8, [1, 2, 3, 4]), 12, 12); // offsets 8..11: 8 and 9 precede the start offset
  group.add('a', records('a', 10, [3, 4, 5]), 13, 13); // 10 and 11 again, then 12
  assert.deepEqual(drain(group), ['a@3', 'a@4', 'a@5']);
  assert.equal(group.describe()[0]!.fetched, 13);
});
