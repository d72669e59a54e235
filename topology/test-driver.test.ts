/**
 * TopologyTestDriver: readOutput's per-topic cursor (committed records only, partition then offset order),
 * internal topics readable too, store inspection, pipe options, settle() running chained sub-topologies to the
 * end, and errors surfacing from the call that caused them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringSerde } from '../schemas/index.ts';
import { defaultPartition } from './backend/partitioner.ts';
import { TopologyBuilder } from './builder.ts';
import { deadLetterHeaders } from './runtime/dead-letter.ts';
import { driverFor, proc, registryOf, stateRoot } from './runtime/testing.ts';

const dirs = stateRoot('test-driver');

/** A key the default partitioner puts in `partition` of a three-partition topic. */
function keyOn(partition: number): string {
  for (let i = 0; ; i++) if (defaultPartition(Buffer.from(`k${i}`), 3) === partition) return `k${i}`;
}

/** in → upper (store `last`: last value per key; throws on 'boom', dlq) → out, 3 partitions everywhere. */
function upper() {
  const topology = new TopologyBuilder('drv')
    .topic({ name: 'in', partitions: 3, key: 'string', value: 'string' })
    .topic({ name: 'out', partitions: 3, key: 'string', value: 'string' })
    .store({ name: 'last', kind: 'memory', key: 'string', value: 'json' })
    .source('src', ['in'])
    .processor('upper', { processor: 'upper', parents: ['src'], stores: ['last'], onError: 'dlq' })
    .sink('sink', { topic: 'out', parents: ['upper'] })
    .build();
  const registry = registryOf({
    upper: proc((r, ctx) => {
      if (r.value === 'boom') throw new Error('boom');
      ctx.getStateStore<string, { v: string; at: number }>('last').put(String(r.key), {
        v: String(r.value),
        at: r.timestamp,
      });
      ctx.forward({ ...r, value: String(r.value).toUpperCase() });
    }),
  });
  return { topology, registry };
}

test('readOutput returns what was committed since the last read of that topic', async () => {
  const { topology, registry } = upper();
  const d = await driverFor(topology, registry, dirs.dir('cursor'));
  assert.deepEqual(await d.readOutput('out'), []);
  // The sink partitions by key: the outputs of k0 land in partition 0 of `out`, those of k2 in partition 2.
  const [k0, k2] = [keyOn(0), keyOn(2)];
  await d.pipeInput('in', k2, 'a');
  await d.pipeInput('in', k0, 'b');
  await d.pipeInput('in', k2, 'c');
  const first = await d.readOutput('out');
  // Partition order, then offset order: not the order the records were produced in.
  assert.deepEqual(
    first.map((r) => [r.partition, r.offset, r.value]),
    [
      [0, 0, 'B'],
      [2, 0, 'A'],
      [2, 2, 'C'], // offset 1 of partition 2 is the commit marker of the first transaction
    ],
  );
  assert.deepEqual(await d.readOutput('out'), [], 'a second read starts where the first stopped');
  // Reading the input topic has its own cursor and does not move the output's.
  assert.deepEqual(
    (await d.readOutput('in')).map((r) => r.value),
    ['b', 'a', 'c'],
  );
  await d.pipeInput('in', k0, 'd');
  assert.deepEqual(
    (await d.readOutput('out')).map((r) => r.value),
    ['D'],
  );
  // A caller's serde replaces the topic's.
  const raw = {
    key: stringSerde(),
    value: { serialize: () => null, deserialize: (_t: string, b: Buffer | null) => b },
  };
  await d.pipeInput('in', 'k', 'e', { partition: 1 });
  const [e] = await d.readOutput('out', raw);
  assert.deepEqual(e!.value, Buffer.from('E'));
  await d.close();
});

test("readOutput does not see an open transaction's records until it commits, nor aborted ones ever", async () => {
  const { topology, registry } = upper();
  const d = await driverFor(topology, registry, dirs.dir('txn'));
  const producer = await d.backend.transactionalProducer('outside');
  const send = (v: string) => producer.send([{ topic: 'out', partition: 0, key: null, value: Buffer.from(v) }]);
  await producer.begin();
  await send('aborted');
  await producer.abort();
  await producer.begin();
  await send('open');
  assert.deepEqual(await d.readOutput('out'), []);
  await producer.commit();
  assert.deepEqual(
    (await d.readOutput('out')).map((r) => r.value),
    ['open'],
  );
  await d.close();
});

test('internal topics are readable too: dead letters as bytes, changelogs with the store formats', async () => {
  const { topology, registry } = upper();
  const d = await driverFor(topology, registry, dirs.dir('internal'));
  await d.pipeInputs('in', [
    { key: 'k', value: 'boom', partition: 1 },
    { key: 'k', value: 'ok', partition: 1, timestamp: 7 },
  ]);
  const [dead, ...none] = await d.readOutput<Buffer, Buffer>('drv-dlq');
  assert.equal(none.length, 0);
  assert.deepEqual([dead!.key, dead!.value], [Buffer.from('k'), Buffer.from('boom')]);
  assert.equal(dead!.headers[deadLetterHeaders.stage]?.toString(), 'process');
  const changelog = await d.readOutput('drv-last-changelog');
  assert.deepEqual(
    changelog.map((r) => [r.partition, r.key, r.value]),
    [[1, 'k', { v: 'ok', at: 7 }]],
  );
  await d.close();
});

