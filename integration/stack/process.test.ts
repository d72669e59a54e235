import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isOurs, readPidRecord, startDetached, stopRecorded, type PidRecord } from './process.ts';

const dir = mkdtempSync(join(tmpdir(), 'parley-process-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a started process is ours until stopped, even after it execs; stop removes the PID file', async () => {
  const pidFile = join(dir, 'sleep.pid');
  const logFile = join(dir, 'sleep.log');
  const record = startDetached({ command: 'sh', args: ['-c', 'echo started; exec sleep 60'], pidFile, logFile });
  assert.ok(isOurs(readPidRecord(pidFile)));
  assert.equal(await stopRecorded(pidFile, 5_000), true);
  assert.equal(isOurs(record), false, 'the process is gone');
  assert.equal(readPidRecord(pidFile), undefined);
  assert.equal(await stopRecorded(pidFile), false, 'a second stop finds nothing to stop');
});

test('a PID file pointing at some other live process is not ours and is never signalled', async () => {
  const pidFile = join(dir, 'foreign.pid');
  // This test's own process stands in for a PID that the OS reused for an unrelated program.
  const foreign: PidRecord = {
    pid: process.pid,
    startTicks: '1',
    command: ['etcd', '--name=etcd1'],
    startedAt: '',
    logFile: '',
  };
  writeFileSync(pidFile, JSON.stringify(foreign));
  assert.equal(isOurs(foreign), false);
  assert.equal(await stopRecorded(pidFile), false);
  assert.ok(process.kill(process.pid, 0), 'still alive');
});

test('a process that ignores SIGTERM is killed after the grace period', async () => {
  const pidFile = join(dir, 'stubborn.pid');
  const logFile = join(dir, 'stubborn.log');
  startDetached({
    command: 'sh',
    args: ['-c', "trap '' TERM; echo ready; while :; do sleep 0.1; done"],
    pidFile,
    logFile,
  });
  // Wait until the trap is installed (the shell printed "ready"), not for a fixed time.
  while (!readFileSync(logFile, 'utf8').includes('ready')) await new Promise((r) => setImmediate(r));
  const record = readPidRecord(pidFile)!;
  assert.equal(await stopRecorded(pidFile, 300), true);
  assert.equal(isOurs(record), false);
});

test('a torn PID file reads as no record', () => {
  const pidFile = join(dir, 'torn.pid');
  writeFileSync(pidFile, '{"pid": 12');
  assert.equal(readPidRecord(pidFile), undefined);
});
