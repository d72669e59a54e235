/**
 * The linearizability checker (linearizability.ts) on histories whose answer is known, and against a deliberately
 * naive oracle (every order of every subset) on random small histories (STYLE.md §10).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  checkLinearizable,
  listAppend,
  listAppendFor,
  type AppendInput,
  type AppendOutput,
  type Operation,
  unobservedAppendsAlike,
} from './linearizability.ts';

type Op = Operation<AppendInput, AppendOutput>;
const append = (value: string, call: number, ret?: number, position?: number): Op => ({
  id: `append ${value}`,
  input: { kind: 'append', value },
  call,
  ...(ret === undefined ? {} : { ret: { time: ret, output: position! } }),
});
const read = (call: number, ret: number | undefined, seen: string[]): Op => ({
  id: `read@${call}`,
  input: { kind: 'read' },
  call,
  ...(ret === undefined ? {} : { ret: { time: ret, output: seen } }),
});
const ok = (...ops: Op[]): boolean => checkLinearizable(listAppend, ops).ok;

describe('histories with a known answer', () => {
  test('a read after an append returned sees it; a stale read is not linearizable', () => {
    assert.equal(ok(append('x', 0, 10, 0), read(20, 30, ['x'])), true);
    assert.equal(ok(append('x', 0, 10, 0), read(20, 30, [])), false);
  });
  test('a read overlapping an append may see it or not, but not the future', () => {
    assert.equal(ok(append('x', 0, 30, 0), read(10, 20, [])), true);
    assert.equal(ok(append('x', 0, 30, 0), read(10, 20, ['x'])), true);
    assert.equal(ok(read(0, 10, ['x']), append('x', 20, 30, 0)), false);
  });
  test('two appends cannot both be first; positions must follow real time', () => {
    assert.equal(ok(append('x', 0, 10, 0), append('y', 5, 15, 0)), false);
    assert.equal(ok(append('x', 0, 10, 1), append('y', 5, 15, 0)), true);
    assert.equal(ok(append('x', 0, 10, 1), append('y', 20, 30, 0)), false);
  });
  test('an indeterminate append may have happened, or not — but once seen, it stays', () => {
    assert.equal(ok(append('x', 0), read(50, 60, ['x'])), true);
    assert.equal(ok(append('x', 0), read(50, 60, [])), true);
    assert.equal(ok(append('x', 0), read(50, 60, ['x']), read(70, 80, [])), false);
    assert.equal(ok(append('x', 0), read(50, 60, [])), true);
    assert.equal(ok(append('x', 100), read(50, 60, ['x'])), false, 'not before its call');
  });
  test('reads must agree on one order of concurrent appends', () => {
    const [x, y] = [append('x', 0, 100, 0), append('y', 0, 100, 1)];
    assert.equal(ok(x, y, read(10, 20, ['x']), read(30, 40, ['x', 'y'])), true);
    assert.equal(ok(x, y, read(10, 20, ['y']), read(30, 40, ['x', 'y'])), false);
  });
  test('the longest explainable sequence names the operations taken before the search gave up', () => {
    const result = checkLinearizable(listAppend, [append('x', 0, 10, 0), read(20, 30, [])]);
    assert.deepEqual(result, { ok: false, longest: ['append x'] });
  });
});

/** The naive oracle: some subset holding every determinate operation, in some order that respects real time. */
function bruteForce(ops: Op[]): boolean {
  const n = ops.length;
  const fits = (order: number[]): boolean => {
    let state: readonly string[] | undefined = listAppend.init();
    for (const i of order) {
      state = listAppend.step(state!, ops[i]!.input, ops[i]!.ret?.output);
      if (state === undefined) return false;
    }
    return true;
  };
  const respectsTime = (order: number[]): boolean =>
    order.every((a, i) => order.slice(i + 1).every((b) => !(ops[b]!.ret && ops[b]!.ret.time < ops[a]!.call)));
  const permutations = (items: number[]): number[][] =>
    items.length <= 1
      ? [items]
      : items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((p) => [x, ...p]));
  for (let mask = 0; mask < 1 << n; mask++) {
    const subset = [...Array(n).keys()].filter((i) => mask & (1 << i));
    if (ops.some((op, i) => op.ret && !subset.includes(i))) continue;
    if (permutations(subset).some((order) => respectsTime(order) && fits(order))) return true;
  }
  return false;
}

