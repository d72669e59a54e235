/**
 * Environment variables in YAML scalar values, as in Docker Compose: `${VAR}`, `${VAR:-default}` (the default
 * also replaces an empty value), and `$${` for a literal `${`. Keys are never interpolated: names stay
 * greppable. A plain (unquoted) scalar that becomes a number or a boolean takes that type, so
 * `partitions: ${PARTITIONS:-3}` is the integer 3; quote it to keep a string.
 */
import { isMap, isPair, isScalar, isSeq, Scalar, type Document } from 'yaml';
import type { IssuePath } from '../validate.ts';

export interface InterpolationProblem {
  message: string;
  /** Index in the interpolated text where the offending `${` starts. */
  index: number;
}

// `$${` (escape), a complete `${...}`, or a `${` never closed, in that order of preference.
const token = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const reference = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

export function interpolate(text: string, env: NodeJS.ProcessEnv): { value: string; problems: InterpolationProblem[] } {
  const problems: InterpolationProblem[] = [];
  const value = text.replace(token, (match: string, inner: string | undefined, index: number) => {
    if (match === '$${') return '${';
    if (inner === undefined) {
      problems.push({ message: 'unterminated "${": close it with "}" or write "$${" for a literal "${"', index });
      return match;
    }
    const parts = reference.exec(inner);
    if (!parts) {
      problems.push({ message: `malformed "${match}": expected \${NAME} or \${NAME:-default}`, index });
      return match;
    }
    const [, name, fallback] = parts as unknown as [string, string, string | undefined];
    const set = env[name];
    if (fallback !== undefined) return set === undefined || set === '' ? fallback : set;
    if (set === undefined) {
      problems.push({
        message: `environment variable ${name} is not set (give a default with \${${name}:-value})`,
        index,
      });
      return match;
    }
    return set;
  });
  return { value, problems };
}

export interface DocumentInterpolationProblem {
  message: string;
  /** Offset in the YAML source. */
  offset: number;
  /** The scalar's path, so other checks of the same value can stay quiet. */
  path: IssuePath;
}

/** Interpolates every scalar value of the document in place; a scalar with a problem keeps its text. */
export function interpolateDocument(
  document: Document,
  source: string,
  env: NodeJS.ProcessEnv,
): DocumentInterpolationProblem[] {
  const problems: DocumentInterpolationProblem[] = [];
  const walk = (node: unknown, path: IssuePath): void => {
    if (isMap(node)) {
      for (const pair of node.items)
        if (isPair(pair) && isScalar(pair.key)) walk(pair.value, [...path, String(pair.key.value)]);
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
      problems.push(...interpolateScalar(node, source, env, path));
    }
  };
  walk(document.contents, []);
  return problems;
}

function interpolateScalar(
  node: Scalar,
  source: string,
  env: NodeJS.ProcessEnv,
  path: IssuePath,
): DocumentInterpolationProblem[] {
  const text = node.value as string;
  const { value, problems } = interpolate(text, env);
  if (problems.length === 0) {
    node.value = node.type === Scalar.PLAIN ? retype(value) : value;
    return [];
  }
  // Point at the `${` in the source: the raw text holds the same characters unless escapes sit inside it.
  const start = node.range?.[0] ?? 0;
  const raw = node.range ? source.slice(node.range[0], node.range[1]) : '';
  let searchFrom = 0;
  return problems.map((problem) => {
    const literal = /^\$\{[^}]*\}?/.exec(text.slice(problem.index))![0];
    const found = raw.indexOf(literal, searchFrom);
    if (found >= 0) searchFrom = found + literal.length;
    return { message: problem.message, offset: found >= 0 ? start + found : start, path };
  });
}

/** What YAML's core schema would have made of the interpolated plain scalar. */
function retype(value: string): string | number | boolean {
  if (/^[-+]?\d+$/.test(value)) return Number(value);
  if (/^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/.test(value)) return Number(value);
  if (/^(true|True|TRUE)$/.test(value)) return true;
  if (/^(false|False|FALSE)$/.test(value)) return false;
  return value;
}
