/**
 * Start-up errors of the native stack that need no running service: they must name the service and the cause.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadStackConfig } from './config.ts';
import { StackStartError, stackStatus, stackUp } from './stack.ts';

const runDir = mkdtempSync(join(tmpdir(), 'parley-stack-'));
after(() => rmSync(runDir, { recursive: true, force: true }));

test('a port held by a foreign process stops `up` before anything starts, naming service and port', async () => {
  const squatter = createServer(() => undefined);
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  const port = (squatter.address() as { port: number }).port;
  try {
    // Free ports for the others, so only the registry's is taken; nothing may be fetched or started.
    const config = loadStackConfig({
      PARLEY_STACK_DIR: runDir,
      PARLEY_REGISTRY_PORT: String(port),
      PARLEY_KAFKA_PORT: '1',
      PARLEY_KAFKA_CONTROLLER_PORT: '2',
      PARLEY_ETCD1_CLIENT_PORT: '3',
      PARLEY_ETCD2_CLIENT_PORT: '4',
      PARLEY_ETCD3_CLIENT_PORT: '5',
    });
    await assert.rejects(stackUp(config), (error: Error) => {
      assert.ok(error instanceof StackStartError);
      assert.equal(error.service, 'registry');
      assert.match(error.message, new RegExp(`port ${port} is already taken`));
      return true;
    });
    const statuses = await stackStatus(config);
    assert.ok(
      statuses.every((s) => !s.running),
      'nothing was started',
    );
  } finally {
    squatter.close();
  }
});
