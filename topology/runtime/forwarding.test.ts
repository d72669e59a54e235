/**
 * Forwarding in a task (task.ts #deliver, context.ts forward): to every child or to a named one, the error for
 * an unknown child, depth-first delivery in call order, what children inherit, and that a failed call's
 * forwards are dropped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TopologyBuilder } from '../builder.ts';
import { TaskFailedError } from './task.ts';
import { driverFor, proc, rec, registryOf, stateRoot, type Rec } from './testing.ts';

const dirs = stateRoot('forwarding');

/** src → router → (left processor, right sink); left → left sink. Topics are string/json. */
function routerTopology(onError: 'fail' | 'skip' = 'fail') {
  return new TopologyBuilder('fwd')
    .topic({ name: 'in', partitions: 1, key: 'string', value: 'json' })
    .topic({ name: 'left', partitions: 1, key: 'string', value: 'json' })
    .topic({ name: 'right', partitions: 1, key: 'string', value: 'json' })
    .source('src', ['in'])
    .processor('router', { processor: 'router', parents: ['src'], onError })
    .processor('tag', { processor: 'tag', parents: ['router'] })
    .sink('right-out', { topic: 'right', parents: ['router'] })
    .sink('left-out', { topic: 'left', parents: ['tag'] })
    .build();
}

function routerRegistry() {
  return registryOf({
    // value.to names the child to forward to; without it the record goes to every child.
    router: proc((r, ctx) => ctx.forward(r, (r.value as { to?: string }).to)),
    tag: proc((r, ctx) => ctx.forward({ ...r, value: { ...(r.value as object), tagged: true } })),
  });
}

test('forward without a child reaches every child; with a name, only that child', async () => {
  const d = await driverFor(routerTopology(), routerRegistry(), dirs.dir('all'));
  await d.pipeInputs('in', [
    { key: 'a', value: { n: 1 } },
    { key: 'b', value: { n: 2, to: 'right-out' } },
    { key: 'c', value: { n: 3, to: 'tag' } },
  ]);
  const left = await d.readOutput('left');
  const right = await d.readOutput('right');
  assert.deepEqual(
    left.map((r) => [r.key, r.value]),
    [
      ['a', { n: 1, tagged: true }],
      ['c', { n: 3, to: 'tag', tagged: true }],
    ],
  );
  assert.deepEqual(
    right.map((r) => [r.key, r.value]),
    [
      ['a', { n: 1 }],
      ['b', { n: 2, to: 'right-out' }],
    ],
  );
  await d.close();
});

test('forwarding to an unknown child fails the task with an error naming the processor and the child', async () => {
  const d = await driverFor(routerTopology(), routerRegistry(), dirs.dir('unknown'));
  await d.pipeInput('in', 'ok', { n: 0 });
  const failure = await d.pipeInput('in', 'x', { to: 'nope' }).then(
    () => assert.fail('pipeInput should reject'),
    (error: unknown) => error,
  );
  assert.ok(failure instanceof TaskFailedError);
  assert.equal(failure.node, 'router');
  assert.equal(failure.stage, 'process');
  assert.deepEqual(failure.source, { topic: 'in', partition: 0, offset: 1 });
  assert.match((failure.cause as Error).message, /processor router forwarded to "nope"/);
  assert.match((failure.cause as Error).message, /tag, right-out/); // the children it does have
  assert.equal(d.app.state, 'failed');
  await d.close();
});

test('with onError skip, an unknown child skips the record and the next one is processed', async () => {
  const skipped: string[] = [];
  const events = { skipped: (_t: string, node: string, stage: string) => void skipped.push(`${node}/${stage}`) };
  const d = await driverFor(routerTopology('skip'), routerRegistry(), dirs.dir('skip'), { events });
  await d.pipeInputs('in', [
    { key: 'x', value: { to: 'nope' } },
    { key: 'y', value: { to: 'right-out' } },
  ]);
  assert.deepEqual(skipped, ['router/process']);
  assert.deepEqual(
    (await d.readOutput('right')).map((r) => r.key),
    ['y'],
  );
  await d.close();
});

/** src → a; a → b, c; b → d; c → d (a diamond under a); d → sink. Every processor logs what it sees. */
function diamond(log: string[]) {
  const topology = new TopologyBuilder('dfs')
    .topic({ name: 'in', partitions: 1, key: 'string', value: 'string' })
    .topic({ name: 'out', partitions: 1, key: 'string', value: 'string' })
    .source('src', ['in'])
    .processor('a', { processor: 'a', parents: ['src'] })
    .processor('b', { processor: 'suffix', parents: ['a'], config: { suffix: 'B' } })
    .processor('c', { processor: 'suffix', parents: ['a'], config: { suffix: 'C' } })
    .processor('d', { processor: 'd', parents: ['b', 'c'] })
    .sink('out-sink', { topic: 'out', parents: ['d'] })
    .build();
  const registry = registryOf({
    a: proc((r, ctx) => {
      log.push(`a:${r.value}`);
      ctx.forward({ ...r, value: `${r.value}.1` });
      ctx.forward({ ...r, value: `${r.value}.2` });
      log.push(`a:done`); // forwards are delivered after process returns, not inside forward()
    }),
    suffix: proc((r, ctx) => {
      log.push(`${ctx.processorName}:${r.value}`);
      ctx.forward({ ...r, value: `${r.value}>${ctx.config.suffix as string}` });
    }),
    d: proc((r, ctx) => {
      log.push(`d:${r.value}`);
      ctx.forward(r);
    }),
  });
  return { topology, registry };
}

