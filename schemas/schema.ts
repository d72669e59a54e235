/**
 * Shared shapes: Avro schema JSON, compatibility levels, the synchronous serde surface, and the two schema
 * normalisations (an avsc `Type` for reading and writing, a canonical text for identity).
 */
import avro from 'avsc';
import type { Serde } from './serde.ts';

/** A parsed Avro schema: a primitive or named-type reference (string), a union (array) or a complex type. */
export type AvroSchemaJson = string | readonly unknown[] | { readonly [key: string]: unknown };

/** Confluent's compatibility levels. BACKWARD: a reader with the new schema reads data written with the old. */
export type CompatibilityLevel =
  'NONE' | 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FORWARD_TRANSITIVE' | 'FULL' | 'FULL_TRANSITIVE';

export const compatibilityLevels: readonly CompatibilityLevel[] = [
  'NONE',
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
];

/**
 * A serde that can also run synchronously once prepared. State stores need this: `KeyValueStore.put` is
 * synchronous (writes are buffered and flushed at commit), so a store calls `await serde.prepare(changelog)`
 * when it opens and `serializeSync` in `put`. Reads (`get`, `range`) are asynchronous and may use
 * `deserialize`, which fetches unknown writer schemas; `deserializeSync` only decodes with schemas already cached
 * (the serde's own, after `prepare`, and any writer schema an earlier `deserialize` fetched).
 *
 * `null` is a tombstone in every format: `serialize(null)` gives `null` bytes and `null` bytes give `null`.
 */
export interface SyncSerde<T> extends Serde<T | null> {
  /** Resolves once `serializeSync(topic, …)` can no longer need the registry. Idempotent; concurrent calls share one request. */
  prepare(topic: string): Promise<void>;
  /** Throws `SerdeNotPreparedError` when the format needs a registry answer not cached yet. */
  serializeSync(topic: string, value: T | null): Buffer | null;
  /** Throws `SerdeNotPreparedError` when the bytes name a writer schema not cached yet. */
  deserializeSync(topic: string, bytes: Buffer | null): T | null;
}

/**
 * Avro `long` as a JavaScript number, encoded exactly. avsc's built-in long zigzag-encodes in floating point,
 * which silently corrupts negative values beyond 2^52 (-(2^52 + 1) decodes as +2^52) and refuses 2^53 - 1. This
 * is avsc's documented custom-long hook: it hands us the 8-byte two's complement and does the varint itself.
 * Every safe integer round trips; a decoded long outside the safe range throws rather than lose precision.
 */
const exactLong = avro.types.LongType.__with({
  fromBuffer(buffer: Buffer): number {
    const value = buffer.readBigInt64LE(0);
    if (value > maxSafe || value < -maxSafe) {
      throw new RangeError(`long ${value} is beyond JavaScript's safe integers (±(2^53 - 1))`);
    }
    return Number(value);
  },
  toBuffer(value: number): Buffer {
    const buffer = Buffer.allocUnsafe(8);
    buffer.writeBigInt64LE(BigInt(value), 0);
    return buffer;
  },
  fromJSON: (json: unknown) => json,
  toJSON: (value: number) => value,
  isValid: (value: unknown) => Number.isSafeInteger(value),
  compare: (a: number, b: number) => (a === b ? 0 : a < b ? -1 : 1),
});
const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);

/** avsc's reading cursor (not in its published types): only what `readMap` uses. */
interface Tap {
  readLong(): number;
  skipLong(): void;
  readString(): string;
}

/**
 * avsc's map reader does `map[key] = value`, which drops a key named `__proto__` (it sets the prototype instead):
 * a Kafka header or any user-chosen map key could vanish in transit. This reader defines that key as an own
 * property. Also used by resolvers, which call it with `this` = the resolver (whose `valuesType` is a resolver).
 */
function readMap(this: { valuesType: { _read(tap: Tap): unknown } }, tap: Tap): Record<string, unknown> {
  const map: Record<string, unknown> = {};
  for (let count = readBlockCount(tap); count > 0; count = readBlockCount(tap)) {
    for (let index = 0; index < count; index++) {
      const key = tap.readString();
      const value = this.valuesType._read(tap);
      if (key === '__proto__')
        Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
      else map[key] = value;
    }
  }
  return map;
}

/** An Avro block count; a negative one is followed by the block's size in bytes, which we do not need. */
function readBlockCount(tap: Tap): number {
  const count = tap.readLong();
  if (count >= 0) return count;
  tap.skipLong();
  return -count;
}

/** Swaps `readMap` into every map type avsc builds for us, leaving avsc's module (used elsewhere) untouched. */
function typeHook(schema: unknown, options: unknown): avro.Type | undefined {
  const isMap = typeof schema === 'object' && schema !== null && (schema as { type?: unknown }).type === 'map';
  if (!isMap) return undefined;
  const map = new avro.types.MapType(schema as ConstructorParameters<typeof avro.types.MapType>[0], options);
  return Object.create(map, { _read: { value: readMap } }) as avro.Type;
}

/** The avsc `Type` for a schema; throws avsc's error (e.g. `unknown type: "strin"`) when the schema is invalid. */
export function avroType(schema: AvroSchemaJson): avro.Type {
  return avro.Type.forSchema(schema as Parameters<typeof avro.Type.forSchema>[0], {
    registry: { long: exactLong },
    typeHook,
  });
}

/**
 * The identity of a schema's content: JSON with object keys sorted and no whitespace, so key order and
 * formatting do not make two schemas different, while docs, defaults and logical types still do (as in
 * Confluent, which compares its own normalised schema text; Apicurio also ignores `doc`, see README.md).
 */
export function canonicalSchemaText(schema: AvroSchemaJson): string {
  return JSON.stringify(sortKeys(schema));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  return sorted;
}

/** Parses schema text as the registry stores it (JSON); throws SyntaxError when it is not JSON. */
export function parseSchemaText(text: string): AvroSchemaJson {
  return JSON.parse(text) as AvroSchemaJson;
}
