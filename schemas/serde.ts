/**
 * Serdes turn typed keys and values into bytes and back. Avro serdes go through the schema registry (Confluent
 * wire format: magic byte 0, schema id, Avro body), so both directions may need a network round trip the first
 * time; later calls hit a cache.
 */

export interface Serde<T> {
  /** `topic` is the topic (or changelog) the bytes are for: it names the registry subject `<topic>-key|value`. */
  serialize(topic: string, value: T): Buffer | null | Promise<Buffer | null>;
  deserialize(topic: string, bytes: Buffer | null): T | Promise<T>;
}

/** A record whose bytes cannot be turned into a value: unknown schema id, bad magic byte, corrupt body. */
export class DeserializationError extends Error {
  override name = 'DeserializationError';
  constructor(
    message: string,
    readonly topic: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
