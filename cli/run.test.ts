/**
 * `parley run` as a process (memory backend, no external service): the metrics server binds the address asked
 * for. PARLEY_METRICS_HOST was read by metricsAddressFromEnv but never reached the server, so a process meant to
 * be scraped from a container still bound 127.0.0.1 (issue #11). 127.0.0.2 is loopback too, and not 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(import.meta.dirname, '..');

/** `parley run` of the aggregate-join example on the memory backend: no external service. */
function runArgs(stateDir: string, extra: string[]): string[] {
  const config = join(root, 'examples', 'aggregate-join', 'topology.yaml');
  return [
    join(root, 'cli', 'parley.mjs'),
    'run',
    '--config',
    config,
    '--backend',
    'memory',
    '--state-dir',
    stateDir,
  ].concat(extra);
}

async function runAndScrape(args: string[], env: NodeJS.ProcessEnv): Promise<{ url: string; status: number }> {
  const stateDir = mkdtempSync(join(tmpdir(), 'parley-run-'));
  const child = spawn(process.execPath, runArgs(stateDir, args), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`parley run did not start in 60 s:\n${output}`)), 60_000);
      const look = (d: Buffer): void => {
        output += d.toString();
        const match = output.match(/metrics on (http:\/\/\S+)\/metrics/);
        if (match && output.includes(' running on memory')) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      };
      child.stdout.on('data', look);
      child.stderr.on('data', look);
      child.once('exit', (code) => reject(new Error(`parley run exited with ${code}:\n${output}`)));
    });
    const response = await fetch(`${url}/metrics`);
    await response.text();
    return { url, status: response.status };
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(stateDir, { recursive: true, force: true });
  }
}

test('PARLEY_METRICS_HOST and --metrics-host choose the address the metrics server binds', async () => {
  const fromEnv = await runAndScrape([], { PARLEY_METRICS_HOST: '127.0.0.2' });
  assert.match(fromEnv.url, /^http:\/\/127\.0\.0\.2:\d+$/);
  assert.equal(fromEnv.status, 200);
  const fromFlag = await runAndScrape(['--metrics-host', '127.0.0.3'], { PARLEY_METRICS_HOST: '127.0.0.2' });
  assert.match(fromFlag.url, /^http:\/\/127\.0\.0\.3:\d+$/, 'the flag wins over the environment');
  assert.equal(fromFlag.status, 200);
});

test('a bad metrics port is refused with a message naming the flag or the variable', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'parley-run-'));
  try {
    const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      spawnSync(process.execPath, runArgs(stateDir, args), {
        encoding: 'utf8',
        env: { ...process.env, ...env },
        timeout: 60_000,
      });
    const flag = run(['--metrics-port', '99999']);
    assert.notEqual(flag.status, 0);
    assert.match(flag.stderr, /--metrics-port "99999": expected a port number from 0 to 65535/);
    const variable = run([], { PARLEY_METRICS_PORT: 'http' });
    assert.notEqual(variable.status, 0);
    assert.match(variable.stderr, /PARLEY_METRICS_PORT "http": expected a port number/);
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});
