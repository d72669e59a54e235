/**
 * kafkajs errors → errors with a `code` and a `retriable` flag (STYLE.md §8). Conditions both backends share use
 * BackendError's codes (../errors.ts); everything else Kafka-specific keeps kafkajs's protocol error type as its
 * code (e.g. REQUEST_TIMED_OUT) in a KafkaError, so the runtime decides by code, never by message.
 */
import { BackendError } from '../errors.ts';

/** A Kafka condition without a backend-neutral code: `code` is kafkajs's error type (or name), as it reported it. */
export class KafkaError extends Error {
  override name = 'KafkaError';
  constructor(
    readonly code: string,
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface KafkaJSLike {
  name?: string;
  type?: string;
  message?: string;
  retriable?: boolean;
  cause?: unknown;
  errors?: unknown[];
}

/**
 * Fencing. kafkajs speaks InitProducerId v0/v1, AddPartitionsToTxn/EndTxn v0/v1 and TxnOffsetCommit v0/v1, so a
 * zombie learns of its newer twin as INVALID_PRODUCER_EPOCH (47); newer request versions would say PRODUCER_FENCED
 * (90), which kafkajs does not know and reports as "Unknown error code 90". Both mean: another producer with this
 * transactional id was initialised; this one must close.
 */
const FENCED_TYPES = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED']);

/** kafkajs's local transaction state machine rejects with KafkaJSNonRetriableError and these messages. */
const TXN_STATE_MESSAGES = [
  'Transaction state exception',
  'Cannot continue to use transaction once ended',
  'There is already an ongoing transaction',
];

/** The innermost kafkajs error: retries wrap the protocol error in KafkaJSNumberOfRetriesExceeded (`cause`). */
function root(error: KafkaJSLike): KafkaJSLike {
  let current = error;
  for (let depth = 0; depth < 10 && current.cause && typeof current.cause === 'object'; depth++) {
    current = current.cause as KafkaJSLike;
  }
  return current;
}

/** Maps any error thrown by kafkajs; BackendError and KafkaError pass through unchanged. */
export function toBackendError(error: unknown, context: string): BackendError | KafkaError {
  if (error instanceof BackendError || error instanceof KafkaError) return error;
  if (!(error instanceof Error)) return new KafkaError('UNKNOWN', `${context}: ${String(error)}`, false);
  const inner = root(error as KafkaJSLike);
  const type = inner.type ?? (error as KafkaJSLike).type;
  const message = `${context}: ${error.message}`;
  if ((type && FENCED_TYPES.has(type)) || /Unknown error code 90\b/.test(inner.message ?? '')) {
    return new BackendError('PRODUCER_FENCED', `${message} (fenced by a newer producer with this id)`, false, {
      cause: error,
    });
  }
  if (type === 'INVALID_TXN_STATE' || TXN_STATE_MESSAGES.some((m) => error.message.includes(m))) {
    return new BackendError('INVALID_TXN_STATE', message, false, { cause: error });
  }
  if (type === 'UNKNOWN_TOPIC_OR_PARTITION') {
    return new BackendError('UNKNOWN_TOPIC', message, true, { cause: error });
  }
  if (error.name === 'KafkaJSAggregateError' && Array.isArray((error as KafkaJSLike).errors)) {
    const first = (error as KafkaJSLike).errors![0];
    if (first) return toBackendError(first, context);
  }
  const retriable = error.name === 'KafkaJSNumberOfRetriesExceeded' ? inner.retriable === true : isRetriable(error);
  return new KafkaError(type ?? codeOfName(error.name), message, retriable, { cause: error });
}

function isRetriable(error: Error): boolean {
  return (error as KafkaJSLike).retriable === true;
}

/** KafkaJSConnectionError → CONNECTION_ERROR, KafkaJSRequestTimeoutError → REQUEST_TIMEOUT_ERROR, Error → ERROR. */
function codeOfName(name: string): string {
  const bare = name.replace(/^KafkaJS/, '') || 'Error';
  return bare.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}
