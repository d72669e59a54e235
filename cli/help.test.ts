/**
 * Every `parley` help text reads the same wherever the project is checked out: no absolute path of this checkout
 * (a default shown as `/home/…/processors/consensus.yaml` tells a reader nothing; issue #12).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(import.meta.dirname, '..');
const commands = ['', 'stack', 'lint', 'describe', 'run', 'propose', 'guardrail', 'lag'];

test('help texts name no absolute path of the checkout', () => {
  for (const command of commands) {
    const args = [join(root, 'cli', 'parley.mjs'), ...(command ? [command] : []), '--help'];
    const result = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 0, `parley ${command} --help: ${result.stderr}`);
    assert.match(result.stdout, /Usage: parley/);
    assert.ok(!result.stdout.includes(root), `parley ${command} --help shows ${root}:\n${result.stdout}`);
  }
});
