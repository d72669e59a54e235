/**
 * Problems found in a topology, from the YAML loader or the validator, in one shape so `parley lint`, the
 * builder and the runtime report them alike. Errors carry a code and a retriable flag (STYLE.md §8).
 *
 * Severity: everything is an `error` (no topology is built) except a store no processor uses, which is a
 * `warning`: it costs a changelog topic but cannot make the engine misbehave.
 */
import type { SourceLocation } from './model.ts';

export type IssueSeverity = 'error' | 'warning';

/** What kind of problem, so tools and tests need not parse messages. */
export type IssueCode =
  | 'yaml-syntax'
  | 'schema'
  | 'env-unset'
  | 'file-unreadable'
  | 'invalid-value'
  | 'duplicate-name'
  | 'unknown-topic'
  | 'unknown-parent'
  | 'unknown-store'
  | 'no-parents'
  | 'sink-as-parent'
  | 'topic-read-twice'
  | 'unused-store'
  | 'missing-schema'
  | 'unknown-processor'
  | 'cycle'
  | 'co-partitioning';

export type IssuePath = (string | number)[];

export interface TopologyIssue {
  severity: IssueSeverity;
  code: IssueCode;
  message: string;
  /** The node the issue is about, if it is about one. */
  node?: string;
  location?: SourceLocation;
  /** Where in the declarative (YAML) form the problem is. */
  path?: IssuePath;
}

/** `file:line:column: severity: message`, or `severity: message` for an issue without a location. */
export function formatIssue(issue: TopologyIssue): string {
  const where = issue.location ? `${issue.location.file}:${issue.location.line}:${issue.location.column}: ` : '';
  return `${where}${issue.severity}: ${issue.message}`;
}

export class TopologyValidationError extends Error {
  override name = 'TopologyValidationError';
  readonly code = 'TOPOLOGY_INVALID';
  readonly retriable = false;
  constructor(
    readonly issues: TopologyIssue[],
    application: string,
  ) {
    const errors = issues.filter((i) => i.severity === 'error').length;
    super(`topology "${application}" is invalid (${errors} error(s)):\n${issues.map(formatIssue).join('\n')}`);
  }
}
