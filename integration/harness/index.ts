/**
 * What integration tests import: the resolved stack's endpoints and small helpers for unique names.
 * The test runner (integration/run-tests.ts) resolves the stack once and passes it down in PARLEY_* variables;
 * a test file run on its own resolves it itself (and leaves a native stack running: `npm run stack:down`).
 */
import { randomUUID } from 'node:crypto';
import type { StackEndpoints } from '../stack/config.ts';
import { endpointsFromEnv, resolveStack } from './resolve.ts';

export { endpointsFromEnv, endpointsToEnv, NoStackError, resolveStack, type ResolvedStack } from './resolve.ts';

let cached: Promise<StackEndpoints> | undefined;

export function testStack(): Promise<StackEndpoints> {
  cached ??= (async () => endpointsFromEnv() ?? (await resolveStack()))();
  return cached;
}

/** A name no other test run uses, so tests share one broker and one etcd without seeing each other's data. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** A kafkajs client on the test stack; kafkajs' own logging is kept to errors so test output stays readable. */
export async function testKafka(clientId: string) {
  const { Kafka, logLevel } = await import('kafkajs');
  const { kafkaBrokers } = await testStack();
  return new Kafka({ clientId, brokers: kafkaBrokers, logLevel: logLevel.ERROR });
}

/**
 * Polls `probe` until it returns a value `accept` takes, or fails after `timeoutMs` with the last value seen.
 * For state that becomes visible asynchronously by design (Kafka writes transaction markers after EndTxn
 * returns), not as a stand-in for synchronising on an event the test could wait for.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  for (;;) {
    last = await probe();
    if (accept(last)) return last;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
