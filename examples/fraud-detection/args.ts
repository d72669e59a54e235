/**
 * `npm start`'s arguments: parsed strictly and checked, so a typo or a bad value ends with one line naming the flag
 * (exit 2) rather than a stack trace, or a run of NaN proposals that exits 0 (issue #12). `--help` prints the usage.
 */
import { parseArgs } from 'node:util';

export const usage = `usage: npm start -- [options]
  the fraud-detection engine embedded in one process (memory backend, no external service): replicas, the
  resolution task and 2 agents, driven by a workload generator; at the end, a check that both agents applied
  every decision of every key in the execution order, exactly once.

  --proposals N     proposals to order (default 5000)
  --clients N       concurrent workload clients (default 3)
  --conflict X      share of proposals on hot keys, 0..1 (default 0.02)
  --replicas N      EPaxos replicas, odd (default 3)
  --seed N          the workload's random seed (default 1)
  --timeout-s N     give up after N seconds (default 300)
  --help            this text`;

export interface StartArgs {
  proposals: number;
  clients: number;
  conflict: number;
  replicas: number;
  seed: number;
  timeoutS: number;
}

/** A bad argument: its message names the flag and what it expected. */
export class StartArgsError extends Error {
  override name = 'StartArgsError';
}

/** The arguments, or 'help'; throws StartArgsError naming the flag. */
export function parseStartArgs(argv: string[]): StartArgs | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        proposals: { type: 'string', default: '5000' },
        clients: { type: 'string', default: '3' },
        conflict: { type: 'string', default: '0.02' },
        replicas: { type: 'string', default: '3' },
        seed: { type: 'string', default: '1' },
        'timeout-s': { type: 'string', default: '300' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    // node:util's own message names the option ("Unknown option '--proposal'"); keep it, drop the stack.
    throw new StartArgsError((error as Error).message);
  }
  if (values['help']) return 'help';
  const whole = (flag: string, min: number): number => {
    const text = String(values[flag]);
    const n = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) {
      throw new StartArgsError(`--${flag} ${JSON.stringify(text)}: expected a whole number of at least ${min}`);
    }
    return n;
  };
  const replicas = whole('replicas', 1);
  if (replicas % 2 === 0) throw new StartArgsError(`--replicas ${replicas}: EPaxos needs an odd number (N = 2F+1)`);
  const conflictText = String(values['conflict']);
  const conflict = Number(conflictText);
  if (conflictText.trim() === '' || !(conflict >= 0 && conflict <= 1)) {
    throw new StartArgsError(`--conflict ${JSON.stringify(conflictText)}: expected a share between 0 and 1`);
  }
  return {
    proposals: whole('proposals', 1),
    clients: whole('clients', 1),
    conflict,
    replicas,
    seed: whole('seed', 0),
    timeoutS: whole('timeout-s', 1),
  };
}
