/**
 * Retrying what kafkajs does not retry itself. Admin offset queries: kafkajs's admin gives up on
 * NOT_LEADER_FOR_PARTITION (a leader change, or a topic just created). sendOffsets: kafkajs sends AddOffsetsToTxn once,
 * and right after the previous transaction ended the coordinator answers CONCURRENT_TRANSACTIONS until that one's
 * markers are written (half the calls of back-to-back transactions, measured on Kafka 4.1); and kafkajs retries
 * TxnOffsetCommit only for a 'NOT_COORDINATOR' type its own table never produces (it says
 * NOT_COORDINATOR_FOR_GROUP). Limits are explicit: attempts and the longest delay.
 */
export interface RetryLimits {
  attemptsMax: number;
  delayInitialMs: number;
  delayMaxMs: number;
}

export const ADMIN_RETRY: RetryLimits = { attemptsMax: 15, delayInitialMs: 20, delayMaxMs: 500 };

export const SEND_OFFSETS_RETRY: RetryLimits = { attemptsMax: 20, delayInitialMs: 10, delayMaxMs: 500 };

/**
 * kafkajs's own retrier for producers. Its default first delay (300 ms) is what every produce of a transaction
 * started right after the previous one ended waits: AddPartitionsToTxn answers CONCURRENT_TRANSACTIONS until the
 * markers are written (a few ms). Java's client retries that after 20 ms; so do we (30 back-to-back transactions
 * with a send each: 6.2 s with kafkajs's default, see the report of this backend). Bounded (~25 s in all), unlike
 * kafkajs's idempotent default of Number.MAX_SAFE_INTEGER retries: a transaction that fails is aborted and redone
 * by the caller, and a plain producer is at-least-once anyway.
 */
export const PRODUCER_RETRY = { retries: 30, initialRetryTime: 20, maxRetryTime: 1000, multiplier: 2, factor: 0.2 };

/** Runs `action` until it succeeds, `retriable` says no, or the attempts are spent; backoff doubles, with jitter. */
export async function retry<T>(
  action: () => Promise<T>,
  retriable: (error: unknown) => boolean,
  limits: RetryLimits,
): Promise<T> {
  let delay = limits.delayInitialMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      if (attempt >= limits.attemptsMax || !retriable(error)) throw error;
      const jittered = delay / 2 + Math.random() * (delay / 2);
      await new Promise((resolve) => setTimeout(resolve, jittered));
      delay = Math.min(delay * 2, limits.delayMaxMs);
    }
  }
}
