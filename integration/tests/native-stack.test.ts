/**
 * The native stack's life cycle on its own ports and folder, beside whatever stack the suite uses:
 * `up` starts Kafka, the registry and three etcd members healthy; a second `up` starts nothing new;
 * kcat sees the broker; `down` stops exactly what `up` started and leaves no process behind.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadStackConfig, portDefaults, type StackConfig } from '../stack/config.ts';
import { isOurs, readPidRecord, type PidRecord } from '../stack/process.ts';
import { stackServices } from '../stack/services.ts';
import { stackDown, stackStatus, stackUp } from '../stack/stack.ts';
import { freePort } from '../harness/ports.ts';

const runDir = mkdtempSync(join(tmpdir(), 'parley-native-'));
let config: StackConfig;

after(async () => {
  if (config) await stackDown(config);
  rmSync(runDir, { recursive: true, force: true });
});

function records(): PidRecord[] {
  return stackServices(config).map((s) => {
    const record = readPidRecord(s.pidFile);
    assert.ok(record, `${s.name} has a PID file`);
    return record;
  });
}

test('up, up again, status, kcat and down on a private set of ports', async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, PARLEY_STACK_DIR: runDir };
  for (const name of Object.keys(portDefaults)) env[name] = String(await freePort());
  config = loadStackConfig(env);

  await stackUp(config);
  const statuses = await stackStatus(config);
  assert.deepEqual(
    statuses.map((s) => [s.name, s.healthy]),
    [
      ['etcd1', true],
      ['etcd2', true],
      ['etcd3', true],
      ['kafka', true],
      ['registry', true],
    ],
  );
  const first = records();
  assert.ok(first.every(isOurs));

  await stackUp(config);
  assert.deepEqual(
    records().map((r) => r.pid),
    first.map((r) => r.pid),
    'a second up starts nothing new',
  );

  const metadata = execFileSync('kcat', ['-b', `127.0.0.1:${config.kafkaPort}`, '-L', '-m', '10'], {
    encoding: 'utf8',
  });
  assert.match(metadata, new RegExp(`broker 1 at 127\\.0\\.0\\.1:${config.kafkaPort}`));

  const stopped = await stackDown(config);
  assert.deepEqual(stopped.sort(), ['etcd1', 'etcd2', 'etcd3', 'kafka', 'registry']);
  assert.ok(
    first.every((r) => !isOurs(r)),
    'no process of the stack is left running',
  );
  assert.ok((await stackStatus(config)).every((s) => !s.running));
  assert.deepEqual(await stackDown(config), [], 'a second down finds nothing to stop');
});
