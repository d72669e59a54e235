/**
 * EPaxos scenarios as data (testdata/*.txt; the format is in sim/scenario.ts): the named schedules of issue #7 —
 * Sutra's 3-replica counterexample and each recovery case of the paper (Fig. 3, §4.4) — and the normal case's
 * message delays, each a file whose golden output shows every message the schedule caused. `agree` and `check`
 * lines fail the file outright when agreement or an invariant breaks; `PARLEY_REWRITE=1` rewrites the outputs.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatScenario, parseScenario, runScenario } from '../../../sim/scenario.ts';

const dir = fileURLToPath(new URL('./testdata/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.txt'));

test('the scenarios are there', () => assert.ok(files.length >= 8, files.join(', ')));

for (const file of files) {
  test(file, () => {
    const path = join(dir, file);
    const text = readFileSync(path, 'utf8');
    const blocks = parseScenario(text, path);
    const produced = formatScenario(blocks, runScenario(blocks, path));
    if (process.env['PARLEY_REWRITE'] === '1') writeFileSync(path, produced);
    else assert.equal(produced, text, `${path}: output differs (PARLEY_REWRITE=1 rewrites it, then read the diff)`);
  });
}

test('a golden output that does not match is caught, and an agreement check that fails stops the file', () => {
  const path = join(dir, 'recovery-rule5-noop.txt');
  const text = readFileSync(path, 'utf8');
  const altered = text.replace('committed r0.0 = no-op', 'committed r0.0 = a');
  assert.notEqual(altered, text);
  const blocks = parseScenario(altered, path);
  assert.notEqual(formatScenario(blocks, runScenario(blocks, path)), altered);
  const broken = parseScenario('cluster n=3\n----\nok\n\npropose r0 a k\n----\nok\n\nagree r0.0\n----\nok\n', 'inline');
  assert.throws(() => runScenario(broken, 'inline'), /inline:9: agree r0\.0: r0\.0 is not committed at r0, r1, r2/);
});
