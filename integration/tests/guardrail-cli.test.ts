/**
 * `parley guardrail` as an operator runs it: the real bin in a child process against the real etcd (endpoints
 * from PARLEY_ETCD_ENDPOINTS), checked by exit code, stdout and stderr.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { guardrailKeys } from '../../guardrail/index.ts';
import { testStack, uniqueName } from '../harness/index.ts';

const projectRoot = join(import.meta.dirname, '..', '..');
const cluster = uniqueName('cli');
const keys = guardrailKeys(cluster);
let endpoints: string[] = [];
let admin: Etcd3 | undefined;

before(async () => {
  endpoints = (await testStack()).etcdEndpoints;
  admin = new Etcd3({ hosts: endpoints, dialTimeout: 3_000 });
});

after(async () => {
  await admin?.delete().prefix(keys.root);
  admin?.close();
});

function parley(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env, NODE_OPTIONS: '', PARLEY_ETCD_ENDPOINTS: endpoints.join(',') };
  const child = spawn(process.execPath, ['cli/parley.mjs', 'guardrail', '--cluster', cluster, ...args], {
    cwd: projectRoot,
    env,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

test('init, status, set-mode, add-member, remove-member and history against the real etcd', async () => {
  const init = await parley('init', 'a=127.0.0.1:7001', 'b', 'c');
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, /^created: config revision \d+, epoch 1, mode fast, N=3 \(a, b, c\)\n$/);

  const status = await parley('status');
  assert.equal(status.code, 0, status.stderr);
  assert.match(
    status.stdout,
    new RegExp(`^cluster ${cluster}  config revision \\d+  epoch 1  mode fast  protocol 1$`, 'm'),
  );
  assert.match(status.stdout, /^N=3 {2}F=1 {2}fast quorum 2 {2}slow quorum 2 {2}live 0\/3$/m);
  assert.match(status.stdout, /^a {7}NO {4}127\.0\.0\.1:7001 {2}1$/m);

  assert.equal((await parley('set-mode', 'slow', '--reason', 'drill')).code, 0);
  assert.equal((await parley('add-member', 'd', 'e')).code, 0);
  const removed = await parley('remove-member', 'a', 'b', '--json');
  assert.equal(removed.code, 0, removed.stderr);
  assert.deepEqual(
    JSON.parse(removed.stdout).config.members.map((m: { id: string }) => m.id),
    ['c', 'd', 'e'],
  );

  const history = await parley('history', '--json');
  assert.equal(history.code, 0, history.stderr);
  const entries = JSON.parse(history.stdout) as { reason: string; actor: string; config: { epoch: number } }[];
  assert.deepEqual(
    entries.map((h) => [h.reason, h.actor, h.config.epoch]),
    [
      ['init with a, b, c', 'cli', 1],
      ['drill', 'cli', 1],
      ['add d, e', 'cli', 2],
      ['remove a, b', 'cli', 3],
    ],
  );
});

test('errors exit 1 with a clear message: a second init conflicts, a bad mode, a malformed config in etcd', async () => {
  const again = await parley('init', 'x', 'y', 'z');
  assert.equal(again.code, 1);
  assert.match(
    again.stderr,
    new RegExp(`lost a race on ${keys.config}: expected mod revision 0 \\(absent\\), found \\d+`),
  );

  const bad = await parley('set-mode', 'turbo');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /value 'turbo' is invalid for argument 'mode'\. Allowed choices are fast, slow/);

  await admin!.put(keys.config).value('{"members": []}');
  const [kv] = (await admin!.get(keys.config).exec()).kvs;
  const status = await parley('status');
  assert.equal(status.code, 1);
  assert.match(
    status.stderr,
    new RegExp(
      `^parley: ${keys.config} at revision ${kv!.mod_revision} is not a valid config: .*members: not a non-empty array`,
      'm',
    ),
  );
});
