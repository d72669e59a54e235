/**
 * Contract cases on the config: create, compare-and-swap, conflicts, watches, bad input, history.
 */
import assert from 'node:assert/strict';
import { GuardrailConfigError, GuardrailConflictError, GuardrailInputError } from '../errors.ts';
import { guardrailKeys } from '../keys.ts';
import { addMembers, initCluster, removeMembers, setMode } from '../membership.ts';
import type { GuardrailError as GuardrailErrorType } from '../errors.ts';
import type { VersionedConfig } from '../types.ts';
import { barrierOnRead, EventLog, type GuardrailContractCase } from './harness.ts';

const abc = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];

function isConflict(key: string, expected: number, actual: number) {
  return (error: unknown) => {
    assert.ok(error instanceof GuardrailConflictError, `a GuardrailConflictError, not ${String(error)}`);
    assert.equal(error.code, 'CONFLICT');
    assert.equal(error.retriable, false);
    assert.equal(error.key, key);
    assert.equal(error.expectedRevision, expected);
    assert.equal(error.actualRevision, actual);
    return true;
  };
}

type ConfigEvent = { kind: 'config'; v: VersionedConfig } | { kind: 'error'; e: GuardrailErrorType };

function configErrorOf(event: ConfigEvent): GuardrailConfigError {
  assert.ok(event.kind === 'error' && event.e instanceof GuardrailConfigError, `a config error: ${String(event)}`);
  return event.e;
}

