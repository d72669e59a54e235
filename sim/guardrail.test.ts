/**
 * The simulator's guardrail model (guardrail.ts): what each replica learns at its own tick, what a lost lease holds
 * back, and what a restarted replica reads afresh.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster } from './cluster.ts';
import { Guardrail } from './guardrail.ts';

function setup() {
  const c = new Cluster({ n: 3, recoveryTimeoutTicks: 10 });
  const g = new Guardrail(c);
  const inputs: string[] = [];
  const step = c.step.bind(c);
  c.step = (id, input, hops) => {
    if (input.type === 'leaderDown' || input.type === 'configure') inputs.push(`${id} ${JSON.stringify(input)}`);
    return step(id, input, hops);
  };
  return { c, g, inputs };
}

test('a live replica’s lease expires: the others learn it at their own tick, it holds proposals from its own', () => {
  const { c, g, inputs } = setup();
  const uncommitted = c.propose('r0', [{ id: 'x', keys: ['k'], payload: new Uint8Array() }]);
  c.deliverWhere((m) => m.type === 'PreAccept' && m.to === 'r1');
  const deadline = c.replica('r1').state.deadlines.get(`r0.${uncommitted.slot}`)!;
  g.expire('r0');
  assert.deepEqual(inputs, [], 'nobody reads etcd between ticks');
  g.propose('r0', 'a', ['k']);
  assert.equal(c.replica('r0').state.nextSlot, 2, 'until its next tick r0 does not know: it still leads');
  g.follow('r1');
  assert.deepEqual(inputs, ['r1 {"type":"leaderDown","replica":"r0"}']);
  assert.equal(c.replica('r1').state.deadlines.get('r0.0'), deadline - 10, 'r1 recovers r0.0 one timeout early');
  g.follow('r1');
  assert.equal(inputs.length, 1, 'a lease lost once is reported once');
  g.follow('r0');
  g.propose('r0', 'b', ['k']);
  g.propose('r0', 'c', ['j']);
  assert.equal(c.replica('r0').state.nextSlot, 2, 'r0 saw its lease gone: b and c wait');
  assert.equal(g.heldCount, 2);
  g.renew('r0');
  g.follow('r0');
  assert.equal(c.replica('r0').state.nextSlot, 3, 'registered again: the batch is one instance');
  assert.deepEqual(
    c
      .replica('r0')
      .state.record('r0.2')!
      .commands.map((cmd) => cmd.id),
    ['b', 'c'],
  );
  assert.equal(g.heldCount, 0);
  assert.equal(g.counts.liveExpiries, 1);
});

test('a crashed replica misses the news and, restarted, reads the guardrail afresh', () => {
  const { c, g, inputs } = setup();
  c.crash('r2');
  g.expire('r1');
  g.bumpEpoch();
  g.switchMode();
  g.follow('r2');
  assert.deepEqual(inputs, [], 'a crashed processor reads nothing');
  g.restart('r2');
  assert.equal(c.replica('r2').state.config.epoch, 2, 'the core starts at the epoch in force');
  assert.equal(c.replica('r2').state.config.mode, 'slow');
  g.follow('r2');
  assert.deepEqual(inputs, [], 'r1 was already down when r2 came up: no leaderDown, nothing to configure');
  g.follow('r0');
  assert.deepEqual(inputs, [
    'r0 {"type":"configure","epoch":2,"mode":"slow"}',
    'r0 {"type":"leaderDown","replica":"r1"}',
  ]);
  assert.throws(() => {
    c.crash('r1');
    g.renew('r1');
  }, /cannot register/);
});
