/**
 * The stack on Testcontainers, for machines with a Docker engine. Same images and ports as
 * docker-compose.yml and the same host ports as the native stack, so every test sees one set of endpoints.
 * Host ports are fixed (not random) because Kafka must advertise the address clients dial.
 * Not exercised on the project's CI machines, which have no Docker engine; see integration/README.md.
 */
import type { StackConfig } from '../stack/config.ts';
import { endpointsOf } from '../stack/config.ts';
import type { ResolvedStack } from './resolve.ts';

export const images = (config: StackConfig) => ({
  kafka: `apache/kafka:${config.versions.kafka}`,
  registry: `apicurio/apicurio-registry:${config.versions.apicurio}`,
  etcd: 'quay.io/coreos/etcd:v3.5.21',
});

export async function startContainers(config: StackConfig): Promise<ResolvedStack> {
  const { GenericContainer, Network, Wait } = await import('testcontainers');
  const image = images(config);
  const network = await new Network().start();
  const started: { stop(): Promise<unknown> }[] = [];
  try {
    const initialCluster = config.etcd.map((m) => `${m.name}=http://${m.name}:2380`).join(',');
    const etcds = await Promise.all(
      config.etcd.map((m) =>
        new GenericContainer(image.etcd)
          .withNetwork(network)
          .withNetworkAliases(m.name)
          .withExposedPorts({ container: m.clientPort, host: m.clientPort })
          .withCommand([
            'etcd',
            `--name=${m.name}`,
            `--listen-client-urls=http://0.0.0.0:${m.clientPort}`,
            `--advertise-client-urls=http://127.0.0.1:${m.clientPort}`,
            '--listen-peer-urls=http://0.0.0.0:2380',
            `--initial-advertise-peer-urls=http://${m.name}:2380`,
            `--initial-cluster=${initialCluster}`,
            '--initial-cluster-token=parley-containers',
            '--initial-cluster-state=new',
            '--heartbeat-interval=100',
            '--election-timeout=1000',
          ])
          .withWaitStrategy(Wait.forHttp('/health', m.clientPort).forStatusCode(200))
          .start(),
      ),
    );
    started.push(...etcds);
    const kafka = await new GenericContainer(image.kafka)
      .withNetwork(network)
      .withNetworkAliases('kafka')
      .withExposedPorts({ container: config.kafkaPort, host: config.kafkaPort })
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@kafka:9093',
        KAFKA_LISTENERS: `PLAINTEXT://:${config.kafkaPort},CONTROLLER://:9093`,
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${config.kafkaPort}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .withStartupTimeout(180_000)
      .start();
    started.push(kafka);
    const registry = await new GenericContainer(image.registry)
      .withExposedPorts({ container: 8080, host: config.registryPort })
      .withWaitStrategy(Wait.forHttp('/apis/ccompat/v7/subjects', 8080).forStatusCode(200))
      .withStartupTimeout(180_000)
      .start();
    started.push(registry);
  } catch (error) {
    await Promise.allSettled(started.map((c) => c.stop()));
    await network.stop().catch(() => undefined);
    throw error;
  }
  return {
    ...endpointsOf(config),
    source: 'testcontainers',
    async release() {
      await Promise.allSettled(started.map((c) => c.stop()));
      await network.stop().catch(() => undefined);
    },
  };
}
