/**
 * Counts the records of an output topic with a read_committed kafkajs consumer running in a worker thread, and
 * reports when a target count is reached. The worker keeps the reader's fetching and decoding off the event
 * loop of the code being measured (the engine and the raw loops are single-threaded JavaScript; a reader in
 * the same thread would slow the faster side more). Both sides of a comparison use the same reader.
 *
 * The worker's code is a CommonJS string: tsx does not load into worker threads on Node 20, and the worker
 * needs nothing but kafkajs. Times are absolute (timeOrigin + now) so the two threads' clocks compare.
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';

const workerCode = `
const { parentPort, workerData } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const { Kafka, logLevel } = require(workerData.kafkajs);
const now = () => performance.timeOrigin + performance.now();
const kafka = new Kafka({ clientId: workerData.groupId, brokers: workerData.brokers, logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({ groupId: workerData.groupId, readUncommitted: false, maxWaitTimeInMs: 100 });
let count = 0, first = 0, done = false;
parentPort.on('message', async (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  await consumer.disconnect().catch(() => undefined);
  parentPort.postMessage({ type: 'stopped', count });
});
const timer = setInterval(() => parentPort.postMessage({ type: 'progress', count }), 1000);
(async () => {
  await consumer.connect();
  await consumer.subscribe({ topic: workerData.topic, fromBeginning: true });
  consumer.on(consumer.events.GROUP_JOIN, () => parentPort.postMessage({ type: 'ready' }));
  await consumer.run({
    eachBatch: async ({ batch }) => {
      if (batch.messages.length === 0) return;
      if (count === 0) first = now();
      count += batch.messages.length;
      if (!done && count >= workerData.target) {
        done = true;
        parentPort.postMessage({ type: 'done', count, first, last: now() });
      }
    },
  });
})().catch((error) => parentPort.postMessage({ type: 'error', message: String((error && error.stack) || error) }));
`;

type Message =
  | { type: 'ready' | 'progress' | 'stopped'; count?: number }
  | { type: 'done'; count: number; first: number; last: number }
  | { type: 'error'; message: string };

export interface CountResult {
  /** Records counted when the target was reached (more than the target means duplicates or a bug). */
  count: number;
  /** Absolute times (ms): the first record seen, and the target reached. */
  firstAt: number;
  lastAt: number;
}

export interface OutputCounter {
  /** Resolves once the reader joined its group: the clock may start. */
  ready: Promise<void>;
  done: Promise<CountResult>;
  counted(): number;
  /** Stops the reader; resolves with its final count (to see records beyond the target). */
  stop(): Promise<number>;
}

/** Now, on the clock the worker uses. */
export const absoluteNow = (): number => performance.timeOrigin + performance.now();

export function startOutputCounter(options: {
  brokers: string[];
  topic: string;
  groupId: string;
  target: number;
}): OutputCounter {
  const kafkajs = createRequire(import.meta.url).resolve('kafkajs');
  const worker = new Worker(workerCode, { eval: true, workerData: { ...options, kafkajs } });
  let count = 0;
  let stopped: (n: number) => void = () => undefined;
  const handlers: { ready: () => void; done: (result: CountResult) => void; fail: (error: Error) => void } = {
    ready: () => undefined,
    done: () => undefined,
    fail: () => undefined,
  };
  let failReady: (error: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => ((handlers.ready = resolve), (failReady = reject)));
  const done = new Promise<CountResult>((resolve, reject) => {
    handlers.done = resolve;
    handlers.fail = (error) => (failReady(error), reject(error));
  });
  done.catch(() => undefined); // observed by the caller when it awaits
  worker.on('message', (message: Message) => {
    if (message.type === 'ready') handlers.ready();
    else if (message.type === 'progress') count = Math.max(count, message.count ?? 0);
    else if (message.type === 'done') {
      count = message.count;
      handlers.done({ count: message.count, firstAt: message.first, lastAt: message.last });
    } else if (message.type === 'stopped') stopped(message.count ?? count);
    else if (message.type === 'error')
      handlers.fail(new Error(`output reader of ${options.topic}: ${message.message}`));
  });
  worker.on('error', (error) => handlers.fail(error));
  return {
    ready,
    done,
    counted: () => count,
    stop: async () => {
      const final = new Promise<number>((resolve) => (stopped = resolve));
      worker.postMessage('stop');
      const timeout = new Promise<number>((resolve) => setTimeout(() => resolve(count), 10_000).unref());
      const n = await Promise.race([final, timeout]);
      await worker.terminate();
      return n;
    },
  };
}
