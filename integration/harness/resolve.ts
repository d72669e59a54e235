/**
 * Finds the real stack for integration tests, in this order:
 *   1. services named by PARLEY_KAFKA_BROKERS, PARLEY_SCHEMA_REGISTRY_URL and PARLEY_ETCD_ENDPOINTS;
 *   2. Testcontainers, when a Docker engine answers;
 *   3. the native stack (integration/stack), started here when it is not already up.
 * PARLEY_STACK=env|testcontainers|native forces one. When none can be had the error names what is missing:
 * tests never skip silently.
 */
import { endpointsOf, loadStackConfig, type StackEndpoints } from '../stack/config.ts';
import { stackStatus, stackUp } from '../stack/stack.ts';

export type StackSource = 'env' | 'testcontainers' | 'native';

export interface ResolvedStack extends StackEndpoints {
  source: StackSource;
  /** Stops what this resolution started (containers, or a native stack that was down before). */
  release(): Promise<void>;
}

export class NoStackError extends Error {
  override name = 'NoStackError';
}

export const stackEnvVars = ['PARLEY_KAFKA_BROKERS', 'PARLEY_SCHEMA_REGISTRY_URL', 'PARLEY_ETCD_ENDPOINTS'] as const;

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Endpoints from the environment, or undefined when none of the variables is set. */
export function endpointsFromEnv(env: NodeJS.ProcessEnv = process.env): StackEndpoints | undefined {
  const set = stackEnvVars.filter((name) => env[name]);
  if (set.length === 0) return undefined;
  const unset = stackEnvVars.filter((name) => !env[name]);
  if (unset.length > 0) {
    throw new NoStackError(`${set.join(', ')} set but ${unset.join(', ')} not: set all three, or none`);
  }
  return {
    kafkaBrokers: list(env['PARLEY_KAFKA_BROKERS']!),
    schemaRegistryUrl: env['PARLEY_SCHEMA_REGISTRY_URL']!.replace(/\/$/, ''),
    etcdEndpoints: list(env['PARLEY_ETCD_ENDPOINTS']!),
  };
}

export function endpointsToEnv(endpoints: StackEndpoints): Record<(typeof stackEnvVars)[number], string> {
  return {
    PARLEY_KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    PARLEY_SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
    PARLEY_ETCD_ENDPOINTS: endpoints.etcdEndpoints.join(','),
  };
}

async function dockerAnswers(): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: (error as Error).message.split('\n')[0] ?? 'unknown' };
  }
}

async function native(): Promise<ResolvedStack> {
  const config = loadStackConfig();
  const wasUp = (await stackStatus(config)).every((s) => s.healthy);
  const endpoints = wasUp ? endpointsOf(config) : await stackUp(config);
  return {
    ...endpoints,
    source: 'native',
    async release() {
      if (!wasUp) {
        const { stackDown } = await import('../stack/stack.ts');
        await stackDown(config);
      }
    },
  };
}

export async function resolveStack(env: NodeJS.ProcessEnv = process.env): Promise<ResolvedStack> {
  const forced = env['PARLEY_STACK'] as StackSource | undefined;
  if (forced && !['env', 'testcontainers', 'native'].includes(forced)) {
    throw new NoStackError(`PARLEY_STACK=${forced}: expected env, testcontainers or native`);
  }
  const fromEnv = endpointsFromEnv(env);
  if (fromEnv && (!forced || forced === 'env')) return { ...fromEnv, source: 'env', release: async () => {} };
  if (forced === 'env') throw new NoStackError(`PARLEY_STACK=env but ${stackEnvVars.join(', ')} are not set`);

  let dockerReason = 'skipped (PARLEY_STACK=native)';
  if (forced !== 'native') {
    const docker = await dockerAnswers();
    if (docker.ok) {
      const { startContainers } = await import('./containers.ts');
      return startContainers(loadStackConfig(env));
    }
    dockerReason = docker.reason;
    if (forced === 'testcontainers')
      throw new NoStackError(`PARLEY_STACK=testcontainers but no Docker engine: ${dockerReason}`);
  }
  try {
    return await native();
  } catch (error) {
    throw new NoStackError(
      [
        'no real stack (Kafka, schema registry, etcd) could be had for the integration tests:',
        `  1. environment: ${stackEnvVars.join(', ')} not set`,
        `  2. Testcontainers: ${dockerReason}`,
        `  3. native stack: ${(error as Error).message}`,
      ].join('\n'),
    );
  }
}
