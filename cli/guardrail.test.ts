/**
 * `parley guardrail` on the in-process guardrail: the same command object the bin uses, with its etcd client
 * swapped for an in-process one, so every subcommand's table and JSON are checked without a stack.
 * integration/tests/guardrail-cli.test.ts runs the real bin against the real etcd.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GuardrailConflictError, InMemoryEtcd, InProcessGuardrail, ManualClock } from '../guardrail/index.ts';
import { guardrailCommand, type GuardrailTarget } from './guardrail.ts';

function cli(env: NodeJS.ProcessEnv = { PARLEY_ETCD_ENDPOINTS: 'http://in-process:1' }) {
  const store = new InMemoryEtcd(new ManualClock(Date.parse('2025-06-01T12:00:00Z')));
  const targets: GuardrailTarget[] = [];
  let output: string[] = [];
  const run = async (...args: string[]) => {
    output = [];
    const command = guardrailCommand({
      open: (t) => (targets.push(t), new InProcessGuardrail({ store, cluster: t.cluster })),
      out: (text) => output.push(text),
      env,
    });
    await command.parseAsync(args, { from: 'user' });
    return output.join('\n');
  };
  return { run, store, targets };
}

describe('parley guardrail', () => {
  test('init, status as a table and as JSON', async () => {
    const { run, targets } = cli();
    assert.equal(
      await run('init', 'a=10.0.0.1:9000', 'b', 'c'),
      'created: config revision 2, epoch 1, mode fast, N=3 (a, b, c)',
    );
    // The cluster parley run follows for the consensus topology (its application id), not a cluster of its own.
    assert.deepEqual(targets[0], { endpoints: ['http://in-process:1'], cluster: 'parley-consensus' });
    assert.equal(
      await run('status'),
      [
        'cluster parley-consensus  config revision 2  epoch 1  mode fast  protocol 1',
        'N=3  F=1  fast quorum 2  slow quorum 2  live 0/3',
        '',
        'MEMBER  LIVE  ADDRESS        JOINED EPOCH',
        'a       NO    10.0.0.1:9000  1',
        'b       NO    -              1',
        'c       NO    -              1',
      ].join('\n'),
    );
    const status = JSON.parse(await run('status', '--json'));
    assert.deepEqual(
      [status.revision, status.n, status.fastQuorum, status.members[0]],
      [2, 3, 2, { id: 'a', address: '10.0.0.1:9000', joinedEpoch: 1, live: false }],
    );
  });

  test('the default cluster follows PARLEY_APP_ID, as the consensus topology application id does', async () => {
    const { run, targets } = cli({ PARLEY_ETCD_ENDPOINTS: 'http://in-process:1', PARLEY_APP_ID: 'fraud-prod' });
    await run('init', 'a', 'b', 'c');
    assert.equal(targets[0]!.cluster, 'fraud-prod');
    await run('--cluster', 'other', 'init', 'a');
    assert.equal(targets[1]!.cluster, 'other', '--cluster still wins');
  });

  test('live members show in status, with registered ids that are not members', async () => {
    const { run, store } = cli();
    await run('init', 'a', 'b', 'c');
    const replica = new InProcessGuardrail({ store, cluster: 'parley-consensus' });
    await replica.registerMember('a', { ttlS: 5 });
    await replica.registerMember('z', { ttlS: 5 });
    const text = await run('status');
    assert.match(text, /live 1\/3/);
    assert.match(text, /^a {7}yes/m);
    assert.match(text, /registered, not members: z$/);
    await replica.close();
  });

  test('set-mode, add-member, remove-member and history', async () => {
    const { run } = cli();
    await run('init', 'a', 'b', 'c');
    assert.equal(
      await run('set-mode', 'slow', '--reason', 'maintenance'),
      'switched: config revision 3, epoch 1, mode slow, N=3 (a, b, c)',
    );
    assert.equal(await run('set-mode', 'slow'), 'already slow (config revision 3)');
    assert.equal(
      await run('add-member', 'd', 'e'),
      'added: config revision 4, epoch 2, mode slow, N=5 (a, b, c, d, e)',
    );
    const removed = JSON.parse(await run('remove-member', 'a', 'b', '--json'));
    assert.deepEqual([removed.revision, removed.config.epoch, removed.config.n], [5, 3, 3]);
    assert.equal(
      await run('history'),
      [
        'REVISION  AT                        ACTOR  EPOCH  MODE  N  REASON',
        '2         2025-06-01T12:00:00.000Z  cli    1      fast  3  init with a, b, c',
        '3         2025-06-01T12:00:00.000Z  cli    1      slow  3  maintenance',
        '4         2025-06-01T12:00:00.000Z  cli    2      slow  5  add d, e',
        '5         2025-06-01T12:00:00.000Z  cli    3      slow  3  remove a, b',
      ].join('\n'),
    );
    const last = JSON.parse(await run('history', '--limit', '1', '--json'));
    assert.deepEqual(
      last.map((h: { revision: number }) => h.revision),
      [5],
    );
  });

  test('errors: an even N, a second init, no endpoints, an unknown cluster name', async () => {
    const { run } = cli();
    await run('init', 'a', 'b', 'c');
    await assert.rejects(run('add-member', 'd'), /N=4 is even/);
    await assert.rejects(run('init', 'x', 'y', 'z'), GuardrailConflictError);
    await assert.rejects(run('--cluster', 'bad/name', 'status'), /cluster name "bad\/name" is not valid/);
    await assert.rejects(run('--cluster', 'other', 'status'), /cluster other has no config yet/);
    await assert.rejects(cli({}).run('status'), /no etcd endpoints: pass --endpoints or set PARLEY_ETCD_ENDPOINTS/);
    await assert.rejects(run('history', '--limit', '0'), /--limit 0/);
  });

  test('--endpoints overrides the environment and is split on commas', async () => {
    const { run, targets } = cli();
    await assert.rejects(
      run('--endpoints', 'http://h1:1, http://h2:2', '--cluster', 'prod', 'status'),
      /cluster prod has no config/,
    );
    assert.deepEqual(targets.at(-1), { endpoints: ['http://h1:1', 'http://h2:2'], cluster: 'prod' });
  });
});
