/**
 * Core bugs the simulator found with the faults of issue #7, each pinned as a short deterministic schedule: written
 * by hand on the in-process cluster, or shrunk by the simulator and kept as data (sim/regressions/). The seeds that
 * found them change whenever the simulator draws differently.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { instanceKey } from '../processors/epaxos/core/types.ts';
import { checkAll } from './checkers.ts';
import { Cluster, command } from './cluster.ts';
import { historyOf } from './history.ts';
import { loadSchedule } from './schedule.ts';
import { defaultSimOptions, replay } from './simulate.ts';

test('a Commit of an older epoch still teaches the decision (epoch bump; liveness after healing)', () => {
  const c = new Cluster({ n: 3 });
  c.step('r2', { type: 'configure', epoch: 2, mode: 'fast' }); // r2 follows the guardrail first
  const id = c.propose('r0', [command('a', 'k')]); // r0 and r1 are still at epoch 1
  c.deliverAll();
  assert.ok(c.committedAt('r0', id), 'r0 and r1 decide at epoch 1');
  assert.equal(c.replica('r2').status().fencedMessages, 1, 'r2 fenced the PreAccept of epoch 1');
  // Nothing sends a commit again, and nothing later depends on it: without the Commit, r2 would never learn it.
  assert.ok(c.committedAt('r2', id), 'r2 learned the decision from the Commit of epoch 1');
  assert.equal(c.executed.get('r2')!.length, 1);
});

test('recovery Phase 1 keeps the reported deps: the leader’s previous instance on a key stays reachable', () => {
  const c = new Cluster({ n: 3 });
  c.propose('r0', [command('c', 'k')]);
  c.drop((m) => m.from === 'r0'); // r0.0 stays r0's: r0 will vote differently from r2 (no EQ mark)
  const a = c.propose('r2', [command('a', 'k')]);
  const b = c.propose('r2', [command('b', 'k')]); // deps [r2.0]: b stands for a on k from now on
  assert.ok(c.deliverWhere((m) => m.type === 'PreAccept' && m.to === 'r0' && m.instance.slot === b.slot));
  c.drop((m) => m.from === 'r2' || m.to === 'r2'); // r0 knows b, not a; r1 knows neither
  c.crash('r2');
  assert.equal(c.replica('r0').state.record(b)!.preacceptedEq, false, 'rule 4 applies, not rule 3');
  c.step('r0', { type: 'recover', instance: b });
  c.deliverAll();
  const committed = c.committedAt('r0', b)!;
  assert.ok(committed.attributes.deps.includes(instanceKey(a)), `deps ${committed.attributes.deps} name r2.0`);
  c.restart('r2');
  c.deliverAll();
  for (let i = 0; i < 40; i++) c.tick();
  c.deliverAll();
  assert.deepEqual(checkAll(historyOf(c)), []);
});

/**
 * Schedules kept as data (sim/regressions/*.json): failures the simulator found, shrunk (shrink.ts) and saved with a
 * note on what each pins. Each must still apply event for event — a core change that alters the messages makes
 * the schedule stale, and this fails rather than pass without testing anything — and pass every checker.
 */
describe('kept schedules (sim/regressions/)', () => {
  const dir = fileURLToPath(new URL('./regressions/', import.meta.url));
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  test('there are some', () => assert.ok(files.length >= 2, files.join(', ')));
  for (const file of files) {
    test(file, () => {
      const schedule = loadSchedule(join(dir, file));
      assert.ok(schedule.note, 'says what it pins');
      const base = { ...defaultSimOptions, seed: schedule.seed, record: true };
      const wrong = schedule.failsWith;
      if (wrong) {
        // Recorded on the wrong core: brought back by its unsafe rules, it fails as it did, event for event.
        const flags = { ...schedule.flags, unsafeRules: wrong.unsafeRules };
        const old = replay(base, { ...schedule, flags });
        assert.equal(old.schedule!.events.length, schedule.events.length, 'every event applies on the wrong core');
        const invariants = old.violations.map((v) => v.invariant);
        assert.ok(invariants.includes(wrong.invariant), `fails with ${wrong.invariant}: ${invariants.join(', ')}`);
      }
      const result = replay(base, { ...schedule, flags: { ...schedule.flags, unsafeRules: [] } });
      if (!wrong) assert.equal(result.schedule!.events.length, schedule.events.length, 'every event still applies');
      assert.deepEqual(result.violations, []);
    });
  }
});

test('TryPreAccept: a committed later instance of the same leader accounts for its older ones (N=5, seed 11685)', () => {
  // The kept schedule stops where r3 receives the TryPreAccept for r0.0 with deps [r2.0, r2.1, r3.1]. r3 knows
  // r3.0 (k1, committed) and r3.1 (k1, committed, deps naming r3.0): r3.1 stands for r3.0, so the deps do account
  // for it. Refusing with r3.0 as a committed conflict sent the recoverer to plain Phase 1 with seq 5 while r0 had
  // fast-committed seq 4: the same instance committed twice with different attributes.
  const file = fileURLToPath(new URL('./regressions/trypreaccept-stand-in-covers-older-n5.json', import.meta.url));
  const schedule = loadSchedule(file);
  const result = replay({ ...defaultSimOptions, seed: schedule.seed, trace: true, traceCapacity: 100_000 }, schedule);
  const replies = result.trace.filter((t) => t.includes('deliver TryPreAcceptReply r3->r1 r0.0'));
  assert.equal(replies.length, 1, result.trace.slice(-40).join('\n'));
  assert.ok(replies[0]!.endsWith(' ok'), replies[0]);
  assert.deepEqual(result.violations, []);
});
