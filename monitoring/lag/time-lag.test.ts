/** kafka-lag-exporter's time-lag estimate: interpolation, extrapolation, flat stretches, bounds. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LookupTable } from './time-lag.ts';

function table(size: number, ...points: [number, number][]): LookupTable {
  const t = new LookupTable(size);
  for (const [offset, time] of points) t.add(offset, time);
  return t;
}

describe('LookupTable', () => {
  it('interpolates between the two points around the offset', () => {
    const t = table(10, [0, 0], [100, 10_000], [300, 20_000]);
    assert.equal(t.estimateTime(50), 5_000);
    assert.equal(t.estimateTime(200), 15_000);
    assert.equal(t.estimateTime(100), 10_000);
    assert.equal(t.lagSeconds(200, 30_000), 15);
  });

  it('a consumer at or past the newest point has no lag', () => {
    const t = table(10, [0, 0], [100, 10_000]);
    assert.equal(t.lagSeconds(100, 99_000), 0);
    assert.equal(t.lagSeconds(150, 99_000), 0);
  });

  it('extrapolates backwards from the whole table’s rate when the offset is older than the table', () => {
    const t = table(10, [100, 10_000], [200, 20_000]); // 10 offsets per second
    assert.equal(t.estimateTime(50), 5_000);
    assert.equal(t.lagSeconds(50, 20_000), 15);
  });

  it('with no rate to extrapolate from, takes the first point’s time', () => {
    assert.equal(table(10, [100, 10_000]).estimateTime(10), 10_000);
    assert.equal(table(10, [100, 10_000], [100, 30_000]).estimateTime(10), 10_000);
  });

  it('a flat stretch keeps its first point (when the offset was reached) and its latest', () => {
    const t = table(10, [0, 0], [100, 10_000], [100, 20_000], [100, 30_000], [100, 40_000]);
    assert.deepEqual(t.points(), [
      { offset: 0, time: 0 },
      { offset: 100, time: 10_000 },
      { offset: 100, time: 40_000 },
    ]);
    assert.equal(t.estimateTime(50), 5_000, 'not pulled later by the flat stretch');
    assert.equal(t.lagSeconds(50, 40_000), 35);
  });

  it('holds at most `size` points, dropping the oldest', () => {
    const t = table(3, [0, 0], [10, 1], [20, 2], [30, 3]);
    assert.deepEqual(
      t.points().map((p) => p.offset),
      [10, 20, 30],
    );
  });

  it('ignores a point older than the newest, and starts over when the offset goes backwards', () => {
    const t = table(5, [0, 0], [10, 100], [20, 50]);
    assert.deepEqual(
      t.points().map((p) => p.offset),
      [0, 10],
    );
    t.add(3, 200); // the partition was truncated or recreated
    assert.deepEqual(t.points(), [{ offset: 3, time: 200 }]);
  });

  it('an empty table has no estimate', () => {
    assert.equal(new LookupTable(2).lagSeconds(0, 0), undefined);
    assert.throws(() => new LookupTable(1), />= 2/);
  });

  it('property: estimates grow with the offset and lag is never negative', () => {
    const steps = fc.array(fc.record({ produced: fc.nat(50), elapsed: fc.integer({ min: 1, max: 5_000 }) }), {
      minLength: 1,
      maxLength: 30,
    });
    fc.assert(
      fc.property(steps, fc.integer({ min: 2, max: 8 }), fc.nat(2_000), (samples, size, probe) => {
        const t = new LookupTable(size);
        let offset = 0;
        let time = 0;
        for (const { produced, elapsed } of samples) t.add((offset += produced), (time += elapsed));
        let previous = -Infinity;
        for (let o = 0; o <= offset + 1; o += Math.max(1, Math.floor(offset / 20))) {
          const estimate = t.estimateTime(o)!;
          assert.ok(estimate >= previous, `estimate for ${o} went back`);
          previous = estimate;
          assert.ok(estimate <= time, 'never later than the newest point');
        }
        assert.ok(t.lagSeconds(probe, time + probe)! >= 0);
        assert.ok(t.points().length <= size);
      }),
    );
  });
});
