/**
 * Clock skew (clock.ts): each profile's rate over many chances, phases, and the per-seed draw.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Clock, drawClocks } from './clock.ts';
import { seeded } from './random.ts';

const ticksOver = (clock: Clock, chances: number): number[] => Array.from({ length: chances }, () => clock.next());
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

test('fast, slow and bursty clocks tick 3x, 1/3x and 1x the steady rate', () => {
  assert.equal(sum(ticksOver(new Clock({ kind: 'steady' }), 300)), 300);
  assert.equal(sum(ticksOver(new Clock({ kind: 'fast', factor: 3 }), 300)), 900);
  assert.equal(sum(ticksOver(new Clock({ kind: 'slow', factor: 3, phase: 0 }), 300)), 100);
  const bursts = ticksOver(new Clock({ kind: 'bursty', period: 4, phase: 0 }), 300);
  assert.equal(sum(bursts), 300);
  assert.deepEqual(bursts.slice(0, 8), [0, 0, 0, 4, 0, 0, 0, 4], 'silence, then the ticks owed at once');
});

test('the phase shifts when a slow clock ticks, so two slow replicas do not tick in step', () => {
  const a = ticksOver(new Clock({ kind: 'slow', factor: 3, phase: 0 }), 6);
  const b = ticksOver(new Clock({ kind: 'slow', factor: 3, phase: 1 }), 6);
  assert.deepEqual(a, [1, 0, 0, 1, 0, 0]);
  assert.deepEqual(b, [0, 0, 1, 0, 0, 1]);
  assert.equal(new Clock({ kind: 'slow', factor: 3, phase: 1 }).slowdown, 3);
});

test('without skew every clock is steady; with skew, seeds draw every kind', () => {
  assert.ok(drawClocks(seeded(1), 5, false).every((c) => c.profile.kind === 'steady'));
  const kinds = new Set<string>();
  for (let seed = 1; seed <= 50; seed++) for (const c of drawClocks(seeded(seed), 3, true)) kinds.add(c.profile.kind);
  assert.deepEqual([...kinds].sort(), ['bursty', 'fast', 'slow', 'steady']);
});
