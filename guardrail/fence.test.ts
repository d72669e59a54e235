/**
 * EpochFence on its own: the epoch only moves forward, stale messages are refused and counted per label set,
 * and a replica holding a message from a newer epoch can wait for its config to catch up.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryCounters } from './counters.ts';
import { EpochFence } from './fence.ts';

describe('epoch fence', () => {
  test('admits current and newer epochs, refuses and counts older ones', () => {
    const counters = new MemoryCounters();
    const fence = new EpochFence(3, counters, { replica: 'r1' });
    assert.deepEqual([fence.check(3), fence.check(4), fence.check(2)], ['current', 'ahead', 'stale']);
    assert.equal(fence.admit(3, 'Commit'), true);
    assert.equal(fence.admit(2, 'Commit'), false);
    assert.equal(fence.admit(1, 'PreAccept'), false);
    assert.equal(fence.rejected, 2);
    assert.deepEqual(counters.snapshot(), {
      'guardrail_stale_epoch_rejections_total{kind="Commit",replica="r1"}': 1,
      'guardrail_stale_epoch_rejections_total{kind="PreAccept",replica="r1"}': 1,
    });
  });

  test('the epoch never goes back; waiters resolve when it reaches theirs', async () => {
    const fence = new EpochFence(1);
    const order: string[] = [];
    const at3 = fence.whenAtLeast(3).then(() => order.push('3'));
    const at2 = fence.whenAtLeast(2).then(() => order.push('2'));
    fence.advance(2);
    await at2;
    assert.deepEqual(order, ['2']);
    fence.advance(1);
    assert.equal(fence.epoch, 2, 're-delivered older configs do not move the fence back');
    fence.advance(5);
    await at3;
    assert.deepEqual(order, ['2', '3']);
    await fence.whenAtLeast(4); // already there: resolves at once
    assert.equal(fence.admit(4), false);
  });
});