export const configCases: GuardrailContractCase[] = [
  {
    title: 'config: absent at first; create once, with N, quorums and epoch 1; a second create conflicts',
    async run(ctx, cluster) {
      const g = await ctx.open(cluster);
      try {
        assert.equal(await g.readConfig(), undefined);
        const created = await initCluster(g, abc);
        assert.ok(created.revision > 0);
        assert.deepEqual(created.config, {
          members: abc.map((m) => ({ ...m, joinedEpoch: 1 })),
          n: 3,
          fastQuorum: 2,
          slowQuorum: 2,
          epoch: 1,
          mode: 'fast',
          protocolVersion: 1,
        });
        assert.deepEqual(await g.readConfig(), created);
        assert.equal(await ctx.getRaw(guardrailKeys(cluster).epoch), '1', 'the epoch key mirrors the config');
        await assert.rejects(initCluster(g, abc), isConflict(guardrailKeys(cluster).config, 0, created.revision));
      } finally {
        await g.close();
      }
    },
  },
  {
    title: 'config: compare-and-swap on the mod revision; a stale revision conflicts and changes nothing',
    async run(ctx, cluster) {
      const g = await ctx.open(cluster);
      try {
        const created = await initCluster(g, abc);
        const slow = await g.updateConfig(created.revision, { ...created.config, mode: 'slow' }, { reason: 'test' });
        assert.ok(slow.revision > created.revision, 'a swap moves the revision on');
        const stale = g.updateConfig(created.revision, { ...created.config, mode: 'fast' }, { reason: 'stale' });
        await assert.rejects(stale, isConflict(guardrailKeys(cluster).config, created.revision, slow.revision));
        assert.deepEqual(await g.readConfig(), slow, 'the stale writer overwrote nothing');
      } finally {
        await g.close();
      }
    },
  },
  {
    title: 'membership: of two concurrent add-member calls exactly one wins, the other gets a conflict',
    async run(ctx, cluster) {
      const [g1, g2] = [await ctx.open(cluster), await ctx.open(cluster)];
      try {
        const created = await initCluster(g1, abc);
        // Both calls must decide on the same config for the race to be real: each one's read waits for the other's.
        const [r1, r2] = barrierOnRead([g1, g2]);
        const results = await Promise.allSettled([
          addMembers(r1!, [{ id: 'd' }, { id: 'e' }]),
          addMembers(r2!, [{ id: 'f' }, { id: 'g' }]),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.equal(won.length, 1, `exactly one wins: ${JSON.stringify(results)}`);
        assert.equal(lost.length, 1);
        const winner = (won[0] as PromiseFulfilledResult<VersionedConfig>).value;
        assert.ok(isConflict(guardrailKeys(cluster).config, created.revision, winner.revision)(lost[0]!.reason));
        const now = (await g1.readConfig())!;
        assert.deepEqual(now, winner);
        assert.equal(now.config.epoch, 2, 'one membership change, one epoch bump');
        assert.equal(now.config.n, 5);
        assert.equal(now.config.fastQuorum, 3);
        assert.equal((await g1.history()).length, 2, 'the loser left no history entry');
      } finally {
        await Promise.all([g1.close(), g2.close()]);
      }
    },
  },
  {
    title: 'membership: add and remove bump the epoch; an even N or an unknown member is refused before writing',
    async run(ctx, cluster) {
      const g = await ctx.open(cluster);
      try {
        const created = await initCluster(g, abc);
        await assert.rejects(
          addMembers(g, [{ id: 'd' }]),
          (e) => e instanceof GuardrailInputError && /even/.test(e.message),
        );
        await assert.rejects(removeMembers(g, ['zz']), GuardrailInputError);
        await assert.rejects(addMembers(g, [{ id: 'a' }, { id: 'x' }]), /a is a member already/);
        assert.equal((await g.readConfig())!.revision, created.revision, 'nothing was written');
        const added = await addMembers(g, [{ id: 'd', address: 'd:1' }, { id: 'e' }]);
        assert.equal(added.config.epoch, 2);
        assert.deepEqual(added.config.members.at(-2), { id: 'd', address: 'd:1', joinedEpoch: 2 });
        const removed = await removeMembers(g, ['a', 'b']);
        assert.deepEqual(
          [removed.config.epoch, removed.config.n, removed.config.members.map((m) => m.id)],
          [3, 3, ['c', 'd', 'e']],
        );
        const moded = await setMode(g, 'slow');
        assert.deepEqual([moded.changed, moded.config.epoch], [true, 3], 'a mode switch keeps the epoch');
        assert.equal((await setMode(g, 'slow')).changed, false, 'no write when the mode is already set');
      } finally {
        await g.close();
      }
    },
  },
  {
    title: 'watch: the current config, then every change in revision order, on another client too',
    async run(ctx, cluster) {
      const [g1, g2] = [await ctx.open(cluster), await ctx.open(cluster)];
      try {
        const created = await initCluster(g1, abc);
        const log = new EventLog<VersionedConfig>();
        const watch = await g2.watchConfig({ onConfig: log.push });
        assert.deepEqual(log.events, [created], 'the current config is delivered before watchConfig resolves');
        const changes = [
          await setMode(g1, 'slow'),
          await addMembers(g1, [{ id: 'd' }, { id: 'e' }]),
          await setMode(g1, 'fast'),
        ];
        const last = changes.at(-1)!;
        await log.until('the last change', (v) => v.revision === last.revision, ctx.waitMs);
        assert.deepEqual(
          log.events.map((v) => [v.revision, v.config.mode, v.config.epoch]),
          [created, ...changes].map((v) => [v.revision, v.config.mode, v.config.epoch]),
        );
        assert.deepEqual(watch.current(), { config: last.config, revision: last.revision });
        await watch.close();
      } finally {
        await Promise.all([g1.close(), g2.close()]);
      }
    },
  },
  {
    title: 'bad input: a malformed config is rejected naming key and revision; watchers keep the last good one',
    async run(ctx, cluster) {
      const g = await ctx.open(cluster);
      const key = guardrailKeys(cluster).config;
      try {
        const created = await initCluster(g, abc);
        const log = new EventLog<ConfigEvent>();
        const watch = await g.watchConfig({
          onConfig: (v) => log.push({ kind: 'config', v }),
          onError: (e) => log.push({ kind: 'error', e }),
        });
        await ctx.putRaw(key, JSON.stringify({ ...created.config, n: 4, mode: 'turbo' }));
        const first = await log.until('an error event', (e) => e.kind === 'error', ctx.waitMs);
        const error = configErrorOf(first);
        assert.equal(error.key, key);
        assert.ok(error.revision > created.revision);
        assert.match(error.message, new RegExp(`${key} at revision ${error.revision}`));
        assert.ok(error.problems.some((p) => p.startsWith('mode:')) && error.problems.some((p) => p.startsWith('n:')));
        await assert.rejects(g.readConfig(), (e) => e instanceof GuardrailConfigError && e.revision === error.revision);
        assert.deepEqual(watch.current(), created, 'the last good config stays current');

        await ctx.putRaw(key, 'not json');
        const second = await log.until('a second error', (e) => e.kind === 'error' && e.e !== error, ctx.waitMs);
        assert.match(configErrorOf(second).message, /not JSON/);
        // An operator repairs it with a compare-and-swap on the bad revision; watchers move on.
        const badRevision = configErrorOf(second).revision;
        const repaired = await g.updateConfig(badRevision, { ...created.config, mode: 'slow' }, { reason: 'repair' });
        await log.until(
          'the repaired config',
          (e) => e.kind === 'config' && e.v.revision === repaired.revision,
          ctx.waitMs,
        );
        // A valid config whose epoch goes back is refused too: fencing relies on epochs only growing.
        const grown = await addMembers(g, [{ id: 'd' }, { id: 'e' }]);
        await log.until('epoch 2', (e) => e.kind === 'config' && e.v.revision === grown.revision, ctx.waitMs);
        await ctx.putRaw(key, JSON.stringify(created.config));
        const back = await log.until(
          'an epoch going back',
          (e) => e.kind === 'error' && /epoch went back/.test(e.e.message),
          ctx.waitMs,
        );
        assert.match(configErrorOf(back).message, new RegExp(`${key} at revision \\d+.*epoch went back from 2 to 1`));
        assert.deepEqual(watch.current(), grown);
        assert.deepEqual(
          log.events.map((e) => (e.kind === 'config' ? e.v.revision : e.kind)),
          [created.revision, 'error', 'error', repaired.revision, grown.revision, 'error'],
          'only good configs were delivered, each bad one reported once',
        );
        await watch.close();
      } finally {
        await g.close();
      }
    },
  },
];
