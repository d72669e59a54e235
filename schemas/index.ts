/** What other folders may use from schemas/ (STYLE.md §5). */
import { fileURLToPath } from 'node:url';

export { DeserializationError, type Serde } from './serde.ts';
export {
  avroType,
  canonicalSchemaText,
  compatibilityLevels,
  parseSchemaText,
  type AvroSchemaJson,
  type CompatibilityLevel,
  type SyncSerde,
} from './schema.ts';
export {
  IncompatibleSchemaError,
  SchemaError,
  SchemaFileError,
  SchemaRegistryError,
  SerdeNotPreparedError,
  SerializationError,
  type RegistryErrorContext,
  type SchemaErrorCode,
} from './errors.ts';
export {
  ConfluentRegistryClient,
  MemoryRegistryClient,
  type ConfluentRegistryOptions,
  type MemoryRegistryOptions,
  type SchemaRegistryClient,
} from './registry.ts';
export { AvroSerde, headerBytes, magicByte, subjectFor, type AvroSerdeOptions } from './avro.ts';
export {
  bytesSerde,
  jsonSerde,
  loadSchemaFile,
  serdeFor,
  stringSerde,
  type Format,
  type SerdeOptions,
} from './formats.ts';
export { checkBackward, checkCompatibility, type CompatibilityResult } from './compat.ts';
export { checkHistory, releasedVersions, type HistoryCheck, type ReleasedVersion } from './history.ts';

/** The folder of this module: where the project's `.avsc` files live (the default `schemasDir`). */
export const schemasDir = fileURLToPath(new URL('.', import.meta.url));
