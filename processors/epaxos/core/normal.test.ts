/**
 * The normal case (paper §4.3, Fig. 2) on a deterministic in-process cluster (sim/cluster.ts).
 */
import assert from 'node:assert/strict';
import { quorumSizes } from '../../../guardrail/quorum.ts';
import { describe, test } from 'node:test';
import { Cluster, command } from '../../../sim/cluster.ts';
import { instanceKey, quorums } from './types.ts';

describe('quorums (DESIGN.md §3, EPAXOS-NOTES.md §7 table)', () => {
  test('N=3,5,7,9,11,13 give the fantoch-checked fast and slow sizes', () => {
    const table = [3, 5, 7, 9, 11, 13].map((n) => [n, quorums(n).fast, quorums(n).slow]);
    assert.deepEqual(table, [
      [3, 2, 2],
      [5, 3, 3],
      [7, 5, 4],
      [9, 6, 5],
      [11, 8, 6],
      [13, 9, 7],
    ]);
  });
  test('even N is refused', () => {
    assert.throws(() => quorums(4), /N=4 is even/);
  });
  test('one quorum function: the core says what the guardrail says, N=1 included (a leader alone is fast)', () => {
    for (let n = 1; n < 100; n += 2) {
      const g = quorumSizes(n);
      assert.deepEqual(quorums(n), { n, f: g.f, slow: g.slowQuorum, fast: g.fastQuorum });
    }
    assert.equal(quorums(1).fast, 1);
  });
});

describe('fast path (§4.3): 2 hops after the leader ingests', () => {
  for (const n of [3, 5]) {
    test(`N=${n}: a lone command commits at the leader on the replies of a fast quorum`, () => {
      const c = new Cluster({ n });
      const id = c.propose('r0', [command('a', 'k1')]);
      // Deliver only the PreAccepts to a fast quorum and their replies.
      const fast = quorums(n).fast;
      for (const to of c.ids.slice(1, fast)) c.deliverWhere((m) => m.type === 'PreAccept' && m.to === to);
      while (c.deliverWhere((m) => m.type === 'PreAcceptReply'));
      const committed = c.committedAt('r0', id);
      assert.ok(committed, 'committed at the leader without an Accept round');
      assert.equal(c.commitHops.get('r0')!.get(instanceKey(id)), 2);
      assert.equal(c.pool.filter((f) => f.message.type === 'Accept').length, 0);
    });
  }
});

test('slow path (§4.3): differing replies take Accept; commit at 4 hops, union of deps', () => {
  const c = new Cluster({ n: 3 });
  // r2 knows an interfering command the leader r0 does not: its PreAcceptReply differs.
  const other = c.propose('r2', [command('x', 'k')]);
  c.drop((m) => m.from === 'r2'); // r0 never hears of x
  const id = c.propose('r0', [command('a', 'k')]);
  assert.ok(c.deliverWhere((m) => m.type === 'PreAccept' && m.to === 'r2'));
  assert.ok(c.deliverWhere((m) => m.type === 'PreAcceptReply'));
  while (c.deliverWhere((m) => m.type === 'Accept' || m.type === 'AcceptReply'));
  const committed = c.committedAt('r0', id)!;
  assert.ok(committed);
  assert.deepEqual(committed.attributes.deps, [instanceKey(other)]);
  assert.equal(c.commitHops.get('r0')!.get(instanceKey(id)), 4);
});

test('slow mode (guardrail) never takes the fast path', () => {
  const c = new Cluster({ n: 3, mode: 'slow' });
  const id = c.propose('r0', [command('a', 'k')]);
  c.deliverAll();
  assert.equal(c.commitHops.get('r0')!.get(instanceKey(id)), 4);
  // The replies would have allowed it: reported, so the guardrail can tell when fast mode would pay again.
  assert.ok(c.replica('r0').state.fastEligible.has(instanceKey(id)));
  const other = c.propose('r1', [command('b', 'k')]); // depends on the first: eligible only once that is known committed
  c.deliverAll();
  assert.equal(c.replica('r0').state.fastEligible.has(instanceKey(other)), false, 'r0 did not lead it');
});

test('the §4.4 seq guard: an uncommitted dep forces the slow path even with identical replies', () => {
  const c = new Cluster({ n: 3 });
  const first = c.propose('r0', [command('a', 'k')]);
  // r1 pre-accepts `first` but nobody commits it yet.
  c.deliverWhere((m) => m.type === 'PreAccept' && m.to === 'r1');
  c.drop((m) => m.type === 'PreAcceptReply' || m.to === 'r2');
  const second = c.propose('r0', [command('b', 'k')]);
  c.deliverWhere((m) => m.type === 'PreAccept' && m.to === 'r1');
  c.deliverWhere((m) => m.type === 'PreAcceptReply');
  assert.equal(c.committedAt('r0', second), undefined, 'not fast: its dep was not committed anywhere');
  assert.ok(
    c.pool.some((f) => f.message.type === 'Accept'),
    'went to Accept',
  );
  assert.deepEqual(c.replica('r0').state.record(second)!.attributes.deps, [instanceKey(first)]);
});

