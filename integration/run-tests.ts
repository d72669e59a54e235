/**
 * `npm test`: every test of the project in one node:test run. Unit tests are the `*.test.ts` files outside
 * integration/tests/ and integration/chaos/; the real-stack suite is those two folders. When the suite is part of
 * the run, the stack is resolved once here (integration/harness/resolve.ts) and handed to every test file in
 * PARLEY_* variables; what this run started, it stops at the end unless --keep-stack is given.
 *
 *   npm test                     all tests
 *   npm test -- --unit           unit tests only (no stack)
 *   npm test -- --integration    the real-stack suite only
 *   npm test -- --keep-stack     leave a stack this run started running afterwards
 *   npm test -- <file>...        only these files
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { projectRoot } from './stack/config.ts';
import { endpointsToEnv, resolveStack, type ResolvedStack } from './harness/resolve.ts';

const skipDirs = new Set(['node_modules', '.git', '.stack', '.stack-cache']);
const suiteDirs = [join('integration', 'tests'), join('integration', 'chaos')];

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (skipDirs.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.ts') ? [relative(projectRoot, path)] : [];
  });
}

function needsStack(file: string): boolean {
  return suiteDirs.some((dir) => file.startsWith(dir + '/'));
}

async function main(args: string[]): Promise<number> {
  const unitOnly = args.includes('--unit');
  const integrationOnly = args.includes('--integration');
  const keepStack = args.includes('--keep-stack') || process.env['PARLEY_KEEP_STACK'] === '1';
  const named = args.filter((a) => !a.startsWith('--'));
  let files = named.length > 0 ? named : testFiles(projectRoot).sort();
  if (unitOnly) files = files.filter((f) => !needsStack(f));
  if (integrationOnly) files = files.filter(needsStack);
  if (files.length === 0) {
    console.error('run-tests: no test files selected');
    return 1;
  }

  let stack: ResolvedStack | undefined;
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (files.some(needsStack)) {
    stack = await resolveStack();
    Object.assign(env, endpointsToEnv(stack));
    console.error(
      `run-tests: real stack from ${stack.source}: kafka ${stack.kafkaBrokers.join(',')}, ` +
        `registry ${stack.schemaRegistryUrl}, etcd ${stack.etcdEndpoints.join(',')}`,
    );
  }

  try {
    return await new Promise<number>((resolve) => {
      const child = spawn(
        process.execPath,
        // A hung test fails after 5 minutes instead of holding CI until its own limit.
        [
          '--import',
          'tsx',
          '--test',
          '--test-reporter=spec',
          '--test-concurrency=2',
          '--test-timeout=300000',
          ...files,
        ],
        { stdio: 'inherit', env, cwd: projectRoot },
      );
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  } finally {
    if (stack && !keepStack) await stack.release();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`run-tests: ${error.message}`);
    process.exit(1);
  },
);
