/**
 * An in-process schema registry with Confluent's semantics, for the embedded default and the simulator: ids are
 * global, assigned from 1 in registration order (so a seeded run gets the same ids every time) and stable per
 * distinct schema content; subjects keep versions; the compatibility level, when set, is enforced on register.
 */
import { checkCompatibility } from './compat.ts';
import { IncompatibleSchemaError, SchemaRegistryError } from './errors.ts';
import type { SchemaRegistryClient } from './registry.ts';
import {
  avroType,
  canonicalSchemaText,
  compatibilityLevels,
  parseSchemaText,
  type AvroSchemaJson,
  type CompatibilityLevel,
} from './schema.ts';

export interface MemoryRegistryOptions {
  /**
   * The level of subjects without their own. Defaults to NONE, as Apicurio's does (Confluent's is BACKWARD):
   * the embedded default behaves like the real stack. Set BACKWARD to have every subject checked.
   */
  defaultCompatibility?: CompatibilityLevel;
}

const url = 'memory://';

export class MemoryRegistryClient implements SchemaRegistryClient {
  readonly url = url;
  readonly #schemas: { text: string; json: AvroSchemaJson }[] = []; // index = id - 1
  readonly #idByContent = new Map<string, number>();
  readonly #versions = new Map<string, number[]>(); // subject → ids, version 1 first
  readonly #levels = new Map<string, CompatibilityLevel>();
  readonly #defaultLevel: CompatibilityLevel;

  constructor(options: MemoryRegistryOptions = {}) {
    this.#defaultLevel = options.defaultCompatibility ?? 'NONE';
  }

  async register(subject: string, schema: string): Promise<number> {
    const json = parse(subject, schema);
    const content = canonicalSchemaText(json);
    const existing = this.#idByContent.get(content);
    const versions = this.#versions.get(subject) ?? [];
    if (existing !== undefined && versions.includes(existing)) return existing;

    const result = this.#check(subject, json);
    if (!result.compatible) {
      const level = this.#level(subject);
      throw new IncompatibleSchemaError(
        `schema registry ${url} rejected a schema for subject "${subject}": not ${level} compatible: ` +
          result.reasons.join('; '),
        result.reasons,
        { url, subject, status: 409, registryCode: 409 },
      );
    }
    const id = existing ?? this.#schemas.push({ text: JSON.stringify(json), json });
    this.#idByContent.set(content, id);
    this.#versions.set(subject, [...versions, id]);
    return id;
  }

  async getSchema(id: number): Promise<string> {
    const schema = this.#schemas[id - 1];
    if (!Number.isInteger(id) || schema === undefined) {
      throw new SchemaRegistryError('SCHEMA_NOT_FOUND', `schema registry ${url} has no schema with id ${id}`, false, {
        url,
        status: 404,
        registryCode: 40403,
      });
    }
    return schema.text;
  }

  async latestId(subject: string): Promise<number | undefined> {
    return this.#versions.get(subject)?.at(-1);
  }

  async checkCompatibility(subject: string, schema: string): Promise<boolean> {
    return this.#check(subject, parse(subject, schema)).compatible;
  }

  async setCompatibility(subject: string, level: CompatibilityLevel): Promise<void> {
    if (!compatibilityLevels.includes(level)) {
      throw new SchemaRegistryError(
        'INVALID_COMPATIBILITY_LEVEL',
        `schema registry ${url}: invalid compatibility level "${String(level)}" for subject "${subject}"`,
        false,
        { url, subject, status: 422, registryCode: 42203 },
      );
    }
    this.#levels.set(subject, level);
  }

  #level(subject: string): CompatibilityLevel {
    return this.#levels.get(subject) ?? this.#defaultLevel;
  }

  #check(subject: string, json: AvroSchemaJson) {
    const previous = (this.#versions.get(subject) ?? []).map((id) => this.#schemas[id - 1]!.json);
    return checkCompatibility(this.#level(subject), json, previous);
  }
}

/** Parses and validates schema text as a registry does before storing it (Confluent answers 422 / 42201). */
function parse(subject: string, schema: string): AvroSchemaJson {
  try {
    const json = parseSchemaText(schema);
    avroType(json);
    return json;
  } catch (error) {
    throw new SchemaRegistryError(
      'INVALID_SCHEMA',
      `schema registry ${url}: invalid Avro schema for subject "${subject}": ${(error as Error).message}`,
      false,
      { url, subject, status: 422, registryCode: 42201 },
      { cause: error },
    );
  }
}
