/**
 * Avro in the Confluent wire format: magic byte 0, the schema id as a 4-byte big-endian integer, then the Avro
 * binary body. Subjects follow TopicNameStrategy: `<topic>-key` or `<topic>-value`.
 *
 * Registry round trips happen once per subject (our schema's id) and once per writer schema id (to decode);
 * everything after that is synchronous, which the state stores rely on (see `SyncSerde` in schema.ts):
 *
 *   const serde = new AvroSerde(schema, { registry, isKey: false });
 *   await serde.prepare('orders-store-changelog');            // registers, caches the id
 *   const bytes = serde.serializeSync('orders-store-changelog', value); // no I/O from here on
 *
 * Records decode as plain objects (avsc builds instances of generated classes; we copy them) so a value read
 * from Kafka compares equal (`assert.deepStrictEqual`) to the same value passed through the memory backend.
 * Longs are JavaScript numbers: avsc refuses to decode one beyond 2^53 rather than lose precision, and such a
 * record fails as corrupt.
 */
import avro from 'avsc';
import { SchemaRegistryError, SerdeNotPreparedError, SerializationError } from './errors.ts';
import type { SchemaRegistryClient } from './registry.ts';
import { avroType, parseSchemaText, type AvroSchemaJson, type SyncSerde } from './schema.ts';
import { DeserializationError } from './serde.ts';

export const magicByte = 0;
export const headerBytes = 5;

export interface AvroSerdeOptions {
  registry: SchemaRegistryClient;
  isKey: boolean;
}

/** How to read bytes written with one writer schema: decode directly (same schema) or through a resolver. */
type Writer = { type: avro.Type; resolver: avro.Resolver | undefined } | { failure: string };

/** TopicNameStrategy. */
export function subjectFor(topic: string, isKey: boolean): string {
  return `${topic}-${isKey ? 'key' : 'value'}`;
}

export class AvroSerde<T = unknown> implements SyncSerde<T> {
  /** The reader and writer schema of this serde. */
  readonly type: avro.Type;
  readonly isKey: boolean;
  readonly #text: string;
  readonly #registry: SchemaRegistryClient;
  readonly #ids = new Map<string, number>(); // subject → id of our schema
  readonly #preparing = new Map<string, Promise<void>>();
  readonly #writers = new Map<number, Writer>();
  readonly #loading = new Map<number, Promise<Writer>>();

  constructor(schema: AvroSchemaJson, options: AvroSerdeOptions) {
    this.type = avroType(schema);
    this.#text = JSON.stringify(schema);
    this.#registry = options.registry;
    this.isKey = options.isKey;
  }

  subject(topic: string): string {
    return subjectFor(topic, this.isKey);
  }

