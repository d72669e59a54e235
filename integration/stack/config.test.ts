import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endpointsOf, loadStackConfig, pinnedVersions, portDefaults, StackConfigError } from './config.ts';

test('defaults give distinct loopback ports and the versions pinned in the pom', () => {
  const config = loadStackConfig({});
  assert.equal(config.kafkaPort, portDefaults.PARLEY_KAFKA_PORT);
  assert.deepEqual(
    config.etcd.map((m) => m.name),
    ['etcd1', 'etcd2', 'etcd3'],
  );
  assert.deepEqual(config.versions, pinnedVersions());
  assert.match(config.versions.kafka, /^4\.\d+\.\d+$/, 'Kafka 4.x');
  assert.match(config.versions.apicurio, /^3\.\d+\.\d+$/, 'Apicurio 3.x');
  const endpoints = endpointsOf(config);
  assert.deepEqual(endpoints.kafkaBrokers, ['127.0.0.1:19092']);
  assert.equal(endpoints.schemaRegistryUrl, 'http://127.0.0.1:18081/apis/ccompat/v7');
  assert.equal(endpoints.etcdEndpoints.length, 3);
});

test('a port variable overrides its default', () => {
  const config = loadStackConfig({ PARLEY_KAFKA_PORT: '29092', PARLEY_ETCD2_CLIENT_PORT: '22479' });
  assert.equal(config.kafkaPort, 29092);
  assert.equal(config.etcd[1]?.clientPort, 22479);
});

test('a malformed port names the variable and its value', () => {
  assert.throws(
    () => loadStackConfig({ PARLEY_REGISTRY_PORT: '80a' }),
    (error: Error) => error instanceof StackConfigError && /PARLEY_REGISTRY_PORT="80a"/.test(error.message),
  );
  assert.throws(() => loadStackConfig({ PARLEY_KAFKA_PORT: '70000' }), /PARLEY_KAFKA_PORT="70000" is not a TCP port/);
});

test('two services on one port are refused before anything starts', () => {
  assert.throws(
    () => loadStackConfig({ PARLEY_REGISTRY_PORT: String(portDefaults.PARLEY_KAFKA_PORT) }),
    /port 19092 is configured for two services/,
  );
});

test('a non-positive health timeout is refused', () => {
  assert.throws(() => loadStackConfig({ PARLEY_STACK_TIMEOUT_S: '-3' }), /PARLEY_STACK_TIMEOUT_S=-3/);
});
