/**
 * Schema compatibility, decided by avsc's own resolver (`reader.createResolver(writer)` succeeds exactly when
 * data written with `writer` can be read with `reader` under Avro's resolution rules: promotions, defaults,
 * aliases, enum defaults, union branches). avsc stops at the first problem, so when resolution fails we walk
 * the two schemas once more and ask the resolver about each part, to report every incompatible field rather
 * than the first.
 */
import avro from 'avsc';
import { avroType, type AvroSchemaJson, type CompatibilityLevel } from './schema.ts';

export interface CompatibilityResult {
  compatible: boolean;
  /** One line per problem, each starting with the path of the part that breaks (`DeadLetter.offset`). */
  reasons: string[];
}

type SchemaInput = AvroSchemaJson | avro.Type;

/** BACKWARD: a reader using `newSchema` can read every record written with `oldSchema`. */
export function checkBackward(newSchema: SchemaInput, oldSchema: SchemaInput): CompatibilityResult {
  const reader = toType(newSchema, 'new');
  const writer = toType(oldSchema, 'old');
  const failure = resolveFailure(reader, writer);
  if (failure === undefined) return { compatible: true, reasons: [] };
  const reasons = explain(reader, writer, pathRoot(reader), new Set());
  // The walk mirrors the resolver's rules; if it ever finds nothing, the resolver's own message still explains.
  return { compatible: false, reasons: reasons.length > 0 ? reasons : [`${pathRoot(reader)}: ${failure}`] };
}

/**
 * What a registry checks on register under `level`. `previous` lists the subject's versions oldest first; the
 * non-transitive levels compare against the latest only, as Confluent does.
 */
export function checkCompatibility(
  level: CompatibilityLevel,
  newSchema: SchemaInput,
  previous: readonly SchemaInput[],
): CompatibilityResult {
  if (level === 'NONE' || previous.length === 0) return { compatible: true, reasons: [] };
  const transitive = level.endsWith('_TRANSITIVE');
  const first = transitive ? 0 : previous.length - 1;
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL');
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL');
  const reasons: string[] = [];
  for (let index = first; index < previous.length; index++) {
    const old = previous[index]!;
    const version = `version ${index + 1}`;
    if (backward) {
      for (const reason of checkBackward(newSchema, old).reasons)
        reasons.push(`BACKWARD against ${version}: ${reason}`);
    }
    // FORWARD: a reader with the old schema reads data written with the new one.
    if (forward) {
      for (const reason of checkBackward(old, newSchema).reasons) reasons.push(`FORWARD against ${version}: ${reason}`);
    }
  }
  return { compatible: reasons.length === 0, reasons };
}

function toType(schema: SchemaInput, which: 'new' | 'old'): avro.Type {
  if (avro.Type.isType(schema)) return schema as avro.Type;
  try {
    return avroType(schema as AvroSchemaJson);
  } catch (error) {
    throw new Error(`the ${which} schema is not a valid Avro schema: ${(error as Error).message}`, { cause: error });
  }
}