test('store() gives the live store of the task owning a partition, or says which tasks exist', async () => {
  const { topology, registry } = upper();
  const d = await driverFor(topology, registry, dirs.dir('store'), { wallClockMs: 500 });
  await d.pipeInput('in', 'x', 'one'); // partitioned by key, timestamped by the driver's clock
  await d.pipeInput('in', 'y', 'two', { partition: 0, timestamp: 9 });
  const p = defaultPartition(Buffer.from('x'), 3);
  assert.deepEqual(await d.store('last', p).get('x'), { v: 'one', at: 500 });
  assert.equal(await d.store('last', p === 0 ? 1 : 0).get('x'), undefined);
  const entries: unknown[] = [];
  for await (const entry of d.store('last', 0).range()) entries.push(entry);
  assert.deepEqual(entries.at(-1), { key: 'y', value: { v: 'two', at: 9 } });
  assert.throws(() => d.store('nope', 0), /no open store nope for partition 0 \(tasks: 0_0,0_1,0_2\)/);
  assert.throws(() => d.store('last', 7), /no open store last for partition 7/);
  await d.close();
});

test('pipe options: headers and timestamps reach the processor; the clock cannot go back', async () => {
  const seen: unknown[] = [];
  const topology = new TopologyBuilder('opts')
    .topic({ name: 'in', partitions: 1, key: 'string', value: 'json' })
    .source('src', ['in'])
    .processor('look', { processor: 'look', parents: ['src'] })
    .build();
  const registry = registryOf({
    look: proc((r) => void seen.push([r.key, r.value, r.timestamp, r.headers.h?.toString()])),
  });
  const d = await driverFor(topology, registry, dirs.dir('opts'), { wallClockMs: 42 });
  await d.pipeInput('in', 'k', { n: 1 }, { headers: { h: Buffer.from('v') } });
  await d.advanceWallClockTime(8);
  await d.pipeInput('in', null, null);
  assert.deepEqual(seen, [
    ['k', { n: 1 }, 42, 'v'],
    [null, null, 50, undefined],
  ]);
  await assert.rejects(d.advanceWallClockTime(-1), RangeError);
  await d.close();
});

test('settle() runs chained sub-topologies and punctuator output through to the end', async () => {
  const topology = new TopologyBuilder('chain')
    .topic({ name: 'in', partitions: 2, key: 'string', value: 'string' })
    .topic({ name: 'mid', partitions: 1, key: 'string', value: 'string' })
    .topic({ name: 'out', partitions: 1, key: 'string', value: 'string' })
    .source('src', ['in'])
    .processor('first', { processor: 'tag', parents: ['src'], config: { tag: '1' } })
    .sink('to-mid', { topic: 'mid', parents: ['first'] })
    .source('mid-src', ['mid'])
    .processor('second', { processor: 'tag', parents: ['mid-src'], config: { tag: '2' } })
    .sink('to-out', { topic: 'out', parents: ['second'] })
    .build();
  const registry = registryOf({
    tag: proc(
      (r, ctx) => ctx.forward({ ...r, value: `${r.value}>${ctx.config.tag as string}` }),
      (ctx) => {
        if (ctx.config.tag !== '1') return;
        ctx.schedule(100, 'wall', (at) => ctx.forward({ key: 't', value: `tick${at}`, timestamp: at, headers: {} }));
      },
    ),
  });
  const d = await driverFor(topology, registry, dirs.dir('chain'), { wallClockMs: 0 });
  await d.pipeInput('in', 'k', 'x', { partition: 1 });
  assert.deepEqual(
    (await d.readOutput('out')).map((r) => r.value),
    ['x>1>2'],
  );
  await d.advanceWallClockTime(100); // both input tasks punctuate; their ticks go through the second hop
  assert.deepEqual(
    (await d.readOutput('out')).map((r) => r.value),
    ['tick100>2', 'tick100>2'],
  );
  await d.close();
});

test('settle() goes on after back-pressure paused a partition: a large input is processed once', async () => {
  const { topology, registry } = upper();
  const d = await driverFor(topology, registry, dirs.dir('large'));
  // More than the default maxBufferedRecords (2000) wait in the task before settle() processes them.
  const n = 2600;
  await d.pipeInputs(
    'in',
    Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: 0 })),
  );
  const out = await d.readOutput<string, string>('out');
  assert.equal(out.length, n);
  assert.equal(new Set(out.map((r) => r.value)).size, n);
  assert.deepEqual(await d.backend.committedOffsets('drv', 'in'), [n, undefined, undefined]);
  await d.close();
});

test('after a failure every later call rethrows the error that failed the application', async () => {
  const topology = new TopologyBuilder('fails')
    .topic({ name: 'in', partitions: 1, key: 'string', value: 'string' })
    .source('src', ['in'])
    .processor('p', { processor: 'p', parents: ['src'] })
    .build();
  const registry = registryOf({
    p: proc(() => {
      throw new Error('always');
    }),
  });
  const d = await driverFor(topology, registry, dirs.dir('fails'));
  const first = await d.pipeInput('in', 'k', 'v').catch((error: unknown) => error);
  assert.match(String(first), /process failed at p on in\[0\]@0: always/);
  assert.equal(await d.pipeInput('in', 'k', 'w').catch((error: unknown) => error), first);
  assert.equal(await d.advanceWallClockTime(1).catch((error: unknown) => error), first);
  await d.close();
});
