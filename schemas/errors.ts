/**
 * Schema and registry errors carry a code and whether retrying can help (STYLE.md §8), so the runtime decides
 * without parsing messages: a registry that is down or answers 5xx is worth retrying; a schema the registry
 * rejects, or a value that does not fit its schema, is not. Bytes that cannot be turned into a value throw the
 * contract's `DeserializationError` (schemas/serde.ts) instead, which the runtime dead-letters: an unreachable
 * registry while decoding is therefore a `SchemaRegistryError`, never a `DeserializationError`, so a registry
 * outage cannot send good records to the dead-letter topic.
 */

export type SchemaErrorCode =
  | 'REGISTRY_UNAVAILABLE'
  | 'REGISTRY_SERVER_ERROR'
  | 'REGISTRY_HTTP_ERROR'
  | 'REGISTRY_BAD_RESPONSE'
  | 'SUBJECT_NOT_FOUND'
  | 'VERSION_NOT_FOUND'
  | 'SCHEMA_NOT_FOUND'
  | 'INCOMPATIBLE_SCHEMA'
  | 'INVALID_SCHEMA'
  | 'INVALID_COMPATIBILITY_LEVEL'
  | 'SCHEMA_FILE_NOT_FOUND'
  | 'SERIALIZATION_FAILED'
  | 'SERDE_NOT_PREPARED';

export class SchemaError extends Error {
  override name = 'SchemaError';
  constructor(
    readonly code: SchemaErrorCode,
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface RegistryErrorContext {
  /** The registry URL the request went to (`memory://` for the in-process registry). */
  url: string;
  subject?: string;
  /** HTTP status, when the registry answered. */
  status?: number;
  /** The registry's own `error_code` (Confluent: 40401 subject not found, 409 incompatible, 42201 invalid…). */
  registryCode?: number;
}

/** A registry call that failed: unreachable, an HTTP error, or a schema the registry rejects. */
export class SchemaRegistryError extends SchemaError {
  override name = 'SchemaRegistryError';
  readonly url: string;
  readonly subject: string | undefined;
  readonly status: number | undefined;
  readonly registryCode: number | undefined;
  constructor(
    code: SchemaErrorCode,
    message: string,
    retriable: boolean,
    context: RegistryErrorContext,
    options?: { cause?: unknown },
  ) {
    super(code, message, retriable, options);
    this.url = context.url;
    this.subject = context.subject;
    this.status = context.status;
    this.registryCode = context.registryCode;
  }
}

/** The subject's compatibility level forbids this schema. `reasons` says why, as far as the registry tells. */
export class IncompatibleSchemaError extends SchemaRegistryError {
  override name = 'IncompatibleSchemaError';
  constructor(
    message: string,
    readonly reasons: readonly string[],
    context: RegistryErrorContext,
  ) {
    super('INCOMPATIBLE_SCHEMA', message, false, context);
  }
}

/** A value that does not fit the schema (or format) it is serialized with; names the topic and where it broke. */
export class SerializationError extends SchemaError {
  override name = 'SerializationError';
  constructor(
    message: string,
    readonly topic: string,
    options?: { cause?: unknown },
  ) {
    super('SERIALIZATION_FAILED', message, false, options);
  }
}

/**
 * A synchronous serde call that needs a registry answer not yet cached: `await serde.prepare(topic)` first
 * (or use the asynchronous method). A programming error, so not retriable.
 */
export class SerdeNotPreparedError extends SchemaError {
  override name = 'SerdeNotPreparedError';
  constructor(
    message: string,
    readonly topic: string,
  ) {
    super('SERDE_NOT_PREPARED', message, false);
  }
}

/** An `.avsc` file that is missing, not JSON, or not a valid Avro schema. */
export class SchemaFileError extends SchemaError {
  override name = 'SchemaFileError';
  constructor(
    code: 'SCHEMA_FILE_NOT_FOUND' | 'INVALID_SCHEMA',
    message: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, false, options);
  }
}
