/**
 * Released schema versions. Once a schema has been released, its exact text is kept as
 * `schemas/history/<Name>/v<N>.avsc` (N = 1, 2, …). Data written with any released version may still sit in a
 * topic or a changelog, so the current `schemas/<Name>.avsc` must stay BACKWARD compatible with every one of
 * them (BACKWARD_TRANSITIVE); schemas/compat.test.ts checks it, so a breaking edit fails CI.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkBackward, type CompatibilityResult } from './compat.ts';
import { loadSchemaFile } from './formats.ts';

export interface ReleasedVersion {
  version: number;
  path: string;
}

export interface HistoryCheck {
  name: string;
  currentPath: string;
  released: ReleasedVersion;
  result: CompatibilityResult;
}

/** The released versions of `name`, oldest first; throws on a file that breaks the naming convention. */
export function releasedVersions(schemasDir: string, name: string): ReleasedVersion[] {
  const dir = join(schemasDir, 'history', name);
  if (!existsSync(dir)) return [];
  const versions = readdirSync(dir).map((file) => {
    const match = /^v([1-9][0-9]*)\.avsc$/.exec(file);
    if (!match) throw new Error(`${join(dir, file)}: released schema files are named v<N>.avsc (N from 1)`);
    return { version: Number(match[1]), path: join(dir, file) };
  });
  versions.sort((a, b) => a.version - b.version);
  versions.forEach((released, index) => {
    if (released.version !== index + 1) {
      throw new Error(
        `${dir}: released versions must be v1…vN without gaps, found v${released.version} at ${index + 1}`,
      );
    }
  });
  return versions;
}

/** Every current schema against every released version of it. */
export function checkHistory(schemasDir: string): HistoryCheck[] {
  const historyDir = join(schemasDir, 'history');
  const withHistory = existsSync(historyDir) ? readdirSync(historyDir) : [];
  return withHistory.flatMap((name) => {
    const currentPath = join(schemasDir, `${name}.avsc`);
    if (!existsSync(currentPath)) {
      throw new Error(
        `${join(historyDir, name)} has released versions but ${currentPath} is gone: released data needs it`,
      );
    }
    const current = loadSchemaFile(currentPath);
    return releasedVersions(schemasDir, name).map((released) => ({
      name,
      currentPath,
      released,
      result: checkBackward(current, loadSchemaFile(released.path)),
    }));
  });
}
