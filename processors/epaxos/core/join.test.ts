/**
 * Joining after a total loss of state (paper §4.7, join.ts): a fresh replica under a new id votes on nothing until
 * F+1 members at its epoch told it what they know and all of it committed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkAll, checkVisibility } from '../../../sim/checkers.ts';
import { Cluster, command, type ClusterOptions } from '../../../sim/cluster.ts';
import { historyOf } from '../../../sim/history.ts';
import type { Message } from './messages.ts';
import { instanceKey } from './types.ts';

const members = ['r0.e2', 'r1', 'r2'];
const epoch2 = { epoch: 2, mode: 'fast' as const, members };

/** r0 loses its state; the guardrail gives its place to r0.e2 at epoch 2, and r1, r2 follow it. */
function replaceR0(c: Cluster, configure = ['r1', 'r2']): void {
  c.replace('r0', 'r0.e2', epoch2);
  for (const r of configure) c.step(r, { type: 'configure', ...epoch2 });
}

/** Rounds of delivering everything deliverable and ticking `ticking`: joins, timeouts and recoveries run out. */
function settle(c: Cluster, ...ticking: string[]): void {
  for (let i = 0; i < 60; i++) {
    c.deliverAll();
    for (const r of ticking) c.tick(r);
  }
  c.deliverAll();
}

/**
 * X commits on the fast path with the quorum {r2, r0}; r1 never hears of it. Then r0 loses its state and r2 is down.
 * Y on the same key, led by r1, could gather a fast quorum with r0's successor alone.
 */
function lostVoteScenario(options: Partial<ClusterOptions> = {}) {
  const c = new Cluster({ n: 3, recoveryTimeoutTicks: 4, ...options });
  const x = c.propose('r2', [command('x', 'k')]);
  c.drop((m) => m.to === 'r1');
  assert.ok(c.deliverWhere((m) => m.type === 'PreAccept' && m.to === 'r0'));
  assert.ok(c.deliverWhere((m) => m.type === 'PreAcceptReply' && m.from === 'r0'));
  assert.ok(c.committedAt('r2', x), 'x committed fast with {r2, r0}');
  c.drop((m) => m.to === 'r1');
  replaceR0(c);
  c.crash('r2');
  settle(c, 'r0.e2');
  const y = c.propose('r1', [command('y', 'k')]);
  c.deliverAll();
  return { c, x, y };
}

test('without the join, a successor that forgot its predecessor’s vote lets Y commit blind to X (visibility)', () => {
  const { c, x, y } = lostVoteScenario({ unsafeSkipJoin: true });
  assert.ok(c.committedAt('r1', y), 'y committed on the fast path with {r1, r0.e2}');
  const violations = checkVisibility(historyOf(c));
  assert.match(
    violations[0]?.detail ?? '',
    new RegExp(`${instanceKey(x)} and ${instanceKey(y)}|${instanceKey(y)} and ${instanceKey(x)}`),
  );
});

test('with the join, the successor votes only once it learned X from F+1 members, so Y sees X', () => {
  const { c, x, y } = lostVoteScenario();
  assert.ok(c.replica('r0.e2').state.join, 'r2 is down: only one member answered, it is still joining');
  assert.equal(c.committedAt('r1', y), undefined, 'y waits: its PreAccept to the joiner got no vote');
  c.restart('r2', epoch2);
  settle(c, 'r0.e2', 'r1', 'r2');
  assert.equal(c.replica('r0.e2').state.join, undefined, 'live once r2 answered');
  assert.ok(c.committedAt('r0.e2', x), 'it learned x from r2');
  assert.ok(c.committedAt('r1', y)!.attributes.deps.includes(instanceKey(x)), 'y depends on x');
  assert.deepEqual(checkAll(historyOf(c)), []);
  const order = (r: string) => c.executed.get(r)!.map((i) => instanceKey(i.id));
  assert.deepEqual(order('r0.e2'), order('r1'), 'the successor executes the whole history in the same order');
});

