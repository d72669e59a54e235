/**
 * Error policies (task.ts #handleFailure): `fail` fails the application with a TaskFailedError naming task,
 * node, stage and source coordinates, and nothing of the failed batch becomes visible; `skip` counts and goes
 * on; `dlq` writes the original bytes and headers plus the error's context; a record that does not deserialize
 * follows the policy of its source's first processor.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TopologyBuilder } from '../builder.ts';
import type { ErrorPolicy } from '../model.ts';
import type { TestDriverOptions } from '../test-driver.ts';
import { deadLetterHeaders } from './dead-letter.ts';
import { TaskFailedError } from './task.ts';
import { driverFor, proc, readAll, registryOf, stateRoot, text } from './testing.ts';

const dirs = stateRoot('errors');

/** in (json) → check → out; check stores every value it accepts and throws on `{ bad: true }`. */
function checked(onError: ErrorPolicy, options: Partial<TestDriverOptions> = {}) {
  const topology = new TopologyBuilder('errs')
    .topic({ name: 'in', partitions: 2, key: 'string', value: 'json' })
    .topic({ name: 'out', partitions: 2, key: 'string', value: 'json' })
    .store({ name: 'seen', kind: 'memory', key: 'string', value: 'json' })
    .source('src', ['in'])
    .processor('check', { processor: 'check', parents: ['src'], stores: ['seen'], onError })
    .sink('sink', { topic: 'out', parents: ['check'] })
    .build();
  const registry = registryOf({
    check: proc((r, ctx) => {
      const value = r.value as { bad?: boolean; n: number };
      if (value.bad) throw new RangeError(`record ${value.n} is bad`);
      ctx.getStateStore<string, number>('seen').put(String(r.key), value.n);
      ctx.forward(r);
    }),
  });
  return driverFor(topology, registry, dirs.dir(onError), options);
}

const good = (n: number) => ({ key: 'k', value: { n }, partition: 1 });
const bad = (n: number) => ({ key: 'k', value: { n, bad: true }, partition: 1 });

test('fail: TaskFailedError names task, node, stage and source; the failed batch leaves nothing visible', async () => {
  const d = await checked('fail');
  await d.pipeInputs('in', [good(0)]);
  const failure = await d.pipeInputs('in', [good(1), bad(2), good(3)]).then(
    () => assert.fail('the batch should fail the application'),
    (error: unknown) => error,
  );
  assert.ok(failure instanceof TaskFailedError);
  assert.equal(failure.taskId, '0_1');
  assert.equal(failure.node, 'check');
  assert.equal(failure.stage, 'process');
  assert.deepEqual(failure.source, { topic: 'in', partition: 1, offset: 2 });
  assert.equal(failure.retriable, false);
  assert.ok(failure.cause instanceof RangeError);
  assert.match(failure.message, /task 0_1: process failed at check on in\[1\]@2: record 2 is bad/);
  assert.equal(d.app.state, 'failed');
  assert.equal(await d.app.whenFailed(), failure);
  // Only the first batch is visible: record 1 was processed before the failure, in the same transaction.
  assert.deepEqual(text(readAll(d.backend, 'out')), ['k={"n":0}']);
  assert.deepEqual(text(readAll(d.backend, 'out', false)), ['k={"n":0}'], 'not even sent uncommitted');
  assert.deepEqual(text(readAll(d.backend, 'errs-seen-changelog')), ['k=0']);
  assert.deepEqual(await d.backend.committedOffsets('errs', 'in'), [undefined, 1]);
  await d.close();
});

test('skip: the record is counted and processing continues; its offset is committed', async () => {
  const skipped: unknown[] = [];
  const d = await checked('skip', {
    events: { skipped: (task, node, stage, error) => void skipped.push([task, node, stage, (error as Error).message]) },
  });
  await d.pipeInputs('in', [good(1), bad(2), good(3)]);
  assert.deepEqual(skipped, [['0_1', 'check', 'process', 'record 2 is bad']]);
  assert.deepEqual(
    (await d.readOutput('out')).map((r) => r.value),
    [{ n: 1 }, { n: 3 }],
  );
  assert.equal(await d.store('seen', 1).get('k'), 3);
  assert.deepEqual(await d.backend.committedOffsets('errs', 'in'), [undefined, 3]);
  assert.deepEqual(readAll(d.backend, 'errs-dlq'), []);
  await d.close();
});

test('dlq: the original key, value, timestamp and headers are kept, with the error context in headers', async () => {
  const lettered: unknown[] = [];
  const d = await checked('dlq', {
    events: { deadLettered: (task, node, stage) => void lettered.push([task, node, stage]) },
  });
  const headers = { trace: Buffer.from([0, 1, 2, 255]) };
  await d.pipeInputs('in', [good(1), { ...bad(2), timestamp: 1234, headers }, good(3)]);
  assert.deepEqual(lettered, [['0_1', 'check', 'process']]);
  assert.deepEqual(
    (await d.readOutput('out')).map((r) => r.value),
    [{ n: 1 }, { n: 3 }],
  );
  const original = d.backend.logs('in')[1]!.entries[1]!;
  const [dead, ...more] = readAll(d.backend, 'errs-dlq');
  assert.equal(more.length, 0);
  assert.deepEqual(dead!.key, original.key);
  assert.deepEqual(dead!.value, original.value);
  assert.equal(dead!.timestamp, 1234);
  assert.deepEqual(dead!.headers.trace, headers.trace);
  const h = (name: string) => dead!.headers[name]?.toString();
  assert.equal(h(deadLetterHeaders.topic), 'in');
  assert.equal(h(deadLetterHeaders.partition), '1');
  assert.equal(h(deadLetterHeaders.offset), '1');
  assert.equal(h(deadLetterHeaders.processor), 'check');
  assert.equal(h(deadLetterHeaders.stage), 'process');
  assert.equal(h(deadLetterHeaders.errorClass), 'RangeError');
  assert.equal(h(deadLetterHeaders.errorMessage), 'record 2 is bad');
  assert.match(h(deadLetterHeaders.errorStack)!, /RangeError: record 2 is bad/);
  assert.equal(h(deadLetterHeaders.application), 'errs');
  await d.close();
});