/** undefined when `reader` can read `writer`'s data, else avsc's reason. */
function resolveFailure(reader: avro.Type, writer: avro.Type): string | undefined {
  try {
    reader.createResolver(writer);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function explain(reader: avro.Type, writer: avro.Type, path: string, seen: Set<string>): string[] {
  if (resolveFailure(reader, writer) === undefined) return [];
  if (isUnion(writer)) return explainWriterUnion(reader, writer as avro.types.UnwrappedUnionType, path, seen);
  if (isUnion(reader)) {
    return [`${path}: no branch of the new union ${describe(reader)} can read the old ${describe(writer)}`];
  }
  const kind = reader.typeName;
  if (kind === writer.typeName) {
    if (kind === 'record' || kind === 'error') return explainRecord(reader, writer, path, seen);
    if (kind === 'array') return explainChild(reader, writer, 'itemsType', `${path}[]`, seen);
    if (kind === 'map') return explainChild(reader, writer, 'valuesType', `${path}{}`, seen);
    if (kind === 'enum') return explainEnum(reader as avro.types.EnumType, writer as avro.types.EnumType, path);
    if (kind === 'fixed') return explainFixed(reader as avro.types.FixedType, writer as avro.types.FixedType, path);
  }
  return [`${path}: the old type ${describe(writer)} cannot be read as ${describe(reader)}`];
}

function explainWriterUnion(
  reader: avro.Type,
  writer: avro.types.UnwrappedUnionType,
  path: string,
  seen: Set<string>,
): string[] {
  // Every branch the old schema could have written must stay readable.
  return writer.types.flatMap((branch) => {
    if (resolveFailure(reader, branch) === undefined) return [];
    if (!isUnion(reader)) return explain(reader, branch, path, seen);
    // The new union's branch of the same name (or kind) is the one that was meant to read it: say why it cannot.
    const counterpart = (reader as avro.types.UnwrappedUnionType).types.find((candidate) =>
      branch.name === undefined ? candidate.typeName === branch.typeName : candidate.name === branch.name,
    );
    if (counterpart !== undefined && counterpart.typeName !== 'null') return explain(counterpart, branch, path, seen);
    return [`${path}: the old union branch ${describe(branch)} matches no branch of the new ${describe(reader)}`];
  });
}

function explainRecord(reader: avro.Type, writer: avro.Type, path: string, seen: Set<string>): string[] {
  const key = `${reader.name}:${writer.name}`;
  if (seen.has(key)) return []; // a recursive schema: this pair is already being explained higher up
  seen.add(key);
  if (!namesMatch(reader, writer)) {
    return [`${path}: record ${writer.name} was renamed to ${reader.name} without an alias for the old name`];
  }
  const readerFields = (reader as avro.types.RecordType).fields;
  const writerFields = new Map((writer as avro.types.RecordType).fields.map((field) => [field.name, field]));
  const reasons: string[] = [];
  for (const field of readerFields) {
    const matches = [field.name, ...field.aliases].filter((name) => writerFields.has(name));
    const fieldPath = `${path}.${field.name}`;
    if (matches.length === 0) {
      if (field.defaultValue() === undefined) {
        reasons.push(`${fieldPath}: field added without a default, so records written with the old schema lack it`);
      }
    } else if (matches.length > 1) {
      reasons.push(`${fieldPath}: its name and aliases match several old fields (${matches.join(', ')})`);
    } else {
      reasons.push(...explain(field.type, writerFields.get(matches[0]!)!.type, fieldPath, seen));
    }
  }
  return reasons;
}

function explainChild(
  reader: avro.Type,
  writer: avro.Type,
  child: 'itemsType' | 'valuesType',
  path: string,
  seen: Set<string>,
): string[] {
  const inner = (type: avro.Type) => (type as unknown as Record<typeof child, avro.Type>)[child];
  return explain(inner(reader), inner(writer), path, seen);
}

function explainEnum(reader: avro.types.EnumType, writer: avro.types.EnumType, path: string): string[] {
  if (!namesMatch(reader, writer)) {
    return [`${path}: enum ${writer.name} was renamed to ${reader.name} without an alias for the old name`];
  }
  const missing = writer.symbols.filter((symbol) => !reader.symbols.includes(symbol));
  return [`${path}: the new enum lacks the old symbols ${missing.join(', ')} and has no default to read them as`];
}

function explainFixed(reader: avro.types.FixedType, writer: avro.types.FixedType, path: string): string[] {
  if (!namesMatch(reader, writer)) {
    return [`${path}: fixed ${writer.name} was renamed to ${reader.name} without an alias for the old name`];
  }
  return [`${path}: fixed size changed from ${writer.size} to ${reader.size} bytes`];
}

/** avsc's rule (full names, namespaces included): the writer's name is the reader's name or one of its aliases. */
function namesMatch(reader: avro.Type, writer: avro.Type): boolean {
  return writer.name === undefined || writer.name === reader.name || (reader.aliases ?? []).includes(writer.name);
}

function isUnion(type: avro.Type): boolean {
  return avro.Type.isType(type, 'union');
}

function pathRoot(type: avro.Type): string {
  return type.name ?? type.typeName;
}

/** A short name for a type in a reason: its full name, else its shape (`["null","Node"]`, `map<"bytes">`). */
function describe(type: avro.Type): string {
  if (type.name !== undefined) return type.name;
  if (isUnion(type)) return `[${(type as avro.types.UnwrappedUnionType).types.map(describe).join(',')}]`;
  if (type.typeName === 'array') return `array<${describe((type as avro.types.ArrayType).itemsType)}>`;
  if (type.typeName === 'map') return `map<${describe((type as avro.types.MapType).valuesType as avro.Type)}>`;
  return JSON.stringify(type.schema()); // a primitive: "long"
}
