/**
 * Quorum sizes against deliberately naive oracles (STYLE.md §10). The brute-force oracle enumerates replica
 * sets: the slow quorum is the smallest size at which any two quorums intersect; the fast quorum (with the
 * leader) the smallest size at which every recovery quorum of F+1 replicas without the leader still meets at
 * least ⌊(F+1)/2⌋ of the fast quorum's other members (Moraru et al. SOSP'13 §4.3, optimized EPaxos recovery).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { GuardrailInputError } from './errors.ts';
import { quorumSizes } from './quorum.ts';

const popcount = (x: number) => {
  let c = 0;
  for (let v = x; v; v &= v - 1) c++;
  return c;
};

/** Every subset of {0..n-1} of the given size, as bitmasks. */
function subsets(n: number, size: number): number[] {
  const out: number[] = [];
  for (let mask = 0; mask < 1 << n; mask++) if (popcount(mask) === size) out.push(mask);
  return out;
}

function bruteForceSlow(n: number): number {
  for (let q = 1; ; q++) {
    const all = subsets(n, q);
    if (all.every((a) => all.every((b) => (a & b) !== 0))) return q;
  }
}

function bruteForceFast(n: number): number {
  const f = (n - 1) / 2;
  const needed = Math.floor((f + 1) / 2);
  const leader = 1; // replica 0
  const recoveries = subsets(n, f + 1).filter((r) => (r & leader) === 0);
  for (let q = 1; ; q++) {
    const fastQuorums = subsets(n, q).filter((s) => (s & leader) !== 0);
    if (fastQuorums.every((s) => recoveries.every((r) => popcount(s & ~leader & r) >= needed))) return q;
  }
}

/** The same conditions by counting instead of enumerating, for N too large to enumerate. */
function countingOracle(n: number): { slow: number; fast: number } {
  const f = (n - 1) / 2;
  let slow = 1;
  while (2 * slow <= n) slow++;
  let fast = 1;
  // The worst recovery quorum avoids the fast quorum as much as it can: it meets (fast-1) + (f+1) - (n-1) of it.
  while (fast - 1 + (f + 1) - (n - 1) < Math.floor((f + 1) / 2)) fast++;
  return { slow, fast };
}

const oddN = (max: number) => fc.integer({ min: 0, max: (max - 1) / 2 }).map((f) => 2 * f + 1);

describe('quorum sizes', () => {
  test('DESIGN.md §3 table: N=3 → 2, N=5 → 3, N=7 → 5 (fast); slow F+1', () => {
    const rows = [1, 3, 5, 7, 9, 11].map((n) => {
      const q = quorumSizes(n);
      return [n, q.f, q.fastQuorum, q.slowQuorum];
    });
    assert.deepEqual(rows, [
      [1, 0, 1, 1],
      [3, 1, 2, 2],
      [5, 2, 3, 3],
      [7, 3, 5, 4],
      [9, 4, 6, 5],
      [11, 5, 8, 6],
    ]);
  });

  test('the often-quoted ⌈N/2⌉+1 disagrees: too big at N=3, too small (unsafe) at N=11', () => {
    const seed = (n: number) => Math.ceil(n / 2) + 1;
    assert.ok(seed(3) > quorumSizes(3).fastQuorum);
    assert.ok(seed(11) < bruteForceFast(11));
  });

  test('property: equals the brute-force oracle for every odd N up to 11', () => {
    fc.assert(
      fc.property(oddN(11), (n) => {
        const q = quorumSizes(n);
        assert.equal(q.slowQuorum, bruteForceSlow(n), `slow quorum at N=${n}`);
        assert.equal(q.fastQuorum, bruteForceFast(n), `fast quorum at N=${n}`);
      }),
      { numRuns: 30 },
    );
  });

  test('property: equals the counting oracle for odd N up to 10001; quorums fit in N and fast >= slow from N=3', () => {
    fc.assert(
      fc.property(oddN(10_001), (n) => {
        const q = quorumSizes(n);
        const oracle = countingOracle(n);
        assert.deepEqual([q.slowQuorum, q.fastQuorum], [oracle.slow, oracle.fast], `N=${n}`);
        assert.equal(q.n, 2 * q.f + 1);
        assert.ok(q.fastQuorum <= n && q.slowQuorum <= n);
        if (n >= 3) assert.ok(q.fastQuorum >= q.slowQuorum);
      }),
    );
  });

  test('property: even, zero, negative and fractional N are rejected with a clear error', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: 0, max: 5_000 }).map((f) => 2 * f),
          fc.integer({ max: 0 }),
          fc.double({ noInteger: true }),
        ),
        (n) => {
          assert.throws(
            () => quorumSizes(n),
            (e) => e instanceof GuardrailInputError && e.code === 'INVALID_ARGUMENT',
          );
        },
      ),
    );
    assert.throws(() => quorumSizes(4), /N=4 is even/);
  });
});
