/**
 * npm run sim -- [--seeds N] [--start S] [--seed S] [--n 3|5] [--proposals P] [--keys K] [--unsafe-fast-quorum]
 * Runs seeded simulations and reports simulated commands per second; a failing seed prints its violations, the
 * trace before the end, and the command that replays it.
 */
import { parseArgs } from 'node:util';
import { defaultSimOptions, simulate } from './simulate.ts';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1000' },
    start: { type: 'string', default: '1' },
    seed: { type: 'string' },
    n: { type: 'string', default: '3' },
    proposals: { type: 'string', default: String(defaultSimOptions.proposals) },
    keys: { type: 'string', default: String(defaultSimOptions.keys) },
    'unsafe-fast-quorum': { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
  },
});

const n = Number(values.n);
const first = Number(values.seed ?? values.start);
const count = values.seed ? 1 : Number(values.seeds);
const started = performance.now();
let commands = 0;
let failures = 0;
for (let seed = first; seed < first + count; seed++) {
  const result = simulate({
    ...defaultSimOptions,
    seed,
    n,
    proposals: Number(values.proposals),
    keys: Number(values.keys),
    ...(values['unsafe-fast-quorum'] ? { unsafeFastQuorumMinusOne: true } : {}),
  });
  commands += result.commands;
  if (result.violations.length > 0) {
    failures++;
    console.log(`seed ${seed} FAILED (N=${n}):`);
    for (const v of result.violations.slice(0, 10)) console.log(`  ${v.invariant}: ${v.detail}`);
    if (!values.quiet)
      console.log(
        `  trace (last events):\n${result.trace
          .slice(-60)
          .map((t) => `    ${t}`)
          .join('\n')}`,
      );
    console.log(
      `  replay: npm run sim -- --seed ${seed} --n ${n}${values['unsafe-fast-quorum'] ? ' --unsafe-fast-quorum' : ''}`,
    );
  }
  if ((seed - first + 1) % 500 === 0) process.stderr.write(`… ${seed - first + 1}/${count} seeds\n`);
}
const seconds = (performance.now() - started) / 1000;
console.log(
  `${count} seeds, N=${n}: ${failures} failed; ${commands} simulated commands in ${seconds.toFixed(1)} s ` +
    `(${Math.round(commands / seconds)} commands/s)`,
);
process.exitCode = failures > 0 ? 1 : 0;
