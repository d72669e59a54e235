/**
 * Backend errors carry a code and whether retrying can help (STYLE.md §8). Both backends throw these codes for
 * the same conditions, so the runtime's handling does not depend on which log it runs on.
 */
export type BackendErrorCode =
  | 'UNKNOWN_TOPIC'
  | 'UNKNOWN_PARTITION'
  | 'PARTITION_COUNT_MISMATCH'
  | 'PRODUCER_FENCED'
  | 'INVALID_TXN_STATE'
  | 'BACKEND_CLOSED';

export class BackendError extends Error {
  override name = 'BackendError';
  constructor(
    readonly code: BackendErrorCode,
    message: string,
    readonly retriable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
