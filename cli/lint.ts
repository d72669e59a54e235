/**
 * `parley lint <file...>`: checks topology YAML files without running anything (like `rpk connect lint`). Prints
 * every issue as `file:line:column: severity: message`, then a summary; exits 1 when any file has an error.
 */
import { Command } from 'commander';
import { loadTopologyFile } from '../topology/config/load.ts';
import { formatIssue } from '../topology/validate.ts';

export interface LintReport {
  /** The issue lines, then the summary line. */
  lines: string[];
  errors: number;
  warnings: number;
}

export function lintFiles(files: string[], env: NodeJS.ProcessEnv = process.env): LintReport {
  const lines: string[] = [];
  let errors = 0;
  let warnings = 0;
  for (const file of files) {
    for (const issue of loadTopologyFile(file, env).issues) {
      lines.push(formatIssue(issue));
      if (issue.severity === 'error') errors++;
      else warnings++;
    }
  }
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const verdict = errors > 0 ? 'FAILED' : 'ok';
  lines.push(`${verdict}: ${plural(files.length, 'file')}, ${plural(errors, 'error')}, ${plural(warnings, 'warning')}`);
  return { lines, errors, warnings };
}

export function lintCommand(): Command {
  return new Command('lint')
    .description(
      'check topology YAML files (syntax, schema, env vars, references, cycles, co-partitioning); exit 1 on errors',
    )
    .argument('<files...>', 'topology YAML files')
    .action((files: string[]) => {
      const report = lintFiles(files);
      console.log(report.lines.join('\n'));
      process.exitCode = report.errors > 0 ? 1 : 0;
    });
}
