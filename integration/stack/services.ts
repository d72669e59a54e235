/**
 * The native stack's services: how each is prepared, started and checked. Everything binds to 127.0.0.1.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { endpointsOf, type StackConfig } from './config.ts';
import type { StackArtifacts } from './fetch.ts';

export interface ServiceSpec {
  name: string;
  /** What a person would call it in an error message. */
  title: string;
  pidFile: string;
  logFile: string;
  /** Resolves to undefined when healthy, or to a reason when not (yet). */
  check(): Promise<string | undefined>;
  /** How to start it; needs the fetched artifacts, which `status` and `down` do not. */
  launch(artifacts: StackArtifacts): Launch;
}

export interface Launch {
  /** Writes config files and formats storage; must be idempotent. */
  prepare(): void;
  command: string;
  args: string[];
}

/** A fixed cluster id: a re-run of `up` on existing storage must present the id the storage was formatted with. */
export const kafkaClusterId = 'cGFybGV5LW5hdGl2ZS0x'.padEnd(22, 'A').slice(0, 22);

async function httpCheck(url: string, accept: (status: number, body: string) => string | undefined) {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return accept(response.status, await response.text());
  } catch (error) {
    return `${url}: ${(error as Error).message}`;
  }
}

function kafkaService(config: StackConfig): ServiceSpec {
  const dir = join(config.runDir, 'kafka');
  const dataDir = join(dir, 'data');
  const propsFile = join(dir, 'server.properties');
  const log4jFile = join(dir, 'log4j2.properties');
  const logFile = join(config.runDir, 'logs', 'kafka.log');
  const h = config.host;
  const properties = [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${h}:${config.kafkaControllerPort}`,
    `listeners=PLAINTEXT://${h}:${config.kafkaPort},CONTROLLER://${h}:${config.kafkaControllerPort}`,
    `advertised.listeners=PLAINTEXT://${h}:${config.kafkaPort}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${dataDir}`,
    'num.partitions=1',
    // One broker: every internal topic must fit on it, or transactions and groups never become available.
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
  ].join('\n');
  const log4j = [
    'status = warn',
    'appender.file.type = File',
    'appender.file.name = FILE',
    `appender.file.fileName = ${join(config.runDir, 'logs', 'kafka-server.log')}`,
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = INFO',
    'rootLogger.appenderRef.file.ref = FILE',
    'logger.kafka.name = kafka',
    'logger.kafka.level = INFO',
    'logger.kafkaorg.name = org.apache.kafka',
    'logger.kafkaorg.level = INFO',
  ].join('\n');
  return {
    name: 'kafka',
    title: `Kafka ${config.versions.kafka} (KRaft) on ${h}:${config.kafkaPort}`,
    pidFile: join(config.runDir, 'pids', 'kafka.pid'),
    logFile,
    launch: (artifacts) => ({
      prepare() {
        mkdirSync(dir, { recursive: true });
        writeFileSync(propsFile, properties + '\n');
        writeFileSync(log4jFile, log4j + '\n');
        if (!existsSync(join(dataDir, 'meta.properties'))) {
          // Formatting is what KRaft needs before the first start; the id stays fixed so re-runs reuse the data.
          execFileSync(
            artifacts.kafkaJava,
            [
              '-cp',
              artifacts.kafkaClasspath,
              'kafka.tools.StorageTool',
              'format',
              '-t',
              kafkaClusterId,
              '-c',
              propsFile,
            ],
            { stdio: ['ignore', 'pipe', 'pipe'] },
          );
        }
      },
      command: artifacts.kafkaJava,
      args: [
        '-Xms256m',
        '-Xmx1g',
        '-XX:+UseG1GC',
        `-Dlog4j2.configurationFile=${log4jFile}`,
        `-Dkafka.logs.dir=${join(config.runDir, 'logs')}`,
        '-cp',
        artifacts.kafkaClasspath,
        'kafka.Kafka',
        propsFile,
      ],
    }),
    async check() {
      const { kafkaBrokers } = endpointsOf(config);
      // A metadata round trip, not just an open port: the broker answers only once KRaft has a leader.
      const { Kafka, logLevel } = await import('kafkajs');
      const admin = new Kafka({
        brokers: kafkaBrokers,
        clientId: 'parley-stack-health',
        logLevel: logLevel.NOTHING,
        connectionTimeout: 1_000,
        requestTimeout: 2_000,
        retry: { retries: 0 },
      }).admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        return cluster.brokers.length > 0 && cluster.controller !== null ? undefined : 'no controller yet';
      } catch (error) {
        return `${kafkaBrokers[0]}: ${(error as Error).message}`;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
  };
}

function registryService(config: StackConfig): ServiceSpec {
  const url = endpointsOf(config).schemaRegistryUrl;
  return {
    name: 'registry',
    title: `Apicurio Registry ${config.versions.apicurio} on ${url}`,
    pidFile: join(config.runDir, 'pids', 'registry.pid'),
    logFile: join(config.runDir, 'logs', 'registry.log'),
    launch: (artifacts) => ({
      prepare() {},
      command: artifacts.registryJava,
      args: [
        '-Xms128m',
        '-Xmx512m',
        `-Dquarkus.http.host=${config.host}`,
        `-Dquarkus.http.port=${config.registryPort}`,
        `-Dquarkus.management.host=${config.host}`,
        `-Dquarkus.management.port=${config.registryManagementPort}`,
        // In-memory H2 storage: the registry is a test fixture here; schemas are re-registered by their users.
        '-Dapicurio.storage.kind=sql',
        '-jar',
        artifacts.apicurioJar,
      ],
    }),
    async check() {
      return httpCheck(`${url}/subjects`, (status, body) =>
        status === 200 && body.trim().startsWith('[') ? undefined : `${url}/subjects answered ${status}`,
      );
    },
  };
}

function etcdServices(config: StackConfig): ServiceSpec[] {
  const h = config.host;
  const initialCluster = config.etcd.map((m) => `${m.name}=http://${h}:${m.peerPort}`).join(',');
  return config.etcd.map((member) => ({
    name: member.name,
    title: `etcd member ${member.name} on ${h}:${member.clientPort}`,
    pidFile: join(config.runDir, 'pids', `${member.name}.pid`),
    logFile: join(config.runDir, 'logs', `${member.name}.log`),
    launch: (artifacts) => ({
      prepare() {
        mkdirSync(join(config.runDir, 'etcd'), { recursive: true });
      },
      command: artifacts.etcdBinary,
      args: [
        `--name=${member.name}`,
        `--data-dir=${join(config.runDir, 'etcd', member.name)}`,
        `--listen-client-urls=http://${h}:${member.clientPort}`,
        `--advertise-client-urls=http://${h}:${member.clientPort}`,
        `--listen-peer-urls=http://${h}:${member.peerPort}`,
        `--initial-advertise-peer-urls=http://${h}:${member.peerPort}`,
        `--initial-cluster=${initialCluster}`,
        '--initial-cluster-token=parley-native',
        // "new" is ignored once the data dir exists, so a second `up` rejoins the same cluster.
        '--initial-cluster-state=new',
        // Short election timings suit loopback and let leader-loss tests finish quickly.
        '--heartbeat-interval=100',
        '--election-timeout=1000',
        '--logger=zap',
      ],
    }),
    async check() {
      const url = `http://${h}:${member.clientPort}/health`;
      return httpCheck(url, (status, body) => {
        if (status !== 200) return `${url} answered ${status}`;
        return (JSON.parse(body) as { health?: string }).health === 'true' ? undefined : `${url}: ${body.trim()}`;
      });
    },
  }));
}

export function stackServices(config: StackConfig): ServiceSpec[] {
  return [...etcdServices(config), kafkaService(config), registryService(config)];
}
