/**
 * The guardrail link of a consensus process on the in-process guardrail: once a fast quorum is live the mode
 * controller judges the fast-path outcomes it is fed, switching to slow on a low ratio and back to fast when the
 * instances led in slow mode would have taken the fast path.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InProcessGuardrail } from '../guardrail/index.ts';
import { createMetrics } from '../monitoring/index.ts';
import { modePolicyFromEnv, startGuardrailLink } from './guardrail-link.ts';

test('the mode follows the fast-path outcomes fed to the link, with the switches counted', async () => {
  const guardrail = new InProcessGuardrail({ cluster: 'link-test' });
  const metrics = createMetrics();
  const lines: string[] = [];
  const guarded = await startGuardrailLink({
    guardrail,
    replicas: 3,
    metrics,
    actor: 'test',
    log: (line) => lines.push(line),
    policy: { threshold: 0.9, margin: 0.05, windowMs: 0 },
    sampleMs: 2,
    startupGraceMs: 600_000,
    ttlS: 5,
  });
  const leases = ['r0', 'r1', 'r2'].map((id) => guarded.link.lead(id));
  try {
    const until = async (done: () => boolean, what: string, feed: () => void) => {
      for (let i = 0; i < 2000 && !done(); i++) {
        feed();
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      assert.ok(done(), what);
    };
    await until(
      () => leases.every((l) => l.canLead),
      'the replicas registered',
      () => undefined,
    );
    await until(
      () => guarded.link.config().mode === 'slow',
      'a low fast-path ratio switches to slow',
      () => guarded.committed(false, false),
    );
    await until(
      () => guarded.link.config().mode === 'fast',
      'fast-eligible instances switch back',
      () => guarded.committed(false, true),
    );
    const history = await guardrail.history();
    assert.deepEqual(
      history.map((h) => [h.config.mode, h.reason.split(':')[0]]),
      [
        ['fast', 'init with r0, r1, r2'],
        ['slow', 'low-fast-path-ratio'],
        ['fast', 'recovered'],
      ],
    );
    const exposition = await metrics.registry.metrics();
    assert.match(exposition, /guardrail_mode_switches_total\{[^}]*to="slow"[^}]*\} 1/);
    assert.match(exposition, /parley_guardrail_mode\{[^}]*mode="fast"[^}]*\} 1/);
    assert.ok(lines.some((l) => l.includes('mode fast -> slow')));
  } finally {
    await guarded.pause();
    for (const lease of leases) await lease.release();
    await guarded.stop();
  }
});

test('the mode policy comes from the environment, and a bad value is named', () => {
  assert.deepEqual(modePolicyFromEnv({ PARLEY_MODE_WINDOW_MS: '1500' }), {
    threshold: 0.9,
    margin: 0.05,
    windowMs: 1500,
    membersDownMs: 3000,
  });
  assert.throws(
    () => modePolicyFromEnv({ PARLEY_MODE_THRESHOLD: 'high' }),
    /PARLEY_MODE_THRESHOLD=high: expected a number/,
  );
});