test('a member not yet at the joiner’s epoch ignores its Join; the joiner asks again at a later tick', () => {
  const c = new Cluster({ n: 3, recoveryTimeoutTicks: 3 });
  c.propose('r1', [command('a', 'k')]);
  c.deliverAll();
  replaceR0(c, ['r1']); // r2 still runs epoch 1 with r0 as a member
  c.tick('r0.e2');
  const asked = (m: Message) => m.type === 'Join';
  assert.deepEqual(
    c.pool
      .filter((f) => asked(f.message))
      .map((f) => f.to)
      .sort(),
    ['r1', 'r2'],
  );
  c.deliverAll();
  const joiner = c.replica('r0.e2').state;
  assert.deepEqual([...joiner.join!.answered], ['r1'], 'r2 did not answer from epoch 1');
  c.step('r2', { type: 'configure', ...epoch2 });
  for (let i = 0; i < 3; i++) c.tick('r0.e2');
  c.deliverAll();
  assert.equal(joiner.join, undefined, 'both answered: live');
  assert.equal(c.executed.get('r0.e2')!.length, 1);
});

test('it waits for every instance its answerers knew uncommitted, and learns their commits by asking again', () => {
  const c = new Cluster({ n: 5, recoveryTimeoutTicks: 3 });
  const members5 = ['r0.e2', 'r1', 'r2', 'r3', 'r4'];
  const a = c.propose('r3', [command('a', 'k')]);
  c.drop((m) => m.to === 'r0');
  for (const to of ['r1', 'r2']) assert.ok(c.deliverWhere((m) => m.type === 'PreAccept' && m.to === to));
  // Their votes for a are on their way back to r3; r0 is lost, and r3 has not seen the new membership yet.
  c.replace('r0', 'r0.e2', { epoch: 2, mode: 'fast', members: members5 });
  for (const r of ['r1', 'r2', 'r4']) c.step(r, { type: 'configure', epoch: 2, mode: 'fast', members: members5 });
  c.tick('r0.e2');
  while (c.deliverWhere((m) => m.type === 'Join' || m.type === 'JoinReply'));
  const joiner = c.replica('r0.e2').state;
  assert.deepEqual([...joiner.join!.answered].sort(), ['r1', 'r2', 'r4']);
  assert.deepEqual([...joiner.join!.awaiting], [instanceKey(a)], 'a is pre-accepted at r1 and r2');
  c.deliverAll(); // r3 commits a on the fast path and sends its Commits to the old membership: none to r0.e2
  assert.ok(c.committedAt('r3', a));
  assert.ok(joiner.join, 'still joining: no Commit of a reached it');
  for (let i = 0; i < 3; i++) c.tick('r0.e2');
  assert.ok(c.pool.some((f) => f.message.type === 'Join' && f.message.awaiting?.includes(instanceKey(a))));
  c.deliverAll();
  assert.equal(joiner.join, undefined, 'live once it learned the commit of a by asking again');
  assert.ok(c.committedAt('r0.e2', a));
});

test('while joining it drops requests for votes, and proposals are refused (the driver holds them)', () => {
  const c = new Cluster({ n: 3 });
  replaceR0(c);
  const joiner = c.replica('r0.e2');
  c.propose('r1', [command('a', 'k')]);
  assert.ok(c.deliverWhere((m) => m.type === 'PreAccept' && m.to === 'r0.e2'));
  assert.equal(c.pool.filter((f) => f.from === 'r0.e2').length, 0, 'no PreAcceptReply from the joiner');
  assert.equal(joiner.state.record('r1.0'), undefined, 'nor a record of the vote it did not cast');
  assert.throws(() => joiner.step({ type: 'propose', commands: [command('b', 'k')] }), /still joining/);
});

test('a replica the membership left out retires: it recovers, leads and answers nothing any more', () => {
  const c = new Cluster({ n: 3, recoveryTimeoutTicks: 2 });
  c.propose('r1', [command('a', 'k')]);
  assert.ok(c.deliverWhere((m) => m.type === 'PreAccept' && m.to === 'r0'));
  c.pool = c.pool.filter((f) => f.from !== 'r0'); // its vote is lost in transit
  c.step('r0', { type: 'configure', ...epoch2 }); // r0 was wrongly believed lost: the guardrail replaced it
  const r0 = c.replica('r0');
  assert.equal(r0.status().retired, true);
  for (let i = 0; i < 10; i++) c.tick('r0'); // its deadline on r1.0 is gone with it
  c.step('r0', { type: 'recover', instance: { replica: 'r1', slot: 0 } });
  assert.equal(c.pool.filter((f) => f.from === 'r0').length, 0, 'no Prepare');
  assert.throws(() => r0.step({ type: 'propose', commands: [command('b', 'k')] }), /retired/);
});