test('concurrent conflicting proposals commit with agreed attributes and execute in one order everywhere', () => {
  const c = new Cluster({ n: 3 });
  const a = c.propose('r0', [command('a', 'k')]);
  const b = c.propose('r1', [command('b', 'k')]);
  const d = c.propose('r2', [command('d', 'k', 'j')]);
  c.deliverAll();
  for (const id of [a, b, d]) {
    const views = c.ids.map((r) => JSON.stringify(c.committedAt(r, id)?.attributes));
    assert.equal(new Set(views).size, 1, `agreement on ${instanceKey(id)}: ${views}`);
  }
  const orders = c.ids.map((r) =>
    c.executed
      .get(r)!
      .map((x) => instanceKey(x.id))
      .join(' '),
  );
  assert.equal(new Set(orders).size, 1, `one execution order: ${orders.join(' | ')}`);
  assert.equal(c.executed.get('r0')!.length, 3);
});

test('non-interfering commands do not depend on each other', () => {
  const c = new Cluster({ n: 3 });
  const a = c.propose('r0', [command('a', 'k1')]);
  const b = c.propose('r1', [command('b', 'k2')]);
  c.deliverAll();
  assert.deepEqual(c.committedAt('r2', a)!.attributes.deps, []);
  assert.deepEqual(c.committedAt('r2', b)!.attributes.deps, []);
});

test('a batch of commands is one instance; its keys interfere as a whole', () => {
  const c = new Cluster({ n: 3 });
  const batch = c.propose('r0', [command('a', 'k1'), command('b', 'k2')]);
  c.deliverAll();
  const later = c.propose('r1', [command('c', 'k2')]);
  c.deliverAll();
  assert.deepEqual(c.committedAt('r1', later)!.attributes.deps, [instanceKey(batch)]);
});

test('slots are never reused across a restart', () => {
  const c = new Cluster({ n: 3 });
  const first = c.propose('r0', [command('a', 'k')]);
  c.deliverAll();
  c.crash('r0');
  c.restart('r0');
  const second = c.propose('r0', [command('b', 'k')]);
  assert.equal(second.slot, first.slot + 1);
});

test('messages of an older epoch are fenced and counted', () => {
  const c = new Cluster({ n: 3, epoch: 2 });
  c.propose('r0', [command('a', 'k')]);
  const flight = c.pool[0]!;
  flight.message = { ...flight.message, epoch: 1 };
  c.deliver(0);
  assert.equal(c.replica(flight.message.to).status().fencedMessages, 1);
  assert.equal(c.replica(flight.message.to).state.instances.size, 0);
});

test('configure: a switch to slow mode takes effect for the next instance; the epoch never goes back', () => {
  const c = new Cluster({ n: 3 });
  const fast = c.propose('r0', [command('a', 'k1')]);
  c.deliverAll();
  assert.equal(c.commitHops.get('r0')!.get(instanceKey(fast)), 2);
  for (const r of c.ids) c.step(r, { type: 'configure', epoch: 3, mode: 'slow' }); // replies of epoch 1 are fenced
  const slow = c.propose('r0', [command('b', 'k2')]);
  c.deliverAll();
  assert.equal(c.commitHops.get('r0')!.get(instanceKey(slow)), 4, 'slow mode: Accept round even without conflicts');
  c.step('r0', { type: 'configure', epoch: 2, mode: 'fast' });
  assert.equal(c.replica('r0').status().epoch, 3, 'an older epoch does not lower the current one');
});

test('leaderDown: the survivors recover the lost leader’s instances before its timeout, staggered', () => {
  const c = new Cluster({ n: 3, recoveryTimeoutTicks: 10 });
  const id = c.propose('r0', [command('a', 'k')]);
  assert.ok(c.deliverWhere((m) => m.type === 'PreAccept' && m.to === 'r1'));
  c.drop(() => true); // r0 is gone with its PreAcceptReply unread; r1 alone knows the instance
  const key = instanceKey(id);
  const before = c.replica('r1').state.deadlines.get(key)!;
  c.step('r1', { type: 'leaderDown', replica: 'r0' });
  const after = c.replica('r1').state.deadlines.get(key)!;
  assert.equal(before - after, 10, 'r1, next after r0, drops the one timeout it would have waited for r0');
  assert.equal(after, c.replica('r1').state.now + 10, 'one timeout from now, not two');
  c.step('r1', { type: 'leaderDown', replica: 'r1' }); // itself: nothing to do
  assert.equal(c.replica('r1').state.deadlines.get(key), after);
  c.crash('r0');
  for (let i = 0; i < 10; i++) c.tick('r1');
  c.deliverAll();
  assert.ok(c.committedAt('r1', id), 'r1 recovered and committed the instance with r2');
  assert.ok(c.committedAt('r2', id));
});

test('only the deciding replica marks an instance decided here: learners of its Commit do not', () => {
  const c = new Cluster({ n: 3 });
  const id = c.propose('r0', [command('a', 'k')]);
  c.deliverAll();
  const key = instanceKey(id);
  assert.ok(c.committedAt('r1', id) && c.committedAt('r2', id));
  assert.equal(c.replica('r0').state.decidedHere.has(key), true, 'the leader decided it');
  assert.equal(c.replica('r1').state.decidedHere.has(key), false, 'r1 learned it from a Commit');
  assert.equal(c.replica('r2').state.decidedHere.has(key), false);
});
