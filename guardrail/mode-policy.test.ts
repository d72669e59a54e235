/**
 * The mode policy: scenarios first, then a property against a naive oracle that recomputes each decision from
 * every sample since the last switch (STYLE.md §10).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  checkPolicyOptions,
  evaluateMode,
  type ModePolicyOptions,
  type ModePolicyState,
  type ModeSample,
} from './mode-policy.ts';
import type { Mode } from './types.ts';

const options: ModePolicyOptions = { threshold: 0.8, margin: 0.1, windowMs: 1_000 };
const fastQuorum = 3; // N = 5

/** Runs samples through the policy from `mode`, returning the mode after each and the decisions made. */
function drive(samples: ModeSample[], mode: Mode = 'fast', opts = options) {
  let state: ModePolicyState = {};
  const modes: Mode[] = [];
  const reasons: string[] = [];
  for (const sample of samples) {
    const result = evaluateMode(state, mode, fastQuorum, sample, opts);
    state = result.state;
    if (result.decision) {
      mode = result.decision.to;
      reasons.push(`${result.decision.cause}: ${result.decision.reason}`);
    }
    modes.push(mode);
  }
  return { modes, reasons };
}

const sample = (atMs: number, ratio: number | undefined, liveMembers = 5): ModeSample => ({
  atMs,
  fastAttempts: ratio === undefined ? 0 : 100,
  fastSuccesses: ratio === undefined ? 0 : Math.round(ratio * 100),
  liveMembers,
});

describe('mode policy', () => {
  test('slow only after the ratio stayed under the threshold for the whole window', () => {
    const { modes, reasons } = drive([sample(0, 0.5), sample(500, 0.7), sample(999, 0.79), sample(1_000, 0.6)]);
    assert.deepEqual(modes, ['fast', 'fast', 'fast', 'slow']);
    assert.deepEqual(reasons, ['low-fast-path-ratio: fast-path success ratio under 80.0% for 1000 ms (last 60.0%)']);
  });

  test('one sample at or over the threshold restarts the window; samples without attempts neither start nor break it', () => {
    assert.deepEqual(drive([sample(0, 0.5), sample(600, 0.8), sample(1_200, 0.5), sample(2_100, 0.5)]).modes, [
      'fast',
      'fast',
      'fast',
      'fast',
    ]);
    // …nor decide a switch: only a sample with attempts does (issue #11: "for 50874 ms (last n/a)" once idle).
    assert.deepEqual(drive([sample(0, 0.5), sample(600, undefined), sample(1_000, undefined)]).modes, [
      'fast',
      'fast',
      'fast',
    ]);
    assert.deepEqual(drive([sample(0, 0.5), sample(600, undefined), sample(1_000, 0.5)]).modes, [
      'fast',
      'fast',
      'slow',
    ]);
    assert.deepEqual(drive([sample(0, undefined), sample(900, 0.5), sample(1_000, undefined)]).modes, [
      'fast',
      'fast',
      'fast',
    ]);
  });

  test('evidence a longer gap than the window apart does not carry over it: the window starts again', () => {
    // The workload stopped at 0 and came back at 50 s: two low samples around an idle gap are not a window of them.
    const { modes, reasons } = drive([sample(0, 0.5), sample(50_000, 0.5), sample(50_500, 0.5), sample(51_000, 0.5)]);
    assert.deepEqual(modes, ['fast', 'fast', 'fast', 'slow']);
    assert.deepEqual(reasons, ['low-fast-path-ratio: fast-path success ratio under 80.0% for 1000 ms (last 50.0%)']);
    assert.deepEqual(drive([sample(0, 0.95), sample(30_000, 0.95)], 'slow').modes, ['slow', 'slow']);
  });

  test('fewer live members than the fast quorum switches to slow at once', () => {
    const { modes, reasons } = drive([sample(0, 1, 5), sample(10, 1, 2)]);
    assert.deepEqual(modes, ['fast', 'slow']);
    assert.deepEqual(reasons, ['members-down: 2 live members, fewer than the fast quorum of 3']);
  });

  test('back to fast only above threshold + margin for the window, with a fast quorum live (hysteresis)', () => {
    const hovering = [0, 1, 2, 3, 4, 5].map((s) => sample(s * 1_000, 0.85));
    assert.deepEqual(
      drive(hovering, 'slow').modes,
      hovering.map(() => 'slow'),
      'between threshold and +margin: stay',
    );
    const recovered = drive([sample(0, 0.95), sample(999, 0.99), sample(1_000, 0.91)], 'slow');
    assert.deepEqual(recovered.modes, ['slow', 'slow', 'fast']);
    assert.match(
      recovered.reasons[0]!,
      /^recovered: fast-path success ratio above 90.0% for 1000 ms \(last 91.0%\) with 5 live/,
    );
    assert.deepEqual(
      drive([sample(0, 0.95, 2), sample(5_000, 0.95, 2)], 'slow').modes,
      ['slow', 'slow'],
      'too few live',
    );
  });

  test('options are checked', () => {
    assert.throws(() => checkPolicyOptions({ threshold: 0, margin: 0, windowMs: 1 }), /threshold 0/);
    assert.throws(() => checkPolicyOptions({ threshold: 0.95, margin: 0.1, windowMs: 1 }), /margin 0.1/);
    assert.throws(() => checkPolicyOptions({ threshold: 0.5, margin: 0, windowMs: -1 }), /windowMs -1/);
  });
});

