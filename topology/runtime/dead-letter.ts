/**
 * Dead letters keep the poisoned record's original key and value bytes (so nothing is lost and it can be
 * replayed as it was), with the error's context in headers, as Kafka Connect's dead-letter queues do.
 */
import type { BackendRecord, OutgoingRecord } from '../backend/types.ts';

export const deadLetterHeaders = {
  topic: 'parley.dlq.topic',
  partition: 'parley.dlq.partition',
  offset: 'parley.dlq.offset',
  processor: 'parley.dlq.processor',
  stage: 'parley.dlq.stage',
  errorClass: 'parley.dlq.error.class',
  errorMessage: 'parley.dlq.error.message',
  errorStack: 'parley.dlq.error.stack',
  application: 'parley.dlq.application',
} as const;

export type FailureStage = 'deserialize' | 'process' | 'serialize';

export function deadLetter(options: {
  dlqTopic: string;
  application: string;
  source: BackendRecord;
  node: string;
  stage: FailureStage;
  error: unknown;
}): OutgoingRecord {
  const { source, error } = options;
  const err = error instanceof Error ? error : new Error(String(error));
  const text = (s: string): Buffer => Buffer.from(s, 'utf8');
  return {
    topic: options.dlqTopic,
    key: source.key,
    value: source.value,
    timestamp: source.timestamp,
    headers: {
      ...source.headers,
      [deadLetterHeaders.topic]: text(source.topic),
      [deadLetterHeaders.partition]: text(String(source.partition)),
      [deadLetterHeaders.offset]: text(String(source.offset)),
      [deadLetterHeaders.processor]: text(options.node),
      [deadLetterHeaders.stage]: text(options.stage),
      [deadLetterHeaders.errorClass]: text(err.name),
      [deadLetterHeaders.errorMessage]: text(err.message),
      [deadLetterHeaders.errorStack]: text((err.stack ?? '').slice(0, 4000)),
      [deadLetterHeaders.application]: text(options.application),
    },
  };
}
