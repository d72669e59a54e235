/**
 * Burrow's rules (STREAMS-NOTES.md §3), one test per rule and per precedence between rules, then properties.
 * Windows are written as [offset, timestamp, lag] triples.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  CommitWindow,
  evaluateGroup,
  evaluatePartition,
  statusCode,
  statusOrder,
  type CommitEntry,
  type PartitionStatus,
} from './burrow.ts';

const w = (...entries: [number, number, number][]): CommitEntry[] =>
  entries.map(([offset, timestamp, lag]) => ({ offset, timestamp, lag }));

describe('partition rules', () => {
  it('rule 1: current lag 0 is OK whatever the window says', () => {
    const rewinding = w([10, 0, 5], [4, 10, 9]);
    assert.equal(evaluatePartition(rewinding, 0, 1_000_000), 'OK');
  });

  it('rule 1: a zero lag anywhere in the window is OK, even with a rewind, a stop or a stall after it', () => {
    assert.equal(evaluatePartition(w([10, 0, 0], [4, 10, 9]), 3, 20), 'OK', 'rewind after zero lag');
    assert.equal(evaluatePartition(w([10, 0, 0], [12, 10, 3]), 3, 1_000), 'OK', 'stopped after zero lag');
    assert.equal(evaluatePartition(w([10, 0, 0], [10, 10, 5], [10, 20, 5]), 5, 20), 'OK', 'stall after zero lag');
  });

  it('rule 2: an offset that went down is REWIND, ahead of STOP', () => {
    const window = w([10, 0, 5], [12, 10, 6], [11, 20, 8]);
    assert.equal(evaluatePartition(window, 8, 20), 'REWIND');
    assert.equal(evaluatePartition(window, 8, 10_000), 'REWIND', 'also long after the last commit');
  });

  it('rule 3: no commit for longer than the window spans is STOP, ahead of STALL and WARN', () => {
    const stalled = w([10, 0, 5], [10, 10, 5], [10, 20, 5]); // span 20
    assert.equal(evaluatePartition(stalled, 5, 40), 'STALL', 'now − last = 20 is not more than the span');
    assert.equal(evaluatePartition(stalled, 5, 41), 'STOP', 'now − last = 21 is');
    const slow = w([10, 0, 5], [12, 10, 6], [14, 20, 7]);
    assert.equal(evaluatePartition(slow, 7, 40), 'WARN');
    assert.equal(evaluatePartition(slow, 7, 41), 'STOP');
  });

  it('rule 3: a window of one commit stops as soon as time passes it', () => {
    assert.equal(evaluatePartition(w([10, 100, 5]), 5, 100), 'STALL');
    assert.equal(evaluatePartition(w([10, 100, 5]), 5, 101), 'STOP');
  });

  it('rule 4: committing the same offset with lag is STALL, ahead of WARN', () => {
    // Lag never decreases here either (rule 5 would say WARN): STALL wins.
    assert.equal(evaluatePartition(w([7, 0, 3], [7, 10, 4], [7, 20, 6]), 6, 20), 'STALL');
  });

  it('rule 5: offsets moving while the lag never decreases is WARN (equal lag counts as not decreasing)', () => {
    assert.equal(evaluatePartition(w([10, 0, 5], [12, 10, 5], [14, 20, 9]), 9, 20), 'WARN');
  });

  it('rule 6: offsets moving and the lag going down somewhere is OK', () => {
    assert.equal(evaluatePartition(w([10, 0, 5], [15, 10, 9], [20, 20, 4]), 4, 20), 'OK');
    assert.equal(evaluatePartition(w([10, 0, 9], [15, 10, 4], [20, 20, 8]), 8, 20), 'OK', 'a dip then a rise');
  });

  it('an empty window with lag cannot be judged: NOTFOUND', () => {
    assert.equal(evaluatePartition([], 3, 0), 'NOTFOUND');
    assert.equal(evaluatePartition([], 0, 0), 'OK');
  });
});

describe('group status', () => {
  it('is the worst partition status, capped at ERR', () => {
    assert.equal(evaluateGroup(['OK', 'OK']), 'OK');
    assert.equal(evaluateGroup(['OK', 'WARN']), 'WARN');
    for (const bad of ['STOP', 'STALL', 'REWIND'] as const) assert.equal(evaluateGroup(['OK', 'WARN', bad]), 'ERR');
    assert.equal(evaluateGroup(['NOTFOUND', 'OK']), 'OK');
    assert.equal(evaluateGroup(['NOTFOUND']), 'NOTFOUND');
    assert.equal(evaluateGroup([]), 'NOTFOUND');
  });

  it('status codes follow Burrow’s enum order', () => {
    assert.deepEqual(statusOrder, ['NOTFOUND', 'OK', 'WARN', 'ERR', 'STOP', 'STALL', 'REWIND']);
    assert.equal(statusCode('ERR'), 3);
    assert.equal(statusCode('REWIND'), 6);
  });
});

describe('CommitWindow', () => {
  it('keeps the last `size` commits and clamps negative lag to 0', () => {
    const window = new CommitWindow(3, 0);
    for (let i = 0; i < 5; i++) window.add(10 + i, i * 100, 12);
    assert.deepEqual(
      window.entries().map((e) => [e.offset, e.lag]),
      [
        [12, 0],
        [13, 0],
        [14, 0],
      ],
    );
    assert.equal(window.complete, true);
  });

  it('a commit closer than minDistanceMs to the previous one replaces it', () => {
    const window = new CommitWindow(5, 1000);
    window.add(1, 0, 10);
    window.add(2, 400, 10); // replaces offset 1
    window.add(3, 1500, 10); // 1100 ms after the entry at 400: a new slot
    assert.deepEqual(
      window.entries().map((e) => [e.offset, e.timestamp]),
      [
        [2, 400],
        [3, 1500],
      ],
    );
    assert.equal(window.complete, false);
  });

  it('rejects nonsense sizes', () => {
    assert.throws(() => new CommitWindow(0, 0), /positive integer/);
    assert.throws(() => new CommitWindow(3, -1), />= 0/);
  });
});

describe('properties', () => {
  const entry = fc.record({
    offset: fc.integer({ min: 0, max: 50 }),
    timestamp: fc.integer({ min: 0, max: 1_000 }),
    lag: fc.integer({ min: 0, max: 20 }),
  });
  const windowArb = fc
    .array(entry, { minLength: 1, maxLength: 10 })
    .map((entries) => [...entries].sort((a, b) => a.timestamp - b.timestamp));

  it('judging is invariant under shifting every time by the same amount', () => {
    fc.assert(
      fc.property(windowArb, fc.nat(20), fc.nat(2_000), fc.integer({ min: -1e6, max: 1e6 }), (win, lag, now, d) => {
        const shifted = win.map((e) => ({ ...e, timestamp: e.timestamp + d }));
        assert.equal(evaluatePartition(shifted, lag, now + d), evaluatePartition(win, lag, now));
      }),
    );
  });

  it('once STOP, a partition stays STOP as time goes on with no new commit', () => {
    fc.assert(
      fc.property(windowArb, fc.integer({ min: 1, max: 20 }), fc.nat(2_000), fc.nat(10_000), (win, lag, now, d) => {
        if (evaluatePartition(win, lag, now) === 'STOP') assert.equal(evaluatePartition(win, lag, now + d), 'STOP');
      }),
    );
  });

  it('each status implies the condition of its rule', () => {
    fc.assert(
      fc.property(windowArb, fc.nat(20), fc.nat(2_000), (win, lag, now) => {
        const status: PartitionStatus = evaluatePartition(win, lag, now);
        const anyZero = lag === 0 || win.some((e) => e.lag === 0);
        const decreased = win.some((e, i) => i > 0 && e.offset < win[i - 1]!.offset);
        const last = win.at(-1)!;
        if (anyZero) assert.equal(status, 'OK');
        if (status === 'REWIND') assert.ok(decreased);
        if (status === 'STOP') assert.ok(!decreased && now - last.timestamp > last.timestamp - win[0]!.timestamp);
        if (status === 'STALL') assert.ok(win.every((e) => e.offset === win[0]!.offset));
        if (status === 'WARN') assert.ok(win.every((e, i) => i === 0 || e.lag >= win[i - 1]!.lag));
        assert.notEqual(status, 'NOTFOUND');
      }),
    );
  });

  it('the group status never exceeds ERR and equals the worst partition below it', () => {
    const statuses: PartitionStatus[] = ['NOTFOUND', 'OK', 'WARN', 'STOP', 'STALL', 'REWIND'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...statuses), { maxLength: 8 }), (list) => {
        const group = evaluateGroup(list);
        const worst = Math.max(0, ...list.map(statusCode));
        assert.equal(statusCode(group), Math.min(worst, statusCode('ERR')));
      }),
    );
  });

  it('a window never holds more than `size` commits, in time order, min-distance apart', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.nat(500),
        fc.array(fc.nat(300), { maxLength: 40 }),
        (size, minDistance, gaps) => {
          const window = new CommitWindow(size, minDistance);
          let t = 0;
          gaps.forEach((gap, i) => window.add(i, (t += gap), i + 5));
          const entries = window.entries();
          assert.ok(entries.length <= size);
          entries.forEach((e, i) => i > 0 && assert.ok(e.timestamp - entries[i - 1]!.timestamp >= minDistance));
          if (gaps.length > 0) assert.equal(entries.at(-1)!.offset, gaps.length - 1, 'the newest commit is kept');
        },
      ),
    );
  });
});
