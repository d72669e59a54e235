/**
 * Runs a range of seeds, on worker threads when there are cores to spare. Seeds are independent (each run draws
 * everything from its own seed), so they spread over threads without changing any run: a seed fails, or not, the
 * same way on one thread or many, and `--seed S` replays it alone. Workers take chunks from a shared cursor, so a
 * slow chunk does not hold the others up; what comes back is only the seed, its plan and its violations (the
 * finished cluster stays in the worker).
 */
import { Worker } from 'node:worker_threads';
import type { Violation } from './checkers.ts';
import { addFastRecoveries, noFastRecoveries, simulate, type FastRecoveries, type SimOptions } from './simulate.ts';

export interface SeedFailure {
  seed: number;
  plan: string;
  violations: Violation[];
}

export interface SeedChunk {
  commands: number;
  /** Summed over the chunk's seeds (simulate.ts FastRecoveries). */
  fastRecoveries: FastRecoveries;
  failures: SeedFailure[];
  seeds: number;
}

export interface SeedRunOptions {
  /** The options of every run but its seed (and trace: off, the report replays a failing seed to trace it). */
  base: Omit<SimOptions, 'seed'>;
  first: number;
  count: number;
  /** Threads; 1 runs in this thread. */
  jobs: number;
  /** Seeds per request a worker makes. */
  chunk?: number;
  /** After each chunk, with what has finished so far; failures in the order they were found. */
  onChunk?: (chunk: SeedChunk, done: number) => void;
}

/** The seeds [from, to) of one chunk, in this thread. */
export function runChunk(base: Omit<SimOptions, 'seed'>, from: number, to: number): SeedChunk {
  const fastRecoveries = noFastRecoveries();
  const chunk: SeedChunk = { commands: 0, fastRecoveries, failures: [], seeds: to - from };
  for (let seed = from; seed < to; seed++) {
    let result: ReturnType<typeof simulate>;
    try {
      result = simulate({ ...base, seed, trace: false });
    } catch (error) {
      // A checker that gives up (a search past its bound) throws: say which seed, so it can be replayed alone.
      throw new Error(`seed ${seed} (N=${base.n}): ${(error as Error).message}`, { cause: error });
    }
    chunk.commands += result.commands;
    addFastRecoveries(fastRecoveries, result.fastRecoveries);
    if (result.violations.length > 0) {
      chunk.failures.push({ seed, plan: result.plan, violations: result.violations });
    }
  }
  return chunk;
}

/**
 * A worker thread does not inherit tsx's module hooks (Node 20 and 22 start a worker's loader afresh), so it
 * registers them (tsx as this module resolves it, wherever the process started) before it imports the TypeScript
 * entry.
 */
const bootstrap = `
  import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
    .then((tsx) => tsx.register())
    .then(() => import(${JSON.stringify(new URL('./seed-worker.ts', import.meta.url).href)}));
`;

/** Every seed of the range; the total of their commands and their failures in seed order. */
export async function runSeeds(options: SeedRunOptions): Promise<{
  commands: number;
  failures: SeedFailure[];
  threads: number;
  fastRecoveries: FastRecoveries;
}> {
  const { base, first, count } = options;
  const size = options.chunk ?? 50;
  const end = first + count;
  let next = first;
  let done = 0;
  let commands = 0;
  const failures: SeedFailure[] = [];
  const fastRecoveries = noFastRecoveries();
  const take = (chunk: SeedChunk): void => {
    done += chunk.seeds;
    commands += chunk.commands;
    addFastRecoveries(fastRecoveries, chunk.fastRecoveries);
    failures.push(...chunk.failures);
    options.onChunk?.(chunk, done);
  };
  const jobs = Math.max(1, Math.min(options.jobs, Math.ceil(count / size)));
  if (jobs === 1) {
    for (let range = claim(); range; range = claim()) take(runChunk(base, ...range));
  } else {
    const threads: Worker[] = [];
    try {
      await Promise.all(Array.from({ length: jobs }, () => worker(threads)));
    } finally {
      // One thread failed: the others stop too, rather than run on behind the error.
      await Promise.all(threads.map((t) => t.terminate()));
    }
  }
  return { commands, failures: failures.sort((a, b) => a.seed - b.seed), threads: jobs, fastRecoveries };

  function claim(): [number, number] | undefined {
    if (next >= end) return undefined;
    const from = next;
    next = Math.min(end, next + size);
    return [from, next];
  }

  /** One worker thread: it asks for chunks until none is left. */
  function worker(threads: Worker[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const thread = new Worker(bootstrap, { eval: true, workerData: base });
      threads.push(thread);
      let range: [number, number] | undefined;
      const send = (): void => {
        range = claim();
        thread.postMessage(range ?? 'done');
      };
      thread.on('message', (chunk: SeedChunk) => {
        take(chunk);
        send();
      });
      thread.on('error', (error) => {
        const where = range ? `seeds ${range[0]}-${range[1] - 1}` : 'starting';
        reject(new Error(`sim worker thread, ${where}: ${error.message}`, { cause: error }));
      });
      thread.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`sim worker thread exited with code ${code}`)),
      );
      send();
    });
  }
}
