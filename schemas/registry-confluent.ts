/**
 * The Confluent Schema Registry REST API over plain `fetch`, rather than @kafkajs/confluent-schema-registry:
 * that client hides the status and the URL behind its own error types and retries on its own, and Parley wants
 * every failure to name the URL, the subject and the status, and to say whether retrying can help (one retry
 * policy for the whole runtime, STYLE.md §8). Schemas by id never change, so they are cached here.
 */
import { IncompatibleSchemaError, SchemaRegistryError, type SchemaErrorCode } from './errors.ts';
import type { SchemaRegistryClient } from './registry.ts';
import type { CompatibilityLevel } from './schema.ts';

export interface ConfluentRegistryOptions {
  /** The API root, e.g. `http://127.0.0.1:18081/apis/ccompat/v7` for Apicurio, `http://host:8081` for Confluent. */
  url: string;
  /** Per request; a request that takes longer fails as retriable `REGISTRY_UNAVAILABLE`. */
  requestTimeoutMs?: number;
}

const contentType = 'application/vnd.schemaregistry.v1+json';
const requestTimeoutMsDefault = 10_000;

/** Confluent's `error_code` values that Parley tells apart; anything else is classified by HTTP status. */
const registryCodes: Record<number, SchemaErrorCode> = {
  40401: 'SUBJECT_NOT_FOUND',
  40402: 'VERSION_NOT_FOUND',
  40403: 'SCHEMA_NOT_FOUND',
  409: 'INCOMPATIBLE_SCHEMA',
  42201: 'INVALID_SCHEMA',
  42203: 'INVALID_COMPATIBILITY_LEVEL',
};

interface Answer {
  what: string;
  context: { url: string; subject: string | undefined; status: number };
  body: unknown;
}

interface Call {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  subject?: string;
  body?: unknown;
}

export class ConfluentRegistryClient implements SchemaRegistryClient {
  readonly url: string;
  readonly #timeoutMs: number;
  readonly #schemas = new Map<number, Promise<string>>();

  constructor(options: ConfluentRegistryOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.#timeoutMs = options.requestTimeoutMs ?? requestTimeoutMsDefault;
  }

  async register(subject: string, schema: string): Promise<number> {
    const call: Call = {
      method: 'POST',
      path: `/subjects/${encodeURIComponent(subject)}/versions`,
      subject,
      body: { schemaType: 'AVRO', schema },
    };
    return field(await this.#request(call), 'id', 'number');
  }

  getSchema(id: number): Promise<string> {
    const cached = this.#schemas.get(id);
    if (cached !== undefined) return cached;
    const call: Call = { method: 'GET', path: `/schemas/ids/${id}` };
    const schema = this.#request(call).then((answer) => field(answer, 'schema', 'string'));
    // Only answers are cached: a failed lookup (registry down, id not yet known) is asked again next time.
    schema.catch(() => {
      if (this.#schemas.get(id) === schema) this.#schemas.delete(id);
    });
    this.#schemas.set(id, schema);
    return schema;
  }

  async latestId(subject: string): Promise<number | undefined> {
    const call: Call = { method: 'GET', path: `/subjects/${encodeURIComponent(subject)}/versions/latest`, subject };
    try {
      return field(await this.#request(call), 'id', 'number');
    } catch (error) {
      if (error instanceof SchemaRegistryError && error.code === 'SUBJECT_NOT_FOUND') return undefined;
      throw error;
    }
  }

  async checkCompatibility(subject: string, schema: string): Promise<boolean> {
    const call: Call = {
      method: 'POST',
      path: `/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest`,
      subject,
      body: { schemaType: 'AVRO', schema },
    };
    try {
      return field(await this.#request(call), 'is_compatible', 'boolean');
    } catch (error) {
      // Confluent answers 40401 for a subject without versions (Apicurio answers true): nothing to break.
      if (error instanceof SchemaRegistryError && error.code === 'SUBJECT_NOT_FOUND') return true;
      throw error;
    }
  }

  async setCompatibility(subject: string, level: CompatibilityLevel): Promise<void> {
    const call: Call = {
      method: 'PUT',
      path: `/config/${encodeURIComponent(subject)}`,
      subject,
      body: { compatibility: level },
    };
    await this.#request(call);
  }

  #describe(call: Call): string {
    const subject = call.subject === undefined ? '' : ` for subject "${call.subject}"`;
    return `schema registry ${call.method} ${this.url}${call.path}${subject}`;
  }

  async #request(call: Call): Promise<Answer> {
    const what = this.#describe(call);
    const context = { url: this.url + call.path, subject: call.subject };
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.url + call.path, {
        method: call.method,
        headers: { accept: contentType, ...(call.body === undefined ? {} : { 'content-type': contentType }) },
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw new SchemaRegistryError('REGISTRY_UNAVAILABLE', `${what} failed: ${networkReason(error)}`, true, context, {
        cause: error,
      });
    }
    if (!response.ok) throw httpError(what, response.status, text, context);
    try {
      return { what, context: { ...context, status: response.status }, body: JSON.parse(text) as unknown };
    } catch (error) {
      throw new SchemaRegistryError(
        'REGISTRY_BAD_RESPONSE',
        `${what} answered HTTP ${response.status} with a body that is not JSON (${snippet(text)}): ` +
          'is the URL the root of a Confluent-compatible API (for Apicurio, …/apis/ccompat/v7)?',
        false,
        { ...context, status: response.status },
        { cause: error },
      );
    }
  }
}

function httpError(
  what: string,
  status: number,
  text: string,
  context: { url: string; subject: string | undefined },
): SchemaRegistryError {
  let registryCode: number | undefined;
  let detail = snippet(text);
  try {
    const body = JSON.parse(text) as { error_code?: unknown; message?: unknown };
    if (typeof body.error_code === 'number') registryCode = body.error_code;
    if (typeof body.message === 'string') detail = body.message;
  } catch {
    // Not the registry's JSON error (a proxy, a wrong path): the raw snippet says what answered.
  }
  const message = `${what} failed with HTTP ${status}${registryCode === undefined ? '' : ` (error_code ${registryCode})`}: ${detail}`;
  const full = { ...context, status, registryCode };
  const code = (registryCode === undefined ? undefined : registryCodes[registryCode]) ?? classify(status);
  if (code === 'INCOMPATIBLE_SCHEMA') return new IncompatibleSchemaError(message, [detail], full);
  return new SchemaRegistryError(code, message, retriableStatus(status), full);
}

/** Without a registry error code (a proxy, a wrong path) only the status says what happened. */
function classify(status: number): SchemaErrorCode {
  return status >= 500 ? 'REGISTRY_SERVER_ERROR' : 'REGISTRY_HTTP_ERROR';
}

/** 5xx, 408 (request timeout) and 429 (too many requests) are worth retrying; other 4xx will fail again. */
function retriableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

function networkReason(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within the request timeout`;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (error as { code?: string }).code;
  const message = cause?.message ?? (error as Error).message;
  return code === undefined ? message : `${code} (${message})`;
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat || '(empty body)';
}

type FieldType = { number: number; string: string; boolean: boolean };

/** One field of a successful answer, checked: a registry that answers something else fails clearly. */
function field<T extends keyof FieldType>(answer: Answer, key: string, type: T): FieldType[T] {
  const value = (answer.body as Record<string, unknown> | null)?.[key];
  if (typeof value !== type) {
    throw new SchemaRegistryError(
      'REGISTRY_BAD_RESPONSE',
      `${answer.what} answered without a ${type} "${key}": ${snippet(JSON.stringify(answer.body))}`,
      false,
      answer.context,
    );
  }
  return value as FieldType[T];
}