  /** Registers our schema under the topic's subject (or finds its id: registering is idempotent) and caches it. */
  prepare(topic: string): Promise<void> {
    const subject = this.subject(topic);
    if (this.#ids.has(subject)) return Promise.resolve();
    let pending = this.#preparing.get(subject);
    if (pending === undefined) {
      pending = this.#registry.register(subject, this.#text).then((id) => {
        this.#ids.set(subject, id);
        this.#writers.set(id, { type: this.type, resolver: undefined });
      });
      // A failed registration (registry down, incompatible schema) is tried again by the next call.
      const forget = () => this.#preparing.delete(subject);
      pending.then(forget, forget);
      this.#preparing.set(subject, pending);
    }
    return pending;
  }

  serialize(topic: string, value: T | null): Buffer | null | Promise<Buffer | null> {
    if (value === null) return null;
    if (this.#ids.has(this.subject(topic))) return this.serializeSync(topic, value);
    return this.prepare(topic).then(() => this.serializeSync(topic, value));
  }

  serializeSync(topic: string, value: T | null): Buffer | null {
    if (value === null) return null;
    const subject = this.subject(topic);
    const id = this.#ids.get(subject);
    if (id === undefined) {
      throw new SerdeNotPreparedError(
        `Avro serde for subject "${subject}" is not prepared: await prepare("${topic}") before serializeSync`,
        topic,
      );
    }
    let body: Buffer;
    try {
      body = this.type.toBuffer(value);
    } catch (error) {
      throw new SerializationError(
        `cannot serialize a value for topic "${topic}" (subject "${subject}", schema id ${id}): ` +
          invalidPaths(this.type, value),
        topic,
        { cause: error },
      );
    }
    const header = Buffer.allocUnsafe(headerBytes);
    header.writeUInt8(magicByte, 0);
    header.writeUInt32BE(id, 1);
    return Buffer.concat([header, body], headerBytes + body.length);
  }

  deserialize(topic: string, bytes: Buffer | null): T | null | Promise<T | null> {
    if (bytes === null) return null;
    const id = this.#schemaId(topic, bytes);
    const writer = this.#writers.get(id);
    if (writer !== undefined) return this.#decode(topic, id, writer, bytes);
    return this.#loadWriter(topic, id).then((loaded) => this.#decode(topic, id, loaded, bytes));
  }

  deserializeSync(topic: string, bytes: Buffer | null): T | null {
    if (bytes === null) return null;
    const id = this.#schemaId(topic, bytes);
    const writer = this.#writers.get(id);
    if (writer === undefined) {
      throw new SerdeNotPreparedError(
        `Avro serde for subject "${this.subject(topic)}" has not fetched writer schema id ${id}: ` +
          'use deserialize (asynchronous) for records written with another schema',
        topic,
      );
    }
    return this.#decode(topic, id, writer, bytes);
  }

  #schemaId(topic: string, bytes: Buffer): number {
    if (bytes.length < headerBytes) {
      throw this.#error(topic, undefined, `${bytes.length} bytes are shorter than the 5-byte Confluent header`);
    }
    if (bytes[0] !== magicByte) {
      const seen = `0x${bytes[0]!.toString(16).padStart(2, '0')}`;
      throw this.#error(topic, undefined, `bad magic byte ${seen} (expected 0x00): not Confluent wire format`);
    }
    return bytes.readUInt32BE(1);
  }

  #loadWriter(topic: string, id: number): Promise<Writer> {
    let loading = this.#loading.get(id);
    if (loading === undefined) {
      loading = this.#registry.getSchema(id).then(
        (text) => this.#writerFor(text),
        (error: unknown) => {
          // An unknown id is this record's fault; an unreachable registry is not, and must not dead-letter it.
          if (error instanceof SchemaRegistryError && error.code === 'SCHEMA_NOT_FOUND') {
            throw this.#error(topic, id, `schema id ${id} is unknown to the registry ${this.#registry.url}`, error);
          }
          throw error;
        },
      );
      loading.then(
        (writer) => {
          this.#writers.set(id, writer);
          this.#loading.delete(id);
        },
        () => this.#loading.delete(id),
      );
      this.#loading.set(id, loading);
    }
    return loading;
  }

  /** Resolution happens once per writer schema; a writer we cannot read is remembered, not refetched. */
  #writerFor(text: string): Writer {
    let writer: avro.Type;
    try {
      writer = avroType(parseSchemaText(text));
    } catch (error) {
      return { failure: `the registry's schema is not valid Avro: ${(error as Error).message}` };
    }
    if (writer.equals(this.type)) return { type: this.type, resolver: undefined };
    try {
      return { type: writer, resolver: this.type.createResolver(writer) };
    } catch (error) {
      return { failure: `the writer schema cannot be read with the reader schema: ${(error as Error).message}` };
    }
  }

  #decode(topic: string, id: number, writer: Writer, bytes: Buffer): T {
    if ('failure' in writer) throw this.#error(topic, id, writer.failure);
    let decoded: { value: unknown; offset: number };
    try {
      decoded = this.type.decode(bytes, headerBytes, writer.resolver);
    } catch (error) {
      throw this.#error(topic, id, `corrupt Avro body: ${(error as Error).message}`, error);
    }
    const bodyBytes = bytes.length - headerBytes;
    if (decoded.offset < 0) throw this.#error(topic, id, `truncated Avro body (${bodyBytes} bytes)`);
    if (decoded.offset !== bytes.length) {
      const trailing = bytes.length - decoded.offset;
      throw this.#error(topic, id, `corrupt Avro body: ${trailing} trailing bytes after the value`);
    }
    return toPlain(decoded.value) as T;
  }

  #error(topic: string, id: number | undefined, reason: string, cause?: unknown): DeserializationError {
    const schema = id === undefined ? '' : `, schema id ${id}`;
    return new DeserializationError(
      `cannot deserialize a record of topic "${topic}" (subject "${this.subject(topic)}"${schema}): ${reason}`,
      topic,
      { cause },
    );
  }
}

/** avsc's `toBuffer` says only "invalid <type>: <value>"; name every path that does not fit instead. */
function invalidPaths(type: avro.Type, value: unknown): string {
  const problems: string[] = [];
  type.isValid(value, {
    errorHook: (path, found, expected) => {
      const shown = Buffer.isBuffer(found) ? `<${found.length} bytes>` : (JSON.stringify(found) ?? String(found));
      const where = path.length === 0 ? 'the value' : path.join('.');
      problems.push(`${where} is ${shown.slice(0, 80)}, expected ${describe(expected)}`);
    },
  });
  return problems.length > 0 ? problems.join('; ') : 'the value does not fit the schema';
}

function describe(type: avro.Type): string {
  return type.name ?? JSON.stringify(type.schema());
}

/**
 * Copies avsc's generated record (and wrapped-union branch) instances into plain objects; arrays and maps are
 * already plain and fresh from the decoder, so they are updated in place.
 */
function toPlain(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) value[index] = toPlain(value[index]);
    return value;
  }
  const object = value as Record<string, unknown>;
  const generated = avro.Type.isType((object.constructor as { type?: unknown } | undefined)?.type);
  if (Object.getPrototypeOf(object) !== Object.prototype && !generated) return value;
  const plain: Record<string, unknown> = generated ? {} : object;
  for (const key of Object.keys(object)) plain[key] = toPlain(object[key]);
  return plain;
}
