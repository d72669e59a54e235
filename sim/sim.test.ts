/**
 * The seeded simulator in CI (issue #7): a fixed set of seeds per cluster size must pass every checker; the same
 * seeds must catch deliberately broken cores (a fast quorum one too small; a replica under a new id that votes
 * before it has joined), which shows the checkers can fail; the faults of the issue (lease expiry, clock skew, mode
 * switches, epoch bumps, lost state and rejoins) must really occur in them; and a seed replays identically. `npm run sim -- --seeds 100000` runs long.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkAgreement, checkExecutionOrder } from './checkers.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSchedule, saveSchedule } from './schedule.ts';
import { shrink } from './shrink.ts';
import {
  addFastRecoveries,
  defaultSimOptions,
  noFastRecoveries,
  replay,
  simulate,
  type SimResult,
} from './simulate.ts';
import type { InstanceRecord } from '../processors/epaxos/core/types.ts';
import { unsafeRuleDescriptions, type UnsafeRule } from '../processors/epaxos/core/state.ts';

/** About 30 s on an idle 2-core machine for the three sizes (sim/README.md has the figures). */
const ciSeeds = { 3: 5000, 5: 2500, 7: 1000 } as const;
type N = keyof typeof ciSeeds;

type Unsafe = 'fastQuorum' | 'skipJoin' | UnsafeRule;

function run(n: N, seed: number, unsafe?: Unsafe): SimResult {
  return simulate({
    ...defaultSimOptions,
    seed,
    n,
    trace: false,
    ...(unsafe === 'fastQuorum' ? { unsafeFastQuorumMinusOne: true } : {}),
    ...(unsafe === 'skipJoin' ? { unsafeSkipJoin: true } : {}),
    ...(unsafe && unsafe !== 'fastQuorum' && unsafe !== 'skipJoin' ? { unsafeRules: [unsafe] } : {}),
  });
}

/** The first seed of the CI set at which a broken core violates a safety invariant (liveness does not count). */
function firstCaught(n: N, unsafe: Unsafe): number {
  for (let seed = 1; seed <= ciSeeds[n]; seed++)
    if (run(n, seed, unsafe).violations.some((v) => v.invariant !== 'liveness')) return seed;
  return 0;
}

describe('seeded simulation with faults, then a healed liveness phase', () => {
  for (const n of [3, 5, 7] as const) {
    const faults: Record<string, number> = {};
    const plans = new Set<string>();
    const hidden = noFastRecoveries();
    test(`N=${n}: ${ciSeeds[n]} seeds keep every invariant and commit everything once healed`, () => {
      const failed: number[] = [];
      for (let seed = 1; seed <= ciSeeds[n]; seed++) {
        const result = run(n, seed);
        if (result.violations.length > 0) failed.push(seed);
        for (const [fault, count] of Object.entries(result.faults)) faults[fault] = (faults[fault] ?? 0) + count;
        addFastRecoveries(hidden, result.fastRecoveries);
        plans.add(result.plan);
      }
      assert.deepEqual(failed, [], `replay with: npm run sim -- --seed ${failed[0]} --n ${n}`);
    });
    test(`N=${n}: recovery runs on fast commits it never heard of (issue #8's hidden decisions)`, () => {
      assert.ok(faults['hides']! > 0, `leaders hidden: ${JSON.stringify(faults)}`);
      assert.ok(hidden.instances > 0, `fast-committed instances recovered: ${JSON.stringify(hidden)}`);
      assert.ok(hidden.beforeFastCommit > 0, `decided by recovery before the leader's late fast commit`);
      // TryPreAccept exists from N=5 on (N=3 accepts a single EQ vote directly).
      if (n > 3) assert.ok(hidden.viaTryPreAccept > 0, `through TryPreAccept: ${JSON.stringify(hidden)}`);
    });
    test(`N=${n}: the faults of issue #7 occur in those seeds`, () => {
      const expected = ['expiries', 'liveExpiries', 'leaderDowns', 'held', 'configures', 'modeSwitches', 'epochs'];
      for (const fault of [...expected, 'replacements', 'lostUp']) {
        assert.ok((faults[fault] ?? 0) > 0, `${fault}: ${JSON.stringify(faults)}`);
      }
      assert.ok(faults.fenced! > 0, 'messages of older epochs were fenced');
      for (const clock of ['x fast', 'x slow', 'bursts of', 'steady']) {
        assert.ok(
          [...plans].some((p) => p.includes(clock)),
          `some seed has a ${clock} clock`,
        );
      }
      assert.ok(
        [...plans].some((p) => p.includes('no guardrail faults')),
        'some seeds keep the classic faults alone',
      );
    });
    test(`N=${n}: a fast quorum one too small is caught within the same seeds`, () => {
      assert.ok(firstCaught(n, 'fastQuorum') > 0, 'the checkers found the unsafe core');
    });
    // The known-wrong recovery rules of issue #8 (TryPreAccept exists from N=5 on): each caught within the set.
    if (n === 5) {
      for (const rule of Object.keys(unsafeRuleDescriptions) as UnsafeRule[]) {
        // Rarer (seeds 16062 and 5125 of 20,000): pinned by kept schedules in sim/regressions/ instead.
        if (rule === 'trustsReVotedDeps' || rule === 'seqGuardCountsLateCommits') continue;
        test(`N=${n}: the unsafe rule ${rule} is caught within the same seeds`, () => {
          assert.ok(firstCaught(n, rule) > 0, `the checkers found ${rule}`);
        });
      }
    }
    // At N=5 the hazard needs a rarer schedule (seed 2073 is the one of 1–2500 that shows it): N=3 is checked here,
    // and join.test.ts shows the hazard on a fixed schedule.
    if (n === 3) {
      test(`N=${n}: a successor that votes before it has joined (§4.7) is caught within the same seeds`, () => {
        assert.ok(firstCaught(n, 'skipJoin') > 0, 'the checkers found the unsafe join');
      });
    }
  }
});

