/**
 * Explicit Prepare (paper Fig. 3, §4.4) and Sutra's counterexample (arXiv 1906.10917, tla+/CounterExample.tla).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster, command } from '../../../sim/cluster.ts';
import type { Message } from './messages.ts';
import { instanceKey, type InstanceId } from './types.ts';

const is =
  (type: Message['type'], from?: string, to?: string) =>
  (m: Message): boolean =>
    m.type === type && (from === undefined || m.from === from) && (to === undefined || m.to === to);

function agreeEverywhere(c: Cluster, id: InstanceId): string {
  const views = c.ids
    .filter((r) => !c.crashed.has(r))
    .map((r) => JSON.stringify(c.committedAt(r, id)?.attributes ?? null));
  assert.equal(new Set(views).size, 1, `agreement on ${instanceKey(id)}: ${views.join(' vs ')}`);
  assert.notEqual(views[0], 'null', `${instanceKey(id)} committed`);
  return views[0]!;
}

test('rule 1: a commit known to one replica is what recovery commits', () => {
  const c = new Cluster({ n: 3 });
  const id = c.propose('r0', [command('a', 'k')]);
  c.deliverWhere(is('PreAccept', 'r0', 'r1'));
  c.deliverWhere(is('PreAcceptReply'));
  assert.ok(c.committedAt('r0', id));
  c.deliverWhere(is('Commit', 'r0', 'r1'));
  c.crash('r0');
  c.step('r2', { type: 'recover', instance: id });
  c.deliverAll();
  agreeEverywhere(c, id);
  assert.deepEqual(
    c.committedAt('r2', id)!.commands.map((x) => x.id),
    ['a'],
  );
});

test('rule 2: an accepted value is carried over by recovery', () => {
  const c = new Cluster({ n: 3 });
  c.propose('r2', [command('x', 'k')]);
  c.drop((m) => m.from === 'r2');
  const id = c.propose('r0', [command('a', 'k')]);
  c.deliverWhere(is('PreAccept', 'r0', 'r2'));
  c.deliverWhere(is('PreAcceptReply'));
  c.deliverWhere(is('Accept', 'r0', 'r1')); // r1 accepted; r0 crashes before any reply
  c.crash('r0');
  c.step('r2', { type: 'recover', instance: id });
  c.deliverAll();
  const accepted = c.replica('r1').state.record(id)!;
  assert.equal(agreeEverywhere(c, id), JSON.stringify(accepted.attributes));
});

test('rule 3 (N=3): an identical default-ballot pre-accept not from the leader is accepted as is', () => {
  const c = new Cluster({ n: 3 });
  const id = c.propose('r0', [command('a', 'k')]);
  c.deliverWhere(is('PreAccept', 'r0', 'r1'));
  // The leader may have fast-committed on this reply; it crashes before anyone hears of it.
  c.crash('r0');
  c.step('r1', { type: 'recover', instance: id });
  c.deliverAll();
  assert.equal(agreeEverywhere(c, id), JSON.stringify({ seq: 1, deps: [] }));
});

test('rule 4: a pre-accept that is not EQ restarts Phase 1 with the command, without the fast path', () => {
  const c = new Cluster({ n: 3 });
  c.propose('r1', [command('x', 'k')]);
  c.drop((m) => m.from === 'r1');
  const id = c.propose('r0', [command('a', 'k')]);
  c.deliverWhere(is('PreAccept', 'r0', 'r1')); // r1 adds its own x: not EQ
  c.crash('r0');
  c.step('r2', { type: 'recover', instance: id });
  c.deliverAll();
  agreeEverywhere(c, id);
  assert.deepEqual(
    c.committedAt('r2', id)!.commands.map((x) => x.id),
    ['a'],
  );
});

test('rule 5: nobody saw the instance: recovery commits a no-op, and execution is not blocked', () => {
  const c = new Cluster({ n: 3 });
  const id = c.propose('r0', [command('a', 'k')]);
  c.crash('r0'); // its PreAccepts are lost with it
  c.drop(() => true);
  c.step('r1', { type: 'recover', instance: id });
  c.deliverAll();
  agreeEverywhere(c, id);
  assert.deepEqual(c.committedAt('r1', id)!.commands, []);
});

test('TryPreAccept (N=5, §4.4): one EQ pre-accept is enough to try the fast-path attributes', () => {
  const c = new Cluster({ n: 5 });
  const id = c.propose('r0', [command('a', 'k')]);
  c.deliverWhere(is('PreAccept', 'r0', 'r1'));
  c.deliverWhere(is('PreAccept', 'r0', 'r2'));
  c.crash('r0');
  c.drop(() => true);
  c.step('r1', { type: 'recover', instance: id });
  c.deliverAll();
  assert.equal(agreeEverywhere(c, id), JSON.stringify({ seq: 1, deps: [] }));
});

test('timeouts start recovery by themselves: a crashed leader does not block its instance forever', () => {
  const c = new Cluster({ n: 3, recoveryTimeoutTicks: 3 });
  const id = c.propose('r0', [command('a', 'k')]);
  c.deliverWhere(is('PreAccept', 'r0', 'r1'));
  c.crash('r0');
  c.drop(() => true);
  for (let t = 0; t < 20 && !c.committedAt('r1', id); t++) {
    c.tick();
    c.deliverAll();
  }
  agreeEverywhere(c, id);
});

test("Sutra's 3-replica counterexample schedule keeps agreement (vbal apart from the promised ballot)", () => {
  // p1=r0, p2=r1, p3=r2; c1 at p3, c2 at p1, interfering. Step numbers follow CounterExample.tla.
  const c = new Cluster({ n: 3 });
  const c1 = c.propose('r2', [command('c1', 'k')]); // 1
  const c2 = c.propose('r0', [command('c2', 'k')]); // 2
  const held = c.pool.splice(0); // nothing else is delivered unless the schedule says so
  const must = (where: (m: Message) => boolean, step: string) => assert.ok(c.deliverWhere(where), `step ${step}`);
  const take = (where: (m: Message) => boolean) => {
    const i = held.findIndex((f) => where(f.message));
    assert.ok(i >= 0, 'scheduled message exists');
    c.pool.push(...held.splice(i, 1));
    c.deliver(c.pool.length - 1);
  };
  take(is('PreAccept', 'r0', 'r2')); // 3: p3 pre-accepts c2 with c1 in its deps
  c.pool.length = 0;
  c.step('r2', { type: 'recover', instance: c2 }); // 4: p3 prepares c2 with {p2,p3}
  c.drop(is('Prepare', 'r2', 'r0'));
  must(is('Prepare', 'r2', 'r1'), '5');
  must(is('PrepareReply', 'r1', 'r2'), '6-7: finalize → Phase 1 at p3’s ballot');
  const p3Phase1 = c.pool.splice(0); // p3's new PreAccepts stay in flight (never delivered in the schedule)
  c.step('r1', { type: 'recover', instance: c2 }); // 8: p2 prepares with {p1,p2}
  c.drop(is('Prepare', 'r1', 'r2'));
  must(is('Prepare', 'r1', 'r0'), '9');
  must(is('PrepareReply', 'r0', 'r1'), '10-11: finalize → Phase 1 at p2’s ballot');
  c.drop(is('PreAccept', 'r1', 'r2'));
  must(is('PreAccept', 'r1', 'r0'), '12');
  must(is('PreAcceptReply', 'r0', 'r1'), '13: slow path with {p1,p2}');
  c.drop(is('Accept', 'r1', 'r2'));
  must(is('Accept', 'r1', 'r0'), '14: p1 accepts p2’s value');
  const p2Finalize = c.pool.splice(0); // p1's AcceptReply to p2, delivered at step 23
  c.step('r0', { type: 'recover', instance: c2 }); // 15-21: p1 prepares with {p1,p3}
  c.drop(is('Prepare', 'r0', 'r1'));
  must(is('Prepare', 'r0', 'r2'), '15-20');
  must(is('PrepareReply', 'r2', 'r0'), 'finalize: highest vbal is p2’s accept at p1');
  c.drop(is('Accept', 'r0', 'r1'));
  must(is('Accept', 'r0', 'r2'), '22');
  must(is('AcceptReply', 'r2', 'r0'), '24: p1 commits');
  c.pool.push(...p2Finalize);
  c.deliverAll(); // 23: p2 commits
  const atP1 = c.committedAt('r0', c2);
  const atP2 = c.committedAt('r1', c2);
  assert.ok(atP1 && atP2, 'both p1 and p2 committed c2');
  assert.deepEqual(atP1.attributes, atP2.attributes, 'one value for c2, whichever replica committed it');
  // Let everything else finish: every replica agrees on both instances and executes them in one order.
  c.pool.push(...p3Phase1, ...held);
  for (let t = 0; t < 50 && c.ids.some((r) => !c.committedAt(r, c1) || !c.committedAt(r, c2)); t++) {
    c.tick();
    c.deliverAll();
  }
  agreeEverywhere(c, c1);
  agreeEverywhere(c, c2);
  const orders = c.ids.map((r) =>
    c.executed
      .get(r)!
      .map((x) => instanceKey(x.id))
      .join(' '),
  );
  assert.equal(new Set(orders).size, 1, orders.join(' | '));
});
