/**
 * Config validation (every problem named, by field) and the pure membership and mode changes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  configProblems,
  freshMemberId,
  initialConfig,
  parseConfig,
  withMembersAdded,
  withMembersRemoved,
  withMode,
  withRejoin,
} from './config.ts';
import { GuardrailConfigError, GuardrailInputError } from './errors.ts';
import { guardrailKeys } from './keys.ts';

const abc = initialConfig([{ id: 'a' }, { id: 'b', address: 'b:1' }, { id: 'c' }]);

describe('config validation', () => {
  test('a config this code writes is valid', () => {
    assert.deepEqual(configProblems(abc), []);
    assert.deepEqual(configProblems(withMembersAdded(abc, [{ id: 'd' }, { id: 'e' }])), []);
  });

  test('every problem is listed, by field', () => {
    const bad = {
      ...abc,
      members: [
        { id: 'a', joinedEpoch: 1 },
        { id: 'a', joinedEpoch: 9 },
        { id: '-x', joinedEpoch: 0, role: 'x' },
      ],
      n: 2,
      fastQuorum: 3,
      mode: 'turbo',
      epoch: 2,
      protocolVersion: 0,
      extra: true,
    };
    assert.deepEqual(configProblems(bad), [
      'extra: unknown field',
      'mode: not one of fast,slow',
      'protocolVersion: not a whole number >= 1',
      'members[1].joinedEpoch: after epoch 2',
      'members[2].role: unknown field',
      'members[2].id: must match /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/',
      'members[2].joinedEpoch: not a whole number >= 1',
      'members[1].id: "a" appears twice',
      'n: 2 but 3 members',
      'fastQuorum: 3, N=3 needs 2',
    ]);
    assert.deepEqual(configProblems({ ...abc, members: [abc.members[0], abc.members[1]], n: 2 }), [
      'n: 2 members is even; EPaxos needs N = 2F+1',
    ]);
    assert.deepEqual(configProblems([]), ['not a JSON object']);
    assert.deepEqual(configProblems({ ...abc, members: [] }), ['members: not a non-empty array']);
  });

  test('parseConfig names the key and revision of a bad value', () => {
    const key = guardrailKeys('prod').config;
    assert.deepEqual(parseConfig(JSON.stringify(abc), key, 7), abc);
    assert.throws(
      () => parseConfig('{"n":', key, 42),
      (e) =>
        e instanceof GuardrailConfigError &&
        e.key === '/parley/prod/config' &&
        e.revision === 42 &&
        /^\/parley\/prod\/config at revision 42 is not a valid config: not JSON/.test(e.message),
    );
  });
});

describe('config changes', () => {
  test('adding and removing members bumps the epoch and recomputes quorums; N must stay odd', () => {
    const five = withMembersAdded(abc, [{ id: 'd' }, { id: 'e', address: 'e:1' }]);
    assert.deepEqual([five.n, five.fastQuorum, five.slowQuorum, five.epoch], [5, 3, 3, 2]);
    assert.deepEqual(five.members.at(-1), { id: 'e', address: 'e:1', joinedEpoch: 2 });
    const back = withMembersRemoved(five, ['a', 'e']);
    assert.deepEqual([back.n, back.epoch, back.members.map((m) => m.id)], [3, 3, ['b', 'c', 'd']]);
    assert.throws(() => withMembersAdded(abc, [{ id: 'd' }]), /N=4 is even/);
    assert.throws(() => withMembersRemoved(abc, ['a']), /N=2 is even/);
    assert.throws(() => withMembersRemoved(abc, ['a', 'b', 'c']), /cannot remove every member/);
    assert.throws(() => withMembersAdded(abc, [{ id: 'd' }, { id: 'd' }]), /d is named twice/);
    assert.throws(() => withMembersAdded(abc, [{ id: 'b' }, { id: 'x' }]), /b is a member already/);
    assert.throws(() => withMembersAdded(abc, [{ id: 'bad id' }, { id: 'x' }]), GuardrailInputError);
  });

  test('a rejoin replaces the id by a fresh one tagged with the new epoch, keeping the address', () => {
    const { config, newId } = withRejoin(abc, 'b');
    assert.equal(newId, 'b.e2');
    assert.deepEqual(config.members[1], { id: 'b.e2', address: 'b:1', joinedEpoch: 2 });
    assert.deepEqual([config.n, config.epoch], [3, 2]);
    assert.equal(withRejoin(config, 'b.e2').newId, 'b.e3');
    assert.equal(freshMemberId('replica-7.e12', 13), 'replica-7.e13');
    assert.throws(() => withRejoin(abc, 'zz'), /zz is not a member/);
  });

  test('a mode switch changes only the mode', () => {
    assert.deepEqual(withMode(abc, 'slow'), { ...abc, mode: 'slow' });
    assert.throws(() => withMode(abc, 'turbo' as never), GuardrailInputError);
  });
});