/** Malformed JSON bytes, produced raw (the driver's pipeInput would serialize them). */
async function pipeRaw(d: Awaited<ReturnType<typeof checked>>, value: string): Promise<void> {
  const producer = await d.backend.producer();
  await producer.send([{ topic: 'in', partition: 1, key: Buffer.from('k'), value: Buffer.from(value) }]);
  await d.settle();
}

test('a record that does not deserialize follows the first processor: fail', async () => {
  const d = await checked('fail');
  await d.pipeInputs('in', [good(1)]);
  const failure = await pipeRaw(d, '{"n": 2').then(
    () => assert.fail('should fail'),
    (error: unknown) => error,
  );
  assert.ok(failure instanceof TaskFailedError);
  assert.equal(failure.node, 'src');
  assert.equal(failure.stage, 'deserialize');
  assert.deepEqual(failure.source, { topic: 'in', partition: 1, offset: 1 });
  assert.match(failure.message, /cannot deserialize JSON of topic "in"/);
  await d.close();
});

test('a record that does not deserialize follows the first processor: skip and dlq', async () => {
  const skipped: string[] = [];
  const s = await checked('skip', { events: { skipped: (_t, node, stage) => void skipped.push(`${node}/${stage}`) } });
  await pipeRaw(s, 'not json');
  await s.pipeInputs('in', [good(2)]);
  assert.deepEqual(skipped, ['src/deserialize']);
  assert.deepEqual(
    (await s.readOutput('out')).map((r) => r.value),
    [{ n: 2 }],
  );
  await s.close();

  const d = await checked('dlq');
  await pipeRaw(d, '\xff not json');
  await d.pipeInputs('in', [good(2)]);
  const [dead] = readAll(d.backend, 'errs-dlq');
  assert.deepEqual(dead!.value, Buffer.from('\xff not json'));
  assert.equal(dead!.headers[deadLetterHeaders.processor]?.toString(), 'src');
  assert.equal(dead!.headers[deadLetterHeaders.stage]?.toString(), 'deserialize');
  assert.equal(dead!.headers[deadLetterHeaders.errorClass]?.toString(), 'DeserializationError');
  assert.deepEqual(
    (await d.readOutput('out')).map((r) => r.value),
    [{ n: 2 }],
  );
  await d.close();
});

test("the source's first processor decides, not a later sibling", async () => {
  const topology = new TopologyBuilder('first-child')
    .topic({ name: 'in', partitions: 1, key: 'string', value: 'json' })
    .source('src', ['in'])
    .processor('lenient', { processor: 'noop', parents: ['src'], onError: 'dlq' })
    .processor('strict', { processor: 'noop', parents: ['src'], onError: 'fail' })
    .build();
  const d = await driverFor(topology, registryOf({ noop: proc(() => {}) }), dirs.dir('first'));
  const producer = await d.backend.producer();
  await producer.send([{ topic: 'in', key: Buffer.from('k'), value: Buffer.from('{') }]);
  await d.settle();
  assert.equal(d.app.state, 'running');
  assert.equal(readAll(d.backend, 'first-child-dlq').length, 1);
  await d.close();
});

test('a sink whose serde refuses the value fails the task at the serialize stage', async () => {
  const topology = new TopologyBuilder('ser')
    .topic({ name: 'in', partitions: 1, key: 'string', value: 'string' })
    .topic({ name: 'out', partitions: 1, key: 'string', value: 'string' })
    .source('src', ['in'])
    .processor('p', { processor: 'p', parents: ['src'], onError: 'skip' })
    .sink('sink', { topic: 'out', parents: ['p'] })
    .build();
  const registry = registryOf({ p: proc((r, ctx) => ctx.forward({ ...r, value: 42 })) });
  const d = await driverFor(topology, registry, dirs.dir('ser'));
  const failure = await d.pipeInput('in', 'k', 'v').then(
    () => assert.fail('should fail'),
    (error: unknown) => error,
  );
  assert.ok(failure instanceof TaskFailedError);
  assert.equal(failure.node, 'sink');
  assert.equal(failure.stage, 'serialize');
  assert.deepEqual(failure.source, { topic: 'in', partition: 0, offset: 0 });
  await d.close();
});

test('a processor asking for a store it did not declare fails at init, naming processor and store', async () => {
  const topology = new TopologyBuilder('undeclared')
    .topic({ name: 'in', partitions: 1, key: 'string', value: 'string' })
    .store({ name: 'mine', kind: 'memory' })
    .source('src', ['in'])
    .processor('owner', { processor: 'noop', parents: ['src'], stores: ['mine'] })
    .processor('thief', { processor: 'thief', parents: ['src'] })
    .build();
  const registry = registryOf({
    noop: proc(() => {}),
    thief: proc(
      () => {},
      (ctx) => void ctx.getStateStore('mine'),
    ),
  });
  await assert.rejects(
    driverFor(topology, registry, dirs.dir('undeclared')),
    /processor thief asked for store "mine", which is not declared for it \(stores: none\)/,
  );
});