/**
 * Found by the simulator, fixed in state.ts localAttributes: a dependency that stood for its leader's older
 * instances on a key (compact deps) was recovered as a no-op when no recovery quorum saw it — its epoch's
 * PreAccepts were fenced — so the older instances dropped out of the graph. Only a committed instance with a real
 * command on the key stands in now; uncommitted ones above it are all named.
 */
describe('regressions: visibility through a recovered no-op', () => {
  for (const seed of [8966, 12655]) {
    test(`N=3 seed ${seed}`, () => {
      assert.deepEqual(run(3, seed).violations, []);
    });
  }
});

test('a seed replays identically, and so does its recorded schedule', () => {
  const a = simulate({ ...defaultSimOptions, seed: 42 });
  const b = simulate({ ...defaultSimOptions, seed: 42 });
  assert.deepEqual(a.trace, b.trace);
  assert.equal(a.plan, b.plan);
  assert.ok(a.messages > 0);
  const quiet = simulate({ ...defaultSimOptions, seed: 42, trace: false });
  assert.deepEqual(quiet.trace, [], 'batch runs record no trace');
  assert.equal(quiet.messages, a.messages, 'and the run does not depend on tracing');
  for (const [seed, n] of [
    [42, 3],
    [7, 5], // with hidden decisions (hide, unhide, and the delays that shape the draw)
    [430, 5],
    [596, 7], // with hidden decisions
  ] as const) {
    const big = { ...defaultSimOptions, seed, n, traceCapacity: 50_000 };
    const recorded = simulate({ ...big, record: true });
    if (seed === 7 || seed === 596) assert.ok(recorded.schedule!.events.some((e) => e.type === 'hide'));
    const replayed = replay(big, recorded.schedule!);
    assert.deepEqual(replayed.trace, recorded.trace, `seed ${seed} N=${n}: the schedule replays the run`);
    assert.deepEqual(replayed.violations, recorded.violations);
  }
});

test('a failing seed shrinks to a schedule of a few events that fails the same way, and replays from its file', () => {
  const options = { ...defaultSimOptions, seed: 2, n: 3, unsafeFastQuorumMinusOne: true, trace: false };
  const failing = simulate({ ...options, record: true });
  const invariant = failing.violations[0]!.invariant;
  const shrunk = shrink(options, failing.schedule!, invariant);
  assert.ok(shrunk.minimal, `ddmin reached a 1-minimal schedule in ${shrunk.replays} replays`);
  assert.ok(
    shrunk.schedule.events.length <= 5 && shrunk.schedule.events.length < failing.schedule!.events.length / 20,
    `${shrunk.schedule.events.length} of ${failing.schedule!.events.length} events`,
  );
  const file = join(mkdtempSync(join(tmpdir(), 'parley-sim-')), 'shrunk.json');
  saveSchedule(file, shrunk.schedule);
  const again = replay({ ...defaultSimOptions, seed: 0 }, loadSchedule(file));
  assert.equal(again.violations[0]?.invariant, invariant, 'the flags travel with the file: the unsafe core again');
  // 1-minimal: taking out any single event makes the failure go away.
  for (let i = 0; i < shrunk.schedule.events.length; i++) {
    const events = shrunk.schedule.events.filter((_, j) => j !== i);
    const without = replay(options, { ...shrunk.schedule, events });
    assert.ok(!without.violations.some((v) => v.invariant === invariant), `event ${i} is needed`);
  }
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
