/**
 * The published JSON Schema (topology/topology.schema.json) applied with ajv, with ajv's errors turned into
 * short messages and paths the locator can point at. The schema checks shape only; names that must refer to
 * something (parents, stores, topics) are the validator's job.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { IssuePath } from '../validate.ts';
import type { LocateTarget } from './locate.ts';
import { pathText } from './locate.ts';

export const topologySchemaPath = join(dirname(fileURLToPath(import.meta.url)), '..', 'topology.schema.json');

export interface SchemaProblem {
  message: string;
  path: IssuePath;
  target: LocateTarget;
}

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (!compiled) {
    // verbose: errors carry their schema, whose descriptions make better messages than regex patterns.
    // coerceTypes: `partitions: "${PARTITIONS}"` (quoted, as flow mappings need) becomes the integer it names;
    // the data is converted in place, so the spec is built from the converted values.
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictTypes: false, coerceTypes: true });
    compiled = ajv.compile(withoutInterpolation(JSON.parse(readFileSync(topologySchemaPath, 'utf8'))));
  }
  return compiled;
}

const interpolatedRef = '#/definitions/interpolated';

/**
 * The schema as the loader applies it, after interpolation: an editor sees `${VAR}` where a value comes from the
 * environment, so the published schema accepts one there (`anyOf: [the value, interpolated]`); the loader checks
 * the interpolated value itself, so that alternative is taken out again — an escaped `$${X}` that became `${X}`
 * must not pass as a Kafka name — and its messages stay those of the value's own schema.
 */
export function withoutInterpolation(node: unknown): object {
  if (Array.isArray(node)) return node.map(withoutInterpolation);
  if (typeof node !== 'object' || node === null) return node as object;
  const entries = Object.entries(node as Record<string, unknown>);
  const anyOf = (node as { anyOf?: unknown[] }).anyOf;
  if (anyOf?.length === 2 && (anyOf[1] as { $ref?: string }).$ref === interpolatedRef) {
    const rest = Object.fromEntries(entries.filter(([k]) => k !== 'anyOf'));
    return withoutInterpolation({ ...rest, ...(anyOf[0] as object) });
  }
  const out = Object.fromEntries(entries.map(([k, v]) => [k, withoutInterpolation(v)]));
  const definitions = out['definitions'] as Record<string, unknown> | undefined;
  if (definitions) delete definitions['interpolated'];
  return out;
}

/** Every schema violation in `value` (the document as plain data), in document order of ajv's walk. */
export function schemaProblems(value: unknown): SchemaProblem[] {
  const validate = validator();
  if (validate(value)) return [];
  return simplify(validate.errors ?? []).map(toProblem);
}

function pointerPath(pointer: string): IssuePath {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * An anyOf that failed reports every branch's failure too ("must be equal to one of", "must be object"...);
 * keep only the anyOf itself. propertyNames errors come twice (wrapper and cause); keep the cause.
 */
function simplify(errors: ErrorObject[]): ErrorObject[] {
  const anyOfs = errors.filter((e) => e.keyword === 'anyOf');
  return errors.filter((e) => {
    if (e.keyword === 'propertyNames') return false;
    return !anyOfs.some(
      (a) =>
        a !== e &&
        e.schemaPath.startsWith(`${a.schemaPath}/`) &&
        (e.instancePath === a.instancePath || e.instancePath.startsWith(`${a.instancePath}/`)),
    );
  });
}

function describe(error: ErrorObject): string {
  const parent = error.parentSchema ?? {};
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `missing required property "${String(params['missingProperty'])}"`;
    case 'additionalProperties': {
      const known = Object.keys((parent['properties'] as object | undefined) ?? {}).join(', ');
      return `unknown property "${String(params['additionalProperty'])}" (expected one of: ${known})`;
    }
    case 'enum':
      return `must be one of: ${(params['allowedValues'] as unknown[]).map(String).join(', ')}`;
    case 'anyOf':
      // The schema titles each anyOf with what it accepts, in words.
      return typeof parent['title'] === 'string' ? `must be ${parent['title']}` : (error.message ?? 'is invalid');
    case 'pattern':
      return typeof parent['description'] === 'string'
        ? `must be ${parent['description'].replace(/\.$/, '')}`
        : error.message!;
    default:
      return error.message ?? `fails ${error.keyword}`;
  }
}

function toProblem(error: ErrorObject): SchemaProblem {
  const params = error.params as Record<string, unknown>;
  const path = pointerPath(error.instancePath);
  let target: LocateTarget = 'value';
  if (error.keyword === 'required') path.push(String(params['missingProperty']));
  if (error.keyword === 'additionalProperties') {
    path.push(String(params['additionalProperty']));
    target = 'key';
  }
  if (error.propertyName !== undefined) {
    // A bad name inside a map of names (topics, stores, nodes): point at the key itself.
    path.push(error.propertyName);
    target = 'key';
    return { message: `name "${error.propertyName}" ${describe(error)}`, path, target };
  }
  const added = error.keyword === 'required' || error.keyword === 'additionalProperties';
  const where = pathText(added ? path.slice(0, -1) : path);
  const message = describe(error);
  return { message: where ? `${where}: ${message}` : message, path, target };
}
