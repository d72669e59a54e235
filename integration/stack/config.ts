/**
 * The native stack's settings: ports, folders and pinned versions, read once from the environment.
 * docker-compose.yml uses the same variable names and defaults; compose.test.ts keeps the two in step.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const stackPom = join(projectRoot, 'integration', 'stack', 'pom.xml');

/** Every port variable with its default. The compose file must use exactly these names and defaults. */
export const portDefaults = {
  PARLEY_KAFKA_PORT: 19092,
  PARLEY_KAFKA_CONTROLLER_PORT: 19093,
  PARLEY_REGISTRY_PORT: 18081,
  PARLEY_REGISTRY_MANAGEMENT_PORT: 19000,
  PARLEY_ETCD1_CLIENT_PORT: 12379,
  PARLEY_ETCD1_PEER_PORT: 12380,
  PARLEY_ETCD2_CLIENT_PORT: 12479,
  PARLEY_ETCD2_PEER_PORT: 12480,
  PARLEY_ETCD3_CLIENT_PORT: 12579,
  PARLEY_ETCD3_PEER_PORT: 12580,
} as const;
export type PortName = keyof typeof portDefaults;

export interface EtcdMemberConfig {
  name: string;
  clientPort: number;
  peerPort: number;
}

export interface StackConfig {
  host: '127.0.0.1';
  kafkaPort: number;
  kafkaControllerPort: number;
  registryPort: number;
  registryManagementPort: number;
  etcd: EtcdMemberConfig[];
  /** Runtime folder: data, logs, PID files. Git-ignored. */
  runDir: string;
  /** Download cache: Kafka's classpath, Apicurio's bundle, a JDK when none >= 21 is installed. Git-ignored. */
  cacheDir: string;
  versions: { kafka: string; log4j: string; apicurio: string };
  /** Seconds to wait for each service to become healthy. */
  healthTimeoutS: number;
}

export class StackConfigError extends Error {
  override name = 'StackConfigError';
}

function readPort(env: NodeJS.ProcessEnv, name: PortName): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return portDefaults[name];
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new StackConfigError(`${name}=${JSON.stringify(raw)} is not a TCP port (1..65535)`);
  }
  return port;
}

/** Reads `<name>.version` properties from the stack's pom, the single place versions are pinned. */
export function pinnedVersions(pomPath = stackPom): StackConfig['versions'] {
  const pom = readFileSync(pomPath, 'utf8');
  const get = (name: string): string => {
    const match = new RegExp(`<${name}\\.version>([^<]+)</${name}\\.version>`).exec(pom);
    if (!match?.[1]) throw new StackConfigError(`${pomPath}: no <${name}.version> property`);
    return match[1];
  };
  return {
    kafka: get('kafka'),
    log4j: get('log4j'),
    apicurio: get('apicurio'),
  };
}

export function loadStackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const config: StackConfig = {
    host: '127.0.0.1',
    kafkaPort: readPort(env, 'PARLEY_KAFKA_PORT'),
    kafkaControllerPort: readPort(env, 'PARLEY_KAFKA_CONTROLLER_PORT'),
    registryPort: readPort(env, 'PARLEY_REGISTRY_PORT'),
    registryManagementPort: readPort(env, 'PARLEY_REGISTRY_MANAGEMENT_PORT'),
    etcd: [1, 2, 3].map((i) => ({
      name: `etcd${i}`,
      clientPort: readPort(env, `PARLEY_ETCD${i}_CLIENT_PORT` as PortName),
      peerPort: readPort(env, `PARLEY_ETCD${i}_PEER_PORT` as PortName),
    })),
    runDir: resolve(projectRoot, env['PARLEY_STACK_DIR'] || '.stack'),
    cacheDir: resolve(projectRoot, env['PARLEY_STACK_CACHE'] || '.stack-cache'),
    versions: pinnedVersions(),
    healthTimeoutS: Number(env['PARLEY_STACK_TIMEOUT_S'] || 120),
  };
  const ports = [
    config.kafkaPort,
    config.kafkaControllerPort,
    config.registryPort,
    config.registryManagementPort,
    ...config.etcd.flatMap((m) => [m.clientPort, m.peerPort]),
  ];
  const duplicate = ports.find((p, i) => ports.indexOf(p) !== i);
  if (duplicate !== undefined) {
    throw new StackConfigError(`port ${duplicate} is configured for two services; check the PARLEY_*_PORT variables`);
  }
  if (!Number.isFinite(config.healthTimeoutS) || config.healthTimeoutS <= 0) {
    throw new StackConfigError(`PARLEY_STACK_TIMEOUT_S=${env['PARLEY_STACK_TIMEOUT_S']} is not a positive number`);
  }
  return config;
}

/** Endpoints as clients see them; the same shape the harness returns for every kind of stack. */
export interface StackEndpoints {
  kafkaBrokers: string[];
  schemaRegistryUrl: string;
  etcdEndpoints: string[];
}

export function endpointsOf(config: StackConfig): StackEndpoints {
  return {
    kafkaBrokers: [`${config.host}:${config.kafkaPort}`],
    schemaRegistryUrl: `http://${config.host}:${config.registryPort}/apis/ccompat/v7`,
    etcdEndpoints: config.etcd.map((m) => `http://${config.host}:${m.clientPort}`),
  };
}
