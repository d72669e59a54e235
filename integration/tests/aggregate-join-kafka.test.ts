/**
 * Issue #3's acceptance on the real stack, with the aggregate-join example:
 *  - the same workload gives the same outputs on the memory backend and on Kafka (per key, in order);
 *  - under exactly_once, SIGKILL of the running process mid-stream and a restart with an EMPTY state
 *    directory (stores restored from their changelogs) yield no duplicate and no missing output.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { expectedStatuses, groupByKey, workload, type Workload } from '../../examples/aggregate-join/expected.ts';
import type { AccountStatus } from '../../examples/aggregate-join/processors.ts';
import { ConfluentRegistryClient, MemoryRegistryClient } from '../../schemas/index.ts';
import { createKafkaBackend } from '../../topology/backend/kafka.ts';
import { createApp, defaultStoreOpener, loadEngine, serdeFactory, type Engine } from '../../topology/engine.ts';
import { topicSerdes } from '../../topology/runtime/serdes.ts';
import { TopologyTestDriver } from '../../topology/test-driver.ts';
import { testKafka, testStack, uniqueName } from '../harness/index.ts';
import { committedReader, withSuffix } from '../harness/topology.ts';

const exampleFile = join(import.meta.dirname, '..', '..', 'examples', 'aggregate-join', 'topology.yaml');
const fixture = join(import.meta.dirname, 'fixtures', 'run-aggregate-join.ts');
const stateRoot = mkdtempSync(join(tmpdir(), 'parley-agg-kafka-'));
let kafka: Kafka;
let base: Engine;

before(async () => {
  kafka = await testKafka('aggregate-join-test');
  base = await loadEngine(exampleFile, {});
});
after(() => rmSync(stateRoot, { recursive: true, force: true }));

/** Creates the engine's topics and produces the workload with the engine's own serdes. */
async function produce(engine: Engine, load: Workload, registryUrl: string): Promise<void> {
  const backend = await createKafkaBackend({
    brokers: (await testStack()).kafkaBrokers,
    clientId: uniqueName('producer'),
  });
  const serdes = topicSerdes(
    engine.topology,
    serdeFactory(engine.schemasDir, new ConfluentRegistryClient({ url: registryUrl })),
  );
  await backend.createTopics(engine.topology.spec.topics);
  const producer = await backend.producer();
  const topic = (name: string) => engine.topology.spec.topics.find((t) => t.name.startsWith(`${name}-`))!.name;
  for (const [name, rows] of [
    ['accounts', load.accounts],
    ['payments', load.payments],
  ] as const) {
    const t = topic(name);
    const s = serdes.topic(t);
    for (let i = 0; i < rows.length; i += 1000) {
      const chunk = rows.slice(i, i + 1000);
      await producer.send(
        await Promise.all(
          chunk.map(async (r) => ({
            topic: t,
            key: await s.key.serialize(t, r.key),
            value: await s.value.serialize(t, r.value),
            timestamp: r.timestamp,
          })),
        ),
      );
    }
  }
  await producer.close();
  await backend.close();
}

function decodeStatuses(records: { key: string; value: Buffer }[]) {
  return records.map((r) => ({ key: r.key, value: JSON.parse(r.value.toString()) as AccountStatus }));
}

test('the example gives the same outputs on the memory backend and on Kafka', { timeout: 240_000 }, async () => {
  const load = workload(9, 1_500, Date.now()); // recent: see workload()
  const { schemaRegistryUrl, kafkaBrokers } = await testStack();

  const memorySerdes = serdeFactory(base.schemasDir, new MemoryRegistryClient());
  const driver = await TopologyTestDriver.create(base.topology, {
    registry: base.registry,
    serdes: memorySerdes,
    openStore: defaultStoreOpener({
      topology: base.topology,
      serdes: memorySerdes,
      stateDir: join(stateRoot, 'memory'),
    }),
  });
  await driver.pipeInputs('accounts', load.accounts, { process: false });
  await driver.pipeInputs('payments', load.payments, { process: false });
  await driver.settle();
  const onMemory = groupByKey(await driver.readOutput<string, AccountStatus>('account-status'));
  await driver.close();

  const engine = withSuffix(base, uniqueName('eq'));
  await produce(engine, load, schemaRegistryUrl);
  const backend = await createKafkaBackend({ brokers: kafkaBrokers, clientId: uniqueName('eq-app') });
  const app = createApp({
    engine,
    backend,
    schemaRegistry: new ConfluentRegistryClient({ url: schemaRegistryUrl }),
    stateDir: join(stateRoot, 'kafka'),
  });
  const output = engine.topology.spec.topics.find((t) => t.name.startsWith('account-status-'))!.name;
  const reader = await committedReader(kafka, output);
  try {
    await app.start();
    await Promise.race([reader.until(load.payments.length), app.whenFailed().then((e) => Promise.reject(e))]);
  } finally {
    await app.stop();
    await backend.close();
    await reader.stop();
  }
  const onKafka = groupByKey(decodeStatuses(reader.records));
  assert.deepEqual(onKafka, onMemory, 'per-key output sequences are identical on both backends');
  assert.deepEqual(onKafka, expectedStatuses(load), 'and both equal the naive model');
});

function startChild(suffix: string, stateDir: string, logs: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, suffix, stateDir], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // PARLEY_TEST_CHILD_LOG=<file> keeps the whole child output (a failure message shows only its end).
  const keep = process.env['PARLEY_TEST_CHILD_LOG'];
  const collect = (d: Buffer): void => {
    logs.push(d.toString());
    if (keep) appendFileSync(keep, d);
  };
  child.stderr!.on('data', collect);
  child.stdout!.on('data', collect);
  return child;
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

test(
  'SIGKILL mid-stream under exactly_once, restart with an empty state dir: no duplicate, no loss',
  {
    timeout: 300_000,
  },
  async () => {
    const load = workload(11, 12_000, Date.now());
    const { schemaRegistryUrl } = await testStack();
    const suffix = uniqueName('kill');
    const engine = withSuffix(base, suffix);
    await produce(engine, load, schemaRegistryUrl);
    const output = engine.topology.spec.topics.find((t) => t.name.startsWith('account-status-'))!.name;
    const reader = await committedReader(kafka, output);
    const logs: string[] = [];
    try {
      const first = startChild(suffix, join(stateRoot, 'kill-1'), logs);
      await reader.until(1, 120_000);
      first.kill('SIGKILL');
      await exited(first);
      const seenAtKill = reader.records.length;
      assert.ok(seenAtKill < load.payments.length, `the kill came mid-stream (${seenAtKill} outputs seen)`);

      // A fresh state directory: the stores can only come back from their changelogs.
      const second = startChild(suffix, join(stateRoot, 'kill-2'), logs);
      await reader.until(load.payments.length, 240_000).catch((error: Error) => {
        second.kill('SIGKILL');
        throw new Error(`${error.message}; seen at the kill: ${seenAtKill}; child log:\n${logs.join('').slice(-6000)}`);
      });
      second.kill('SIGTERM');
      assert.equal(await exited(second), 0, `clean stop; log:\n${logs.join('').slice(-3000)}`);
    } finally {
      await reader.stop();
    }
    assert.match(logs.join(''), /restoring (totals|accounts) 0\/\d+/, 'the restarted process restored from changelogs');
    const byKey = groupByKey(decodeStatuses(reader.records));
    // Exactly the model's sequence per key: a duplicate would repeat a payment (and double-count the total), a loss
    // would skip one; either breaks the equality.
    assert.deepEqual(byKey, expectedStatuses(load));
    assert.equal(reader.records.length, load.payments.length);
  },
);
