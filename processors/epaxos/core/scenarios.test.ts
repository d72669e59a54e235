/**
 * EPaxos scenarios as data (testdata/*.txt; the format is in sim/scenario.ts): the named schedules of issue #7 —
 * Sutra's 3-replica counterexample and each recovery case of the paper (Fig. 3, §4.4) — and the normal case's
 * message delays, each a file whose golden output shows every message the schedule caused. `agree` and `check`
 * lines fail the file outright when agreement or an invariant breaks; `PARLEY_REWRITE=1` rewrites the outputs.
 * A file whose header says `# targets: <rule>` (issue #8) must also fail — agreement or an invariant breaks —
 * when that rule is forced to its known-wrong variant: each rule is shown to be needed by a schedule of its own.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { unsafeRuleDescriptions } from './state.ts';
import { forceFor, formatScenario, parseScenario, runScenario, targetOf, type Target } from '../../../sim/scenario.ts';

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

/** What a forced run must die of: agreement or an invariant — not a schedule that no longer applies (a typo). */
const brokeSafety = /^[^\n]*:\d+: [^\n]*?: (agreement violated on \S+|invariant violated): /;

const targets = new Map<string, Target>();
for (const file of files) {
  const path = join(dir, file);
  const target = targetOf(parseScenario(readFileSync(path, 'utf8'), path), path);
  if (target) targets.set(file, target);
}

for (const [file, target] of targets) {
  test(`${file} breaks with ${target} forced to its unsafe variant`, () => {
    const path = join(dir, file);
    const blocks = parseScenario(readFileSync(path, 'utf8'), path);
    assert.throws(
      () => runScenario(blocks, path, { force: forceFor(target) }),
      (error: Error) => {
        assert.match(error.message, brokeSafety, `${file} failed, but not for agreement or an invariant`);
        return true;
      },
    );
  });
}

test('each unsafe variant of issue #8 is targeted by a scenario that it breaks', () => {
  // Listed rather than read from unsafeRuleDescriptions: a rule added later gets its scenario in its own change.
  const issue8: Target[] = [
    'tryPreAcceptErasesEqVote',
    'uncommittedConflictAsCommitted',
    'noSeqGuard',
    'promiseOverwritesVbal',
    'mutualDeferralPhase1',
    'trustsReVotedDeps',
    'seqGuardCountsLateCommits',
    'fastQuorum',
  ];
  for (const t of issue8) assert.ok(t === 'fastQuorum' || t in unsafeRuleDescriptions, `${t} is not a rule`);
  const targeted = new Set(targets.values());
  assert.deepEqual(
    issue8.filter((t) => !targeted.has(t)),
    [],
    'rules no scenario targets',
  );
});

test('cluster options and "# targets:" lines are checked', () => {
  const run = (text: string) => runScenario(parseScenario(text, 'inline'), 'inline');
  assert.match(
    run('cluster n=5 unsafe=noSeqGuard unsafe-fast-quorum\n----\nok\n')[0]![0]!,
    /\(unsafe: noSeqGuard, fast/,
  );
  assert.throws(() => run('cluster n=5 unsafe=noSuchRule\n----\nok\n'), /unknown unsafe rule "noSuchRule"/);
  assert.throws(() => run('cluster n=5 timeuot=3\n----\nok\n'), /bad cluster option "timeuot=3"/);
  const header = (line: string) => targetOf(parseScenario(`${line}\ncluster n=3\n----\nok\n`, 'inline'), 'inline');
  assert.equal(header('# targets: fastQuorum'), 'fastQuorum');
  assert.equal(header('# targets: noSeqGuard'), 'noSeqGuard');
  assert.equal(header('# not a target line'), undefined);
  assert.throws(() => header('# targets: noSeqGaurd'), /must read "# targets: <rule>"/);
  const late = 'cluster n=3\n----\nok\n\n# targets: noSeqGuard\ncheck\n----\nok\n';
  assert.throws(() => targetOf(parseScenario(late, 'inline'), 'inline'), /inline:6: .* belongs in the header/);
  // Forcing a rule reaches every cluster: a fast quorum one too small commits on two votes at N=5.
  const text = 'cluster n=5\n----\nok\n\npropose r0 a k\n----\nok\n\nstabilize\n----\nok\n';
  const forced = runScenario(parseScenario(text, 'inline'), 'inline', { force: forceFor('fastQuorum') });
  assert.match(forced[0]![0]!, /unsafe: fast quorum one too small/);
});

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
