/**
 * Guardrail errors carry a code and whether retrying can help (STYLE.md §8). A lost compare-and-swap is never
 * retriable at this layer: the caller re-reads, re-decides and tries again if its decision still holds.
 */
export type GuardrailErrorCode =
  'CONFLICT' | 'INVALID_CONFIG' | 'INVALID_ARGUMENT' | 'NO_CONFIG' | 'UNAVAILABLE' | 'LEASE_LOST' | 'CLOSED';

export class GuardrailError extends Error {
  override name = 'GuardrailError';
  constructor(
    readonly code: GuardrailErrorCode,
    message: string,
    readonly retriable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A compare-and-swap lost: the key is not at the revision the change was based on (0 = absent). */
export class GuardrailConflictError extends GuardrailError {
  override name = 'GuardrailConflictError';
  constructor(
    readonly key: string,
    readonly expectedRevision: number,
    readonly actualRevision: number,
    what = 'change',
  ) {
    super(
      'CONFLICT',
      `${what} lost a race on ${key}: expected mod revision ${expectedRevision}` +
        `${expectedRevision === 0 ? ' (absent)' : ''}, found ${actualRevision}` +
        `${actualRevision === 0 ? ' (absent)' : ''}; re-read and decide again`,
      false,
    );
  }
}

/** A stored config that fails validation: named by key and revision so an operator can find and fix it. */
export class GuardrailConfigError extends GuardrailError {
  override name = 'GuardrailConfigError';
  constructor(
    readonly key: string,
    readonly revision: number,
    readonly problems: readonly string[],
  ) {
    super('INVALID_CONFIG', `${key} at revision ${revision} is not a valid config: ${problems.join('; ')}`, false);
  }
}

/** Bad input from a caller (an even N, an unknown member): a clear error, not an assertion (STYLE.md §6). */
export class GuardrailInputError extends GuardrailError {
  override name = 'GuardrailInputError';
  constructor(message: string) {
    super('INVALID_ARGUMENT', message, false);
  }
}

export class GuardrailUnavailableError extends GuardrailError {
  override name = 'GuardrailUnavailableError';
  constructor(message: string, cause?: unknown) {
    super('UNAVAILABLE', message, true, { cause });
  }
}

/**
 * Which etcd3 client errors are worth another attempt: the transport and leader-election failures. Everything
 * else (an invalid argument, a permission) fails at once. Keyed by the error's class name, as etcd3 casts gRPC
 * statuses to classes; messages cover etcd's own server errors that arrive as GRPCUnknownError or plain Error.
 */
const retriableEtcdErrors: Readonly<Record<string, boolean>> = {
  GRPCUnavailableError: true,
  GRPCDeadlineExceededError: true,
  GRPCCancelledError: true,
  GRPCInternalError: true,
  GRPCUnknownError: true,
  GRPCResourceExhastedError: true,
  GRPCAbortedError: true,
  GRPCConnectFailedError: true,
  BrokenCircuitError: true,
  GRPCInvalidArgumentError: false,
  GRPCPermissionDeniedError: false,
  EtcdPermissionDeniedError: false,
  ClientClosedError: false,
};

const retriableServerMessages = [
  /no leader/i,
  /leader changed/i,
  /request timed out/i,
  /timed out/i,
  /too many requests/i,
  /unavailable/i,
  /connection/i,
];

export function isRetriableEtcdError(error: unknown): boolean {
  if (error instanceof GuardrailError) return error.retriable;
  if (!(error instanceof Error)) return false;
  const byName = retriableEtcdErrors[error.constructor.name];
  if (byName !== undefined) return byName;
  return retriableServerMessages.some((pattern) => pattern.test(error.message));
}
