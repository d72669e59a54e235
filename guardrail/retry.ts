/**
 * One retry loop for etcd calls (STYLE.md §8): exponential backoff with full jitter, bounded by a time budget
 * rather than an attempt count, because what we wait out is a leader election whose length is time. Errors the
 * caller's `isRetriable` rejects fail at once.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { GuardrailUnavailableError } from './errors.ts';

export interface RetryOptions {
  /** Give up (GuardrailUnavailableError) once this much time has passed since the first attempt. */
  budgetMs: number;
  isRetriable(error: unknown): boolean;
  /** First backoff; doubles up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** What is being done, for the error message. */
  what: string;
  random?: () => number;
}

export async function retry<T>(attempt: (n: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { budgetMs, isRetriable, initialBackoffMs = 25, maxBackoffMs = 400, what } = options;
  const random = options.random ?? Math.random;
  const started = Date.now();
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (!isRetriable(error)) throw error;
      const elapsed = Date.now() - started;
      const backoff = Math.min(maxBackoffMs, initialBackoffMs * 2 ** (n - 1)) * random();
      if (elapsed + backoff >= budgetMs) {
        throw new GuardrailUnavailableError(
          `${what}: etcd did not answer within ${budgetMs} ms (${n} attempts; last: ${(error as Error).message})`,
          error,
        );
      }
      await delay(backoff);
    }
  }
}
