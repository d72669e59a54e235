import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endpointsFromEnv, endpointsToEnv, NoStackError, resolveStack } from './resolve.ts';

test('no PARLEY_* variables: the environment names no stack', () => {
  assert.equal(endpointsFromEnv({}), undefined);
});

test('all three variables give the endpoints, and round-trip through endpointsToEnv', () => {
  const env = {
    PARLEY_KAFKA_BROKERS: 'k1:9092, k2:9092',
    PARLEY_SCHEMA_REGISTRY_URL: 'http://sr:8081/apis/ccompat/v7/',
    PARLEY_ETCD_ENDPOINTS: 'http://e1:2379,http://e2:2379,http://e3:2379',
  };
  const endpoints = endpointsFromEnv(env);
  assert.deepEqual(endpoints, {
    kafkaBrokers: ['k1:9092', 'k2:9092'],
    schemaRegistryUrl: 'http://sr:8081/apis/ccompat/v7',
    etcdEndpoints: ['http://e1:2379', 'http://e2:2379', 'http://e3:2379'],
  });
  assert.deepEqual(endpointsFromEnv(endpointsToEnv(endpoints!)), endpoints);
});

test('a partial set of variables is an error naming the missing ones, not a silent fallback', () => {
  assert.throws(
    () => endpointsFromEnv({ PARLEY_KAFKA_BROKERS: 'k:9092' }),
    (error: Error) =>
      error instanceof NoStackError && /PARLEY_SCHEMA_REGISTRY_URL, PARLEY_ETCD_ENDPOINTS not/.test(error.message),
  );
});

test('PARLEY_STACK must name a known source', async () => {
  await assert.rejects(resolveStack({ PARLEY_STACK: 'kubernetes' }), /PARLEY_STACK=kubernetes: expected env/);
});

test('PARLEY_STACK=env without the variables fails and says which are needed', async () => {
  await assert.rejects(resolveStack({ PARLEY_STACK: 'env' }), /PARLEY_STACK=env but PARLEY_KAFKA_BROKERS/);
});

test('the environment wins over every other source', async () => {
  const stack = await resolveStack({
    PARLEY_KAFKA_BROKERS: 'k:1',
    PARLEY_SCHEMA_REGISTRY_URL: 'http://r:2',
    PARLEY_ETCD_ENDPOINTS: 'http://e:3',
  });
  assert.equal(stack.source, 'env');
  assert.deepEqual(stack.kafkaBrokers, ['k:1']);
});
