/**
 * A worker thread of `runSeeds` (seeds.ts): it runs the chunks of seeds it is sent, with the options it was
 * started with, and answers each with its commands and failures; 'done' ends it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runChunk } from './seeds.ts';
import type { SimOptions } from './simulate.ts';

const base = workerData as Omit<SimOptions, 'seed'>;
const port = parentPort!;
port.on('message', (message: [number, number] | 'done') => {
  if (message === 'done') {
    port.close();
    return;
  }
  port.postMessage(runChunk(base, message[0], message[1]));
});
