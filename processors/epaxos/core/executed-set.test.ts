/**
 * ExecutedSet: per replica, a watermark absorbs the executed slots below it, so the set holds only the executed
 * instances above a gap; restoring from the watermarks and those keys gives the same answers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExecutedSet } from './executed-set.ts';

test('slots executed out of order are held one by one until the gap closes, then absorbed', () => {
  const set = new ExecutedSet();
  assert.equal(set.add('r0.1'), undefined, 'r0.0 is missing: no watermark yet');
  assert.equal(set.add('r0.2'), undefined);
  assert.equal(set.sparse, 2);
  assert.deepEqual(set.add('r0.0'), { replica: 'r0', below: 3 }, 'the gap closed: 0, 1 and 2 under the watermark');
  assert.equal(set.sparse, 0);
  assert.ok(set.has('r0.0') && set.has('r0.2') && !set.has('r0.3') && !set.has('r1.0'));
  assert.equal(set.add('r0.1'), undefined, 'executed already: no change');
  assert.equal(set.size, 3);
  set.add('r1.5');
  assert.deepEqual(set.watermarks(), [['r0', 3]]);
  assert.deepEqual(set.keysAbove(), ['r1.5']);
});

test('restored from its watermarks and the keys above them, it answers as before', () => {
  const set = new ExecutedSet();
  for (const key of ['r0.0', 'r0.1', 'r2.0', 'r2.3', 'r1.4']) set.add(key);
  const restored = new ExecutedSet(set.keysAbove(), set.watermarks());
  for (const key of ['r0.0', 'r0.1', 'r0.2', 'r2.0', 'r2.1', 'r2.3', 'r1.0', 'r1.4', 'r10.0']) {
    assert.equal(restored.has(key), set.has(key), key);
  }
  assert.deepEqual(restored.add('r2.1'), { replica: 'r2', below: 2 });
  assert.deepEqual(restored.add('r2.2'), { replica: 'r2', below: 4 }, 'r2.3 above the gap is absorbed too');
});