test('forwards are delivered depth-first in call order across a three-level DAG', async () => {
  const log: string[] = [];
  const { topology, registry } = diamond(log);
  const d = await driverFor(topology, registry, dirs.dir('dfs'));
  await d.pipeInput('in', 'k', 'x');
  assert.deepEqual(log, [
    'a:x',
    'a:done',
    'b:x.1',
    'd:x.1>B',
    'c:x.1',
    'd:x.1>C',
    'b:x.2',
    'd:x.2>B',
    'c:x.2',
    'd:x.2>C',
  ]);
  const out = await d.readOutput('out');
  assert.deepEqual(
    out.map((r) => r.value),
    ['x.1>B', 'x.1>C', 'x.2>B', 'x.2>C'],
  );
  await d.close();
});

test('children see the source record metadata; a forwarded timestamp and headers reach the sink', async () => {
  const seen: unknown[] = [];
  const topology = new TopologyBuilder('meta')
    .topic({ name: 'in', partitions: 2, key: 'string', value: 'string' })
    .topic({ name: 'out', partitions: 2, key: 'string', value: 'string' })
    .source('src', ['in'])
    .processor('shift', { processor: 'shift', parents: ['src'] })
    .processor('look', { processor: 'look', parents: ['shift'] })
    .sink('sink', { topic: 'out', parents: ['look'] })
    .build();
  const registry = registryOf({
    shift: proc((r, ctx) =>
      ctx.forward({ ...r, timestamp: r.timestamp + 1000, headers: { ...r.headers, via: Buffer.from('shift') } }),
    ),
    look: proc((r, ctx) => {
      seen.push({ meta: ctx.recordMetadata, task: ctx.taskId, ts: r.timestamp, streamTime: ctx.streamTime });
      ctx.forward(r);
    }),
  });
  const d = await driverFor(topology, registry, dirs.dir('meta'));
  await d.pipeInput('in', 'k', 'v0', { partition: 1, timestamp: 50 });
  await d.pipeInput('in', 'k', 'v1', { partition: 1, timestamp: 70, headers: { h: Buffer.from('1') } });
  assert.deepEqual(seen, [
    { meta: { topic: 'in', partition: 1, offset: 0 }, task: '0_1', ts: 1050, streamTime: 50 },
    { meta: { topic: 'in', partition: 1, offset: 1 }, task: '0_1', ts: 1070, streamTime: 70 },
  ]);
  const out = await d.readOutput('out');
  assert.deepEqual(
    out.map((r) => [r.value, r.timestamp, r.headers.h?.toString(), r.headers.via?.toString()]),
    [
      ['v0', 1050, undefined, 'shift'],
      ['v1', 1070, '1', 'shift'],
    ],
  );
  await d.close();
});

test("a process call that throws has its forwards dropped, and the record's other work continues", async () => {
  const topology = new TopologyBuilder('drop')
    .topic({ name: 'in', partitions: 1, key: 'string', value: 'string' })
    .topic({ name: 'out', partitions: 1, key: 'string', value: 'string' })
    .source('src', ['in'])
    .processor('fan', { processor: 'fan', parents: ['src'] })
    .processor('flaky', { processor: 'flaky', parents: ['fan'], onError: 'skip' })
    .processor('steady', { processor: 'pass', parents: ['fan'] })
    .sink('sink', { topic: 'out', parents: ['flaky', 'steady'] })
    .build();
  const registry = registryOf({
    fan: proc((r, ctx) => ctx.forward(r)),
    flaky: proc((r: Rec, ctx) => {
      ctx.forward({ ...r, value: `flaky:${r.value}` });
      if (r.value === 'bad') throw new Error('flaky failed after forwarding');
    }),
    pass: proc((r, ctx) => ctx.forward({ ...r, value: `steady:${r.value}` })),
  });
  const d = await driverFor(topology, registry, dirs.dir('drop'));
  await d.pipeInputs('in', [rec('k', 'good', 1), rec('k', 'bad', 2)]);
  assert.deepEqual(
    (await d.readOutput('out')).map((r) => r.value),
    ['flaky:good', 'steady:good', 'steady:bad'],
  );
  await d.close();
});
