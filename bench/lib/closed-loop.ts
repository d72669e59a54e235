/**
 * The consensus benchmark's workload and driver: which keys each decision touches (uniform, a hot key taking a
 * share of the decisions, or a Zipf mix with multi-key decisions), and a closed loop of C clients, each issuing
 * its next decision once the previous one is decided, measured over a steady window after a warm-up.
 */
import { performance } from 'node:perf_hooks';
import { interrupted, progress } from './stats.ts';
import { seeded } from '../../sim/random.ts';

export interface KeyMix {
  /** What the option said: `uniform`, `hot` (every decision on one key), `<p>%` (p % on it), `zipf`. */
  name: string;
  keys: number;
  /** Share of decisions on the hot key (key 0); the others are drawn from `zipf` or uniformly. */
  hotShare: number;
  /** Zipf exponent s (P(rank r) ∝ r^-s); 0 = uniform. */
  zipf: number;
  /** Share of decisions on two distinct keys instead of one. */
  multiKey: number;
}

export function parseKeyMix(spec: string, keys: number, multiKey: number | undefined, zipfS: number): KeyMix {
  if (spec === 'uniform') return { name: spec, keys, hotShare: 0, zipf: 0, multiKey: multiKey ?? 0 };
  if (spec === 'hot') return { name: spec, keys, hotShare: 1, zipf: 0, multiKey: multiKey ?? 0 };
  if (spec === 'zipf') return { name: `zipf s=${zipfS}`, keys, hotShare: 0, zipf: zipfS, multiKey: multiKey ?? 0.3 };
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(spec);
  if (percent && Number(percent[1]) <= 100) {
    return { name: spec, keys, hotShare: Number(percent[1]) / 100, zipf: 0, multiKey: multiKey ?? 0 };
  }
  throw new Error(`--conflict ${spec}: expected uniform, hot, zipf or a share of decisions on one hot key like 2%`);
}

export const keyName = (i: number): string => `k${String(i).padStart(5, '0')}`;

/** A key chooser per client: the same mix and seed give the same sequence of key sets on every side. */
export function keyChooser(mix: KeyMix, seed: number): () => string[] {
  const random = seeded(seed).next; // mulberry32, the simulator's: each client draws its own sequence
  let cdf: Float64Array | undefined;
  if (mix.zipf > 0) {
    cdf = new Float64Array(mix.keys);
    let sum = 0;
    for (let r = 0; r < mix.keys; r++) cdf[r] = sum += 1 / Math.pow(r + 1, mix.zipf);
  }
  const one = (): number => {
    if (mix.hotShare > 0 && random() < mix.hotShare) return 0;
    if (!cdf) return Math.floor(random() * mix.keys);
    const u = random() * cdf[cdf.length - 1]!;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return () => {
    const first = one();
    if (mix.multiKey === 0 || random() >= mix.multiKey || mix.keys < 2) return [keyName(first)];
    let second = one();
    // A hot-key mix would draw key 0 again most of the time: the second key is then drawn uniformly.
    for (let tries = 0; second === first && tries < 8; tries++) second = one();
    while (second === first) second = Math.floor(random() * mix.keys);
    return [keyName(first), keyName(second)];
  };
}

/** One decision: resolves with how many times it was retried (a failed compare, a client retry), or rejects. */
export type Decide = (keys: string[], client: number) => Promise<number>;

export interface WindowOptions {
  label: string;
  concurrency: number;
  warmupMs: number;
  windowMs: number;
  /** Key chooser of client c. */
  chooser: (client: number) => () => string[];
  decide: Decide;
  /** Called synchronously at the window's start and end (CPU and byte counters). */
  onWindowStart(): void;
  onWindowEnd(): void;
  /** How long the clients may take to finish their decisions in flight after the window. */
  drainTimeoutMs: number;
}

export interface WindowResult {
  decisions: number;
  seconds: number;
  /** Latency (ms) of each decision completed inside the window, from its first attempt to its completion. */
  latencies: number[];
  retries: number;
  errors: number;
  firstError?: string;
  /** Decisions completed during the warm-up (for the record). */
  warmupDecisions: number;
}

/**
 * Runs `concurrency` closed-loop clients for warm-up + window. A decision counts when it completes inside the
 * window (its latency too); after the window the clients stop taking new decisions and the ones in flight are
 * awaited, so nothing from this window runs into the next.
 */
export async function closedLoopWindow(options: WindowOptions): Promise<WindowResult> {
  const result: WindowResult = { decisions: 0, seconds: 0, latencies: [], retries: 0, errors: 0, warmupDecisions: 0 };
  let windowStart = Number.POSITIVE_INFINITY;
  let windowEnd = Number.POSITIVE_INFINITY;
  let stopping = false;
  let completed = 0;
  const client = async (c: number): Promise<void> => {
    const choose = options.chooser(c);
    while (!stopping && !interrupted()) {
      const keys = choose();
      const started = performance.now();
      try {
        const retries = await options.decide(keys, c);
        const done = performance.now();
        completed++;
        if (done < windowStart) result.warmupDecisions++;
        else if (done <= windowEnd) {
          result.decisions++;
          result.retries += retries;
          result.latencies.push(done - started);
        }
      } catch (error) {
        result.errors++;
        result.firstError ??= (error as Error).message;
        await new Promise((resolve) => setTimeout(resolve, 100)); // no hot loop on a failing side
      }
    }
  };
  const started = performance.now();
  const report = setInterval(() => {
    const phase = performance.now() < windowStart ? 'warm-up' : 'window';
    const secs = ((performance.now() - started) / 1000).toFixed(0);
    progress(`  ${options.label}: ${phase}, ${completed} decided in ${secs} s, ${result.errors} errors`);
  }, 5000);
  const clients = Array.from({ length: options.concurrency }, (_, c) => client(c));
  try {
    await sleepUnlessInterrupted(options.warmupMs);
    options.onWindowStart();
    windowStart = performance.now();
    await sleepUnlessInterrupted(options.windowMs);
    windowEnd = performance.now();
    options.onWindowEnd();
    result.seconds = (windowEnd - windowStart) / 1000;
    stopping = true;
    const drained = Promise.all(clients);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), options.drainTimeoutMs)));
    if ((await Promise.race([drained.then(() => 'ok' as const), late])) === 'late') {
      progress(`  ${options.label}: decisions still in flight ${options.drainTimeoutMs / 1000} s after the window`);
    }
    clearTimeout(timer);
  } finally {
    stopping = true;
    clearInterval(report);
  }
  return result;
}

async function sleepUnlessInterrupted(ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (!interrupted() && performance.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(200, until - performance.now())));
  }
}
