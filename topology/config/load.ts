/**
 * The declarative topology: a YAML file (see topology/README.md and topology.schema.json) loaded into a
 * validated Topology. Every problem comes back at once, each with file:line:column: YAML syntax, unset
 * environment variables, schema violations and validation issues (placed at the part of the file they are
 * about). Nothing throws for a bad file; callers decide what an error means.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseDocument, type YAMLError } from 'yaml';
import type { Topology, TopologySpec } from '../model.ts';
import type { ProcessorRegistry } from '../registry.ts';
import { validateTopology, type TopologyIssue } from '../validate.ts';
import { interpolateDocument } from './interpolate.ts';
import { Locator, pathKey } from './locate.ts';
import { schemaProblems } from './schema.ts';
import { toSpec } from './spec.ts';

/** The project's schemas/ folder: where `{ avro: Name }` looks when the file sets no `schemasDir`. */
export const defaultSchemasDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas');

export interface LoadResult {
  /** Present when there is no error (warnings allowed). */
  topology?: Topology;
  /** Present when the YAML parsed, even if it has other errors. */
  spec?: TopologySpec;
  /** Every issue, in file order; each has a location. */
  issues: TopologyIssue[];
  /** Where `{ avro: Name }` schemas are read from (absolute). */
  schemasDir?: string;
  /** Absolute paths of the modules named by `implementations:` (processor registrations). */
  implementations?: string[];
}

export interface LoadOptions {
  /** When given, `processor:` names must be registered in it. */
  registry?: ProcessorRegistry;
  /** Overrides the `<schemasDir>/<Name>.avsc` lookup (tests, or a registry-backed check). */
  schemaExists?: (name: string) => boolean;
}

function yamlIssue(locator: Locator, error: YAMLError, severity: 'error' | 'warning'): TopologyIssue {
  return { severity, code: 'yaml-syntax', message: error.message, location: locator.at(error.pos[0]) };
}

function schemasDirOf(file: string, value: unknown): string {
  const dir = (value as Record<string, unknown> | null)?.['schemasDir'];
  return typeof dir === 'string' ? resolve(dirname(file), dir) : defaultSchemasDir;
}

/** Loads a topology from YAML text; `file` names it in locations and anchors a relative `schemasDir`. */
export function loadTopologyText(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  options: LoadOptions = {},
): LoadResult {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true });
  const locator = new Locator(file, document, lineCounter);
  const issues: TopologyIssue[] = [
    ...document.errors.map((e) => yamlIssue(locator, e, 'error')),
    ...document.warnings.map((e) => yamlIssue(locator, e, 'warning')),
  ];
  // After a syntax error the tree is a guess; checking it would mostly report the guess's mistakes.
  if (document.errors.length > 0) return { issues: sortIssues(issues) };

  // Paths already reported; a later check of the same value would only repeat the problem.
  const reported = new Set<string>();
  for (const problem of interpolateDocument(document, text, env)) {
    reported.add(pathKey(problem.path));
    issues.push({
      severity: 'error',
      code: 'env-unset',
      message: problem.message,
      location: locator.at(problem.offset),
      path: problem.path,
    });
  }
  const value: unknown = document.toJS();
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const message = 'a topology file is a YAML mapping with at least an `application:` key (see topology.schema.json)';
    issues.push({ severity: 'error', code: 'schema', message, location: locator.locate([]), path: [] });
    return { issues: sortIssues(issues) };
  }
  for (const problem of schemaProblems(value)) {
    if (reported.has(pathKey(problem.path))) continue;
    issues.push({
      severity: 'error',
      code: 'schema',
      message: problem.message,
      location: locator.locate(problem.path, problem.target),
      path: problem.path,
    });
    reported.add(pathKey(problem.path));
  }

  const spec = toSpec(value, (path) => locator.locate(path, 'key'));
  const validation = validate(spec, schemasDirOf(file, value), options);
  for (const issue of validation.issues) {
    if (issue.path && reported.has(pathKey(issue.path))) continue;
    issues.push(issue.path ? { ...issue, location: locator.locate(issue.path) } : issue);
  }
  const hasError = issues.some((i) => i.severity === 'error');
  const declared = (value as { implementations?: unknown }).implementations;
  const modules = typeof declared === 'string' ? [declared] : Array.isArray(declared) ? declared.map(String) : [];
  return {
    ...(hasError || !validation.topology ? {} : { topology: validation.topology }),
    spec,
    issues: sortIssues(issues),
    schemasDir: schemasDirOf(file, value),
    implementations: modules.map((m) => resolve(dirname(resolve(file)), m)),
  };
}

/** The validator, with avro schemas looked up as files in `schemasDir` unless the caller says otherwise. */
function validate(spec: TopologySpec, schemasDir: string, options: LoadOptions): ReturnType<typeof validateTopology> {
  const schemaExists = options.schemaExists ?? ((name: string) => existsSync(join(schemasDir, `${name}.avsc`)));
  const result = validateTopology(spec, { schemaExists, ...(options.registry ? { registry: options.registry } : {}) });
  if (options.schemaExists) return result;
  const where = ` in ${relative(process.cwd(), schemasDir) || '.'}`;
  const issues = result.issues.map((i) => (i.code === 'missing-schema' ? { ...i, message: i.message + where } : i));
  return { ...result, issues };
}

/** Reads and loads a YAML topology file; an unreadable file is an issue, not an exception. */
export function loadTopologyFile(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
  options: LoadOptions = {},
): LoadResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const message = `cannot read file: ${(error as Error).message}`;
    return {
      issues: [{ severity: 'error', code: 'file-unreadable', message, location: { file: path, line: 1, column: 1 } }],
    };
  }
  return loadTopologyText(text, path, env, options);
}

function sortIssues(issues: TopologyIssue[]): TopologyIssue[] {
  const line = (i: TopologyIssue) => i.location?.line ?? 0;
  const column = (i: TopologyIssue) => i.location?.column ?? 0;
  return [...issues].sort((a, b) => line(a) - line(b) || column(a) - column(b));
}
