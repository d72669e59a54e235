/**
 * A serde for each topic/store format of the topology model (topology/model.ts `Format`). Every one is a
 * `SyncSerde`: string, json and bytes never need the registry, so their `prepare` does nothing; Avro needs it
 * once per subject. `null` is a tombstone in every format, in both directions.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AvroSerde } from './avro.ts';
import { SchemaFileError, SerializationError } from './errors.ts';
import type { SchemaRegistryClient } from './registry.ts';
import { avroType, type AvroSchemaJson, type SyncSerde } from './schema.ts';
import { DeserializationError } from './serde.ts';

/** Structurally the same as topology/model.ts `Format` (schemas imports libraries only, so it is not imported). */
export type Format = { type: 'string' } | { type: 'json' } | { type: 'bytes' } | { type: 'avro'; schema: string };

export interface SerdeOptions {
  registry: SchemaRegistryClient;
  /** The folder holding `<schema>.avsc` files. */
  schemasDir: string;
  /** Key or value: picks the Avro subject `<topic>-key` or `<topic>-value`. */
  isKey: boolean;
}

export function serdeFor(format: Format, options: SerdeOptions): SyncSerde<unknown> {
  switch (format.type) {
    case 'string':
      return stringSerde();
    case 'json':
      return jsonSerde();
    case 'bytes':
      return bytesSerde();
    case 'avro': {
      const path = join(options.schemasDir, `${format.schema}.avsc`);
      return new AvroSerde(loadSchemaFile(path), { registry: options.registry, isKey: options.isKey });
    }
    default: {
      const unknown: never = format;
      throw new Error(`unknown serde format ${JSON.stringify(unknown)}`);
    }
  }
}

/** Reads and validates an `.avsc` file; every failure names the path. */
export function loadSchemaFile(path: string): AvroSchemaJson {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new SchemaFileError('SCHEMA_FILE_NOT_FOUND', `cannot read Avro schema ${path}: ${reason}`, path, {
      cause: error,
    });
  }
  try {
    const schema = JSON.parse(text) as AvroSchemaJson;
    avroType(schema);
    return schema;
  } catch (error) {
    const message = `Avro schema ${path} is invalid: ${(error as Error).message}`;
    throw new SchemaFileError('INVALID_SCHEMA', message, path, { cause: error });
  }
}

const prepared = Promise.resolve();

// Fatal: invalid UTF-8 is a corrupt record, not text to patch up with U+FFFD.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A lone UTF-16 surrogate has no UTF-8 encoding; Buffer.from would silently replace it with U+FFFD. */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function encodeText(topic: string, text: string, what: string): Buffer {
  if (loneSurrogate.test(text)) {
    throw new SerializationError(
      `cannot serialize ${what} for topic "${topic}": it has a lone UTF-16 surrogate`,
      topic,
    );
  }
  return Buffer.from(text, 'utf8');
}

function decodeText(topic: string, bytes: Buffer, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch (error) {
    throw new DeserializationError(`cannot deserialize ${what} of topic "${topic}": invalid UTF-8`, topic, {
      cause: error,
    });
  }
}

/** A format without a registry is always prepared, so its synchronous and asynchronous methods are one. */
function syncSerde<T>(
  serializeSync: (topic: string, value: T) => Buffer,
  deserializeSync: (topic: string, bytes: Buffer) => T,
): SyncSerde<T> {
  const serialize = (topic: string, value: T | null) => (value === null ? null : serializeSync(topic, value));
  const deserialize = (topic: string, bytes: Buffer | null) => (bytes === null ? null : deserializeSync(topic, bytes));
  return {
    prepare: () => prepared,
    serialize,
    serializeSync: serialize,
    deserialize,
    deserializeSync: deserialize,
  };
}

/** UTF-8 text. */
export function stringSerde(): SyncSerde<string> {
  return syncSerde(
    (topic, value) => {
      if (typeof value !== 'string') {
        throw new SerializationError(`cannot serialize a ${typeof value} as a string for topic "${topic}"`, topic);
      }
      return encodeText(topic, value, 'a string');
    },
    (topic, bytes) => decodeText(topic, bytes, 'a string'),
  );
}

/** UTF-8 JSON. The JSON text `null` deserializes to null like a tombstone; `undefined` and BigInt do not serialize. */
export function jsonSerde(): SyncSerde<unknown> {
  return syncSerde(
    (topic, value) => {
      let text: string | undefined;
      try {
        text = JSON.stringify(value);
      } catch (error) {
        const message = `cannot serialize a value as JSON for topic "${topic}": ${(error as Error).message}`;
        throw new SerializationError(message, topic, { cause: error });
      }
      if (text === undefined) {
        throw new SerializationError(`cannot serialize ${typeof value} as JSON for topic "${topic}"`, topic);
      }
      return encodeText(topic, text, 'JSON');
    },
    (topic, bytes) => {
      const text = decodeText(topic, bytes, 'JSON');
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        const message = `cannot deserialize JSON of topic "${topic}": ${(error as Error).message}`;
        throw new DeserializationError(message, topic, { cause: error });
      }
    },
  );
}

/** Raw bytes, passed through as they are. */
export function bytesSerde(): SyncSerde<Buffer> {
  return syncSerde(
    (topic, value) => {
      if (!Buffer.isBuffer(value)) {
        throw new SerializationError(`cannot serialize a non-Buffer as bytes for topic "${topic}"`, topic);
      }
      return value;
    },
    (_topic, bytes) => bytes,
  );
}