/** Naive oracle: from the samples since the last switch, is there a reason to switch now? */
function naiveDecision(history: ModeSample[], mode: Mode, opts: ModePolicyOptions): Mode | undefined {
  const now = history.at(-1)!;
  if (mode === 'fast' && now.liveMembers < fastQuorum) return 'slow';
  if (mode === 'slow' && now.liveMembers < fastQuorum) return undefined;
  const wanted =
    mode === 'fast'
      ? (s: ModeSample) => s.fastSuccesses / s.fastAttempts < opts.threshold
      : (s: ModeSample) => s.fastSuccesses / s.fastAttempts > opts.threshold + opts.margin;
  // Decided only on a sample with attempts, over a run of wanted samples none more than a window apart.
  if (now.fastAttempts === 0 || !wanted(now)) return undefined;
  const evidence = history.filter((s) => s.fastAttempts > 0);
  let start = evidence.length - 1;
  while (
    start > 0 &&
    wanted(evidence[start - 1]!) &&
    evidence[start]!.atMs - evidence[start - 1]!.atMs <= opts.windowMs
  )
    start--;
  if (now.atMs - evidence[start]!.atMs < opts.windowMs) return undefined;
  return mode === 'fast' ? 'slow' : 'fast';
}

const arbOptions = fc.record({
  threshold: fc.double({ min: 0.3, max: 0.9, noNaN: true }),
  margin: fc.double({ min: 0, max: 0.1, noNaN: true }),
  windowMs: fc.integer({ min: 0, max: 3_000 }),
});

const arbSamples = fc
  .array(
    fc.record({
      gapMs: fc.integer({ min: 0, max: 1_500 }),
      fastAttempts: fc.integer({ min: 0, max: 20 }),
      successShare: fc.double({ min: 0, max: 1, noNaN: true }),
      liveMembers: fc.integer({ min: 0, max: 5 }),
    }),
    { maxLength: 60 },
  )
  .map((raw) => {
    let at = 0;
    return raw.map((r) => ({
      atMs: (at += r.gapMs),
      fastAttempts: r.fastAttempts,
      fastSuccesses: Math.round(r.fastAttempts * r.successShare),
      liveMembers: r.liveMembers,
    }));
  });

describe('mode policy properties', () => {
  test('property: every decision equals the naive oracle over the samples since the last switch', () => {
    fc.assert(
      fc.property(arbOptions, arbSamples, fc.constantFrom<Mode>('fast', 'slow'), (opts, samples, start) => {
        const { modes } = drive(samples, start, opts);
        let mode = start;
        let since: ModeSample[] = [];
        samples.forEach((s, i) => {
          since.push(s);
          const switched = naiveDecision(since, mode, opts);
          if (switched) {
            mode = switched;
            since = [];
          }
          assert.equal(modes[i], mode, `sample ${i}`);
        });
      }),
      { numRuns: 300 },
    );
  });

  test('property: a ratio between threshold and threshold + margin with a fast quorum live never changes the mode', () => {
    fc.assert(
      fc.property(arbOptions, arbSamples, fc.constantFrom<Mode>('fast', 'slow'), (opts, samples, start) => {
        const steady = samples.map((s) => ({ ...s, fastAttempts: 1_000, liveMembers: 5 }));
        const hovering = steady.map((s, i) => ({
          ...s,
          fastSuccesses: Math.ceil(1_000 * (opts.threshold + (opts.margin * (i % 3)) / 2)),
        }));
        const inBand = hovering.filter((s) => s.fastSuccesses / 1_000 <= opts.threshold + opts.margin);
        assert.deepEqual(
          drive(inBand, start, opts).modes,
          inBand.map(() => start),
        );
      }),
    );
  });
});

test('membersDownMs: a handover gap (a lease released, taken again) does not switch; a lasting loss does', () => {
  const opts = { ...options, membersDownMs: 3_000 };
  const gap = drive(
    [sample(0, 1, 5), sample(1_000, 1, 2), sample(2_000, 1, 2), sample(2_500, 1, 5), sample(4_000, 1, 2)],
    'fast',
    opts,
  );
  assert.deepEqual(
    gap.modes,
    ['fast', 'fast', 'fast', 'fast', 'fast'],
    'the quorum came back within 3 s: the timer restarts',
  );
  const lost = drive([sample(0, 1, 2), sample(2_999, 1, 2), sample(3_000, 1, 2)], 'fast', opts);
  assert.deepEqual(lost.modes, ['fast', 'fast', 'slow']);
  assert.deepEqual(lost.reasons, ['members-down: 2 live members, fewer than the fast quorum of 3']);
  assert.throws(() => checkPolicyOptions({ ...options, membersDownMs: -1 }), /membersDownMs -1: must be >= 0/);
});
