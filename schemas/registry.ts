/**
 * The schema registry as Parley uses it: five calls of the Confluent API. Two implementations share one
 * behaviour: `ConfluentRegistryClient` talks HTTP to a Confluent-compatible registry (Confluent, Apicurio's
 * `/apis/ccompat/v7`); `MemoryRegistryClient` keeps everything in-process for the embedded default and the
 * deterministic simulator. Differences of the real registries are written down in README.md.
 */
import type { CompatibilityLevel } from './schema.ts';

export interface SchemaRegistryClient {
  /** Where errors say the request went: the base URL, or `memory://` for the in-process registry. */
  readonly url: string;
  /**
   * Registers Avro schema text under `subject` and returns its id. The same content gets the same id under
   * every subject; registering content the subject already has returns its id without adding a version. Throws
   * `IncompatibleSchemaError` when the subject's compatibility level forbids the schema.
   */
  register(subject: string, schema: string): Promise<number>;
  /** The schema text with this id. Throws `SchemaRegistryError` with code `SCHEMA_NOT_FOUND` when unknown. */
  getSchema(id: number): Promise<string>;
  /** The id of the subject's latest version, or undefined when the subject has none. */
  latestId(subject: string): Promise<number | undefined>;
  /** Whether registering `schema` under `subject` would pass its compatibility level (true for a new subject). */
  checkCompatibility(subject: string, schema: string): Promise<boolean>;
  setCompatibility(subject: string, level: CompatibilityLevel): Promise<void>;
}

export { ConfluentRegistryClient, type ConfluentRegistryOptions } from './registry-confluent.ts';
export { MemoryRegistryClient, type MemoryRegistryOptions } from './registry-memory.ts';
export type { CompatibilityLevel } from './schema.ts';
