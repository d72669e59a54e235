/**
 * The aggregate-join example on the TopologyTestDriver (memory backend): outputs match a naive model, stores
 * hold the totals, a poison payment is dead-lettered with its error headers while processing continues.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MemoryRegistryClient } from '../../schemas/index.ts';
import { defaultStoreOpener, loadEngine, serdeFactory, type Engine } from '../../topology/engine.ts';
import { deadLetterHeaders } from '../../topology/runtime/dead-letter.ts';
import { TopologyTestDriver } from '../../topology/test-driver.ts';
import { expectedStatuses, groupByKey, workload } from './expected.ts';
import type { AccountStatus } from './processors.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'parley-aggregate-join-'));
let engine: Engine;

before(async () => {
  engine = await loadEngine(join(import.meta.dirname, 'topology.yaml'), {});
});
after(() => rmSync(stateDir, { recursive: true, force: true }));

async function driver(name: string): Promise<TopologyTestDriver> {
  const serdes = serdeFactory(engine.schemasDir, new MemoryRegistryClient());
  return TopologyTestDriver.create(engine.topology, {
    registry: engine.registry,
    serdes,
    openStore: defaultStoreOpener({ topology: engine.topology, serdes, stateDir: join(stateDir, name) }),
  });
}

test('per-account totals joined with the accounts table match the naive model', async () => {
  const d = await driver('model');
  const load = workload(7, 200);
  await d.pipeInputs('accounts', load.accounts);
  await d.pipeInputs('payments', load.payments);
  const out = await d.readOutput<string, AccountStatus>('account-status');
  assert.equal(out.length, 200);
  assert.deepEqual(groupByKey(out), expectedStatuses(load));
  // The store of the task owning acct-3's partition holds its final total.
  const partition = out.find((r) => r.key === 'acct-3')!.partition;
  const expected = expectedStatuses(load).get('acct-3')!.at(-1)!;
  assert.deepEqual(await d.store('totals', partition).get('acct-3'), {
    total: expected.total,
    payments: expected.payments,
  });
  await d.close();
});

test('inputs arriving in one go are still joined in event-time order across the two topics', async () => {
  const d = await driver('order');
  // Payments are produced first but the account rows are older: the join must still see the limits.
  await d.pipeInputs('payments', [{ key: 'a', value: { id: 'p1', amount: 60 }, timestamp: 20 }], { process: false });
  await d.pipeInputs('accounts', [{ key: 'a', value: { name: 'A', limit: 50 }, timestamp: 10 }], { process: false });
  await d.settle();
  const out = await d.readOutput<string, AccountStatus>('account-status');
  assert.equal(out.length, 1);
  assert.equal(out[0]!.value.limit, 50);
  assert.equal(out[0]!.value.over, true);
  await d.close();
});

test('a poison payment goes to the dead-letter topic with error headers and processing continues', async () => {
  const d = await driver('poison');
  await d.pipeInputs('accounts', [{ key: 'a', value: { name: 'A', limit: 50 }, timestamp: 1 }]);
  await d.pipeInputs('payments', [
    { key: 'a', value: { id: 'ok-1', amount: 10 }, timestamp: 2 },
    { key: 'a', value: { id: 'bad', amount: -5 }, timestamp: 3 },
    { key: 'a', value: { id: 'ok-2', amount: 20 }, timestamp: 4 },
  ]);
  const out = await d.readOutput<string, AccountStatus>('account-status');
  assert.deepEqual(
    out.map((r) => [r.value.lastPayment, r.value.total]),
    [
      ['ok-1', 10],
      ['ok-2', 30],
    ],
  );
  const dead = d.backend
    .logs(engine.topology.spec.deadLetterTopic)
    .flatMap((log) => log.read(0, Infinity, true, 1e9).records);
  assert.equal(dead.length, 1);
  const headers = Object.fromEntries(Object.entries(dead[0]!.headers).map(([k, v]) => [k, v.toString()]));
  assert.equal(headers[deadLetterHeaders.topic], 'payments');
  assert.equal(headers[deadLetterHeaders.processor], 'payment-totals');
  assert.equal(headers[deadLetterHeaders.stage], 'process');
  assert.equal(headers[deadLetterHeaders.errorClass], 'RangeError');
  assert.match(headers[deadLetterHeaders.errorMessage]!, /payment bad has an invalid amount -5/);
  // The original bytes are kept, so the dead letter can be replayed as it was.
  const poison = (await d.readOutput<string, { id: string }>('payments')).find((r) => r.value.id === 'bad')!;
  const raw = d.backend.logs('payments')[poison.partition]!.entries[poison.offset]!;
  assert.deepEqual(dead[0]!.value, raw.value);
  assert.equal(headers[deadLetterHeaders.offset], String(poison.offset));
  await d.close();
});