/** Random histories on one key: appends of distinct values and reads, some indeterminate, with plausible outputs. */
const history = fc
  .array(
    fc.record({
      read: fc.boolean(),
      call: fc.integer({ min: 0, max: 20 }),
      length: fc.integer({ min: 0, max: 12 }),
      determinate: fc.integer({ min: 0, max: 3 }).map((x) => x > 0),
      position: fc.integer({ min: 0, max: 3 }),
      seen: fc.subarray(['v0', 'v1', 'v2', 'v3']),
    }),
    { minLength: 1, maxLength: 6 },
  )
  .map((specs) =>
    specs.map((s, i): Op => {
      const ret = s.determinate ? s.call + s.length : undefined;
      return s.read ? read(s.call, ret, s.seen) : append(`v${i}`, s.call, ret, s.position);
    }),
  );

/** Checks `check` against the naive oracle on 3000 random small histories, and that both answers occur. */
function agreesWithOracle(check: (ops: Op[]) => boolean, seed: number): void {
  const outcomes = new Set<boolean>();
  fc.assert(
    fc.property(history, (ops) => {
      const expected = bruteForce(ops);
      outcomes.add(expected);
      return check(ops) === expected;
    }),
    { numRuns: 3000, seed },
  );
  assert.deepEqual([...outcomes].sort(), [false, true]);
}

test('agrees with the naive oracle on random small histories (both answers occur)', () =>
  agreesWithOracle((ops) => checkLinearizable(listAppend, ops).ok, 7));

test('appends no read saw, made alike, give the same answer as the history itself', () =>
  agreesWithOracle((ops) => checkLinearizable(listAppend, unobservedAppendsAlike(ops)).ok, 11));

test('many timed-out appends on a key stay within the search bound once made alike', () => {
  // 16 appends that all timed out, overlapping; a read saw two of them, in that order; a late append landed third
  // of what it saw... 16! orders of distinct values; with the unseen ones alike, a few thousand states.
  const timedOut = Array.from({ length: 16 }, (_, i) => append(`t${i}`, i));
  const seenTwo = read(20, 21, ['t3', 't7']);
  const late = append('late', 22, 23, 2);
  assert.equal(checkLinearizable(listAppend, unobservedAppendsAlike([...timedOut, seenTwo, late])).ok, true);
  // The same read, but an append that had returned before the read was called, at position 0, is not in it.
  const early = append('early', 17, 18, 0);
  assert.equal(checkLinearizable(listAppend, unobservedAppendsAlike([...timedOut, early, seenTwo])).ok, false);
});

test('the list-append model pruned by the longest read gives the same answer as the plain one', () =>
  agreesWithOracle((ops) => {
    const alike = unobservedAppendsAlike(ops);
    return checkLinearizable(listAppendFor(alike), alike).ok;
  }, 13));

test('timed-out appends a read saw in its order stay within the search bound with the pruned model', () => {
  // Seed 4531's shape: 12 appends timed out, one read saw all of them in an order of its own, one append returned
  // position 4 in between. Without the pruning the search tried the orders of the 12 before the read.
  const values = Array.from({ length: 12 }, (_, i) => `t${i}`);
  const timedOut = values.map((v, i) => append(v, i));
  const order = [...values].sort((a, b) => a.length - b.length || (a > b ? -1 : 1)); // t9 … t0, t11, t10
  const mid = append('mid', 20, 30, 4);
  const saw = read(40, 41, [...order.slice(0, 4), 'mid', ...order.slice(4)]);
  const ops = [...timedOut, mid, saw];
  assert.equal(checkLinearizable(listAppendFor(ops), ops).ok, true);
  const wrong = read(40, 41, [...order.slice(0, 3), 'mid', ...order.slice(3)]); // mid at 3, but it returned 4
  assert.equal(checkLinearizable(listAppendFor([...timedOut, mid, wrong]), [...timedOut, mid, wrong]).ok, false);
});
