/**
 * The seeded simulator in CI (issue #7): a fixed set of seeds per cluster size must pass every checker; the same
 * seeds must catch a deliberately broken core (fast quorum one too small), which shows the checkers can fail; and
 * a seed replays identically. `npm run sim -- --seeds 100000` runs long.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkAgreement, checkExecutionOrder } from './checkers.ts';
import { defaultSimOptions, simulate } from './simulate.ts';
import type { InstanceRecord } from '../processors/epaxos/core/types.ts';

const ciSeeds = { 3: 400, 5: 150 } as const;

function failingSeeds(n: 3 | 5, unsafe: boolean): number[] {
  const failed: number[] = [];
  for (let seed = 1; seed <= ciSeeds[n]; seed++) {
    const result = simulate({ ...defaultSimOptions, seed, n, ...(unsafe ? { unsafeFastQuorumMinusOne: true } : {}) });
    if (result.violations.length > 0) failed.push(seed);
  }
  return failed;
}

describe('seeded simulation with faults, then a healed liveness phase', () => {
  for (const n of [3, 5] as const) {
    test(`N=${n}: ${ciSeeds[n]} seeds keep every invariant and commit everything once healed`, () => {
      const failed = failingSeeds(n, false);
      assert.deepEqual(failed, [], `replay with: npm run sim -- --seed ${failed[0]} --n ${n}`);
    });
    test(`N=${n}: a fast quorum one too small is caught within the same seeds`, () => {
      assert.ok(failingSeeds(n, true).length > 0, 'the checkers found the unsafe core');
    });
  }
});

test('a seed replays identically', () => {
  const a = simulate({ ...defaultSimOptions, seed: 42 });
  const b = simulate({ ...defaultSimOptions, seed: 42 });
  assert.deepEqual(a.trace, b.trace);
  assert.ok(a.messages > 0);
});

describe('checkers fail on bad histories', () => {
  const record = (replica: string, slot: number, deps: string[], keys = ['k']): InstanceRecord => ({
    id: { replica, slot },
    commands: [{ id: `${replica}.${slot}`, keys, payload: new Uint8Array() }],
    status: 'committed',
    attributes: { seq: 1, deps },
    ballot: { epoch: 1, round: 0, replica },
    vbal: { epoch: 1, round: 0, replica },
    preacceptedEq: false,
  });
  test('two values for one instance break agreement', () => {
    const history = {
      replicas: ['a', 'b'],
      committed: new Map([
        ['a', new Map([['a.0', record('a', 0, [])]])],
        ['b', new Map([['a.0', record('a', 0, ['b.0'])]])],
      ]),
      executed: new Map(),
      proposedAt: new Map(),
      acknowledgedAt: new Map(),
    };
    assert.equal(checkAgreement(history)[0]?.invariant, 'agreement');
  });
  test('per-key logs that diverge break the execution order', () => {
    const history = {
      replicas: ['a', 'b'],
      committed: new Map([
        [
          'a',
          new Map([
            ['a.0', record('a', 0, [])],
            ['b.0', record('b', 0, ['a.0'])],
          ]),
        ],
      ]),
      executed: new Map([
        ['a', ['a.0', 'b.0']],
        ['b', ['b.0', 'a.0']],
      ]),
      proposedAt: new Map(),
      acknowledgedAt: new Map(),
    };
    assert.equal(checkExecutionOrder(history)[0]?.invariant, 'execution order');
  });
});
