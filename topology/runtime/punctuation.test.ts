/**
 * Punctuators (context.ts schedule, task.ts #punctuate): stream-time ones fire only when records advance stream
 * time, once per due interval, with the stream time as timestamp; wall-clock ones follow the runtime's clock
 * (advanceWallClockTime); cancel() stops one; their forwards reach sinks; a throwing one fails the task.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TopologyBuilder } from '../builder.ts';
import type { Cancellable, PunctuationType } from '../processor.ts';
import { TaskFailedError } from './task.ts';
import { driverFor, proc, registryOf, stateRoot } from './testing.ts';

const dirs = stateRoot('punctuation');

interface Fired {
  type: PunctuationType;
  at: number;
  streamTime: number;
  meta: unknown;
}

/**
 * src → ticker → sink. The ticker schedules a punctuator of `type` every `interval` ms in init; each firing is
 * logged and forwards a record `tick@<at>`. A record with value 'cancel' cancels it.
 */
function ticker(type: PunctuationType, interval: number, fired: Fired[], onFire?: (at: number) => void) {
  const topology = new TopologyBuilder(`punct-${type}`)
    .topic({ name: 'in', partitions: 1, key: 'string', value: 'string' })
    .topic({ name: 'out', partitions: 1, key: 'string', value: 'string' })
    .source('src', ['in'])
    .processor('ticker', { processor: 'ticker', parents: ['src'] })
    .sink('sink', { topic: 'out', parents: ['ticker'] })
    .build();
  let schedule: Cancellable;
  const registry = registryOf({
    ticker: proc(
      (r) => {
        if (r.value === 'cancel') schedule.cancel();
      },
      (ctx) => {
        schedule = ctx.schedule(interval, type, (at) => {
          fired.push({ type, at, streamTime: ctx.streamTime, meta: ctx.recordMetadata });
          onFire?.(at);
          ctx.forward({ key: 'tick', value: `tick@${at}`, timestamp: at, headers: {} });
        });
      },
    ),
  });
  return { topology, registry };
}

test('stream-time punctuators fire only when records advance stream time, once per due interval', async () => {
  const fired: Fired[] = [];
  const { topology, registry } = ticker('stream', 10, fired);
  const d = await driverFor(topology, registry, dirs.dir('stream'), { wallClockMs: 1_000_000 });
  const at = () => fired.map((f) => f.at);
  await d.pipeInput('in', 'k', 'a', { timestamp: 5 });
  assert.deepEqual(at(), [], 'stream time 5 is before the first due time 10');
  await d.advanceWallClockTime(60_000);
  assert.deepEqual(at(), [], 'wall-clock time does not move stream time');
  await d.pipeInput('in', 'k', 'b', { timestamp: 12 });
  assert.deepEqual(at(), [12]);
  await d.pipeInput('in', 'k', 'c', { timestamp: 12 });
  await d.pipeInput('in', 'k', 'd', { timestamp: 19 });
  assert.deepEqual(at(), [12], 'the next due time is 20');
  // 47 passes three due times (20, 30, 40): one call, at the stream time.
  await d.pipeInput('in', 'k', 'e', { timestamp: 47 });
  assert.deepEqual(at(), [12, 47]);
  await d.pipeInput('in', 'k', 'late', { timestamp: 30 });
  assert.deepEqual(at(), [12, 47], 'a late record does not move stream time back or forward');
  await d.pipeInput('in', 'k', 'f', { timestamp: 50 });
  assert.deepEqual(at(), [12, 47, 50]);
  assert.deepEqual(
    fired.map((f) => [f.streamTime, f.meta]),
    [
      [12, undefined],
      [47, undefined],
      [50, undefined],
    ],
  );
  // The punctuator's forwards were committed to the sink with the timestamps it gave them.
  const out = await d.readOutput('out');
  assert.deepEqual(
    out.map((r) => [r.value, r.timestamp]),
    [
      ['tick@12', 12],
      ['tick@47', 47],
      ['tick@50', 50],
    ],
  );
  await d.close();
});

test('several records in one batch fire a stream-time punctuator between them, at each due time', async () => {
  const fired: Fired[] = [];
  const { topology, registry } = ticker('stream', 10, fired);
  const d = await driverFor(topology, registry, dirs.dir('stream-batch'));
  await d.pipeInputs('in', [
    { key: 'k', value: 'a', timestamp: 9 },
    { key: 'k', value: 'b', timestamp: 10 },
    { key: 'k', value: 'c', timestamp: 25 },
    { key: 'k', value: 'd', timestamp: 29 },
    { key: 'k', value: 'e', timestamp: 31 },
  ]);
  assert.deepEqual(
    fired.map((f) => f.at),
    [10, 25, 31],
  );
  await d.close();
});

test('wall-clock punctuators follow advanceWallClockTime, once per due interval', async () => {
  const fired: Fired[] = [];
  const { topology, registry } = ticker('wall', 100, fired);
  const d = await driverFor(topology, registry, dirs.dir('wall'), { wallClockMs: 1000 });
  const at = () => fired.map((f) => f.at);
  await d.advanceWallClockTime(99);
  assert.deepEqual(at(), []);
  await d.advanceWallClockTime(1);
  assert.deepEqual(at(), [1100]);
  await d.pipeInput('in', 'k', 'x', { timestamp: 999_999 });
  assert.deepEqual(at(), [1100], 'records do not move wall-clock time');
  // 250 ms pass two due times (1200, 1300): one call, and the schedule stays on the 100 ms grid.
  await d.advanceWallClockTime(250);
  assert.deepEqual(at(), [1100, 1350]);
  await d.advanceWallClockTime(49);
  assert.deepEqual(at(), [1100, 1350]);
  await d.advanceWallClockTime(1);
  assert.deepEqual(at(), [1100, 1350, 1400]);
  assert.deepEqual(
    fired.map((f) => f.meta),
    [undefined, undefined, undefined],
  );
  assert.deepEqual(
    (await d.readOutput('out')).map((r) => [r.value, r.timestamp]),
    [
      ['tick@1100', 1100],
      ['tick@1350', 1350],
      ['tick@1400', 1400],
    ],
  );
  await d.close();
});

test('cancel() stops a punctuator for good', async () => {
  for (const type of ['stream', 'wall'] as const) {
    const fired: Fired[] = [];
    const { topology, registry } = ticker(type, 10, fired);
    const d = await driverFor(topology, registry, dirs.dir(`cancel-${type}`), { wallClockMs: 0 });
    const advance = async (to: number) => {
      if (type === 'wall') await d.advanceWallClockTime(to - d.clock.now());
      else await d.pipeInput('in', 'k', 'x', { timestamp: to });
    };
    await advance(10);
    assert.equal(fired.length, 1, type);
    await d.pipeInput('in', 'k', 'cancel', { timestamp: 10 });
    await advance(20);
    await advance(100);
    assert.equal(fired.length, 1, `${type}: cancelled`);
    await d.close();
  }
});

test('cancelling one punctuator leaves the others of the processor running', async () => {
  const log: string[] = [];
  const topology = new TopologyBuilder('two-punct')
    .topic({ name: 'in', partitions: 1, key: 'string', value: 'string' })
    .source('src', ['in'])
    .processor('p', { processor: 'p', parents: ['src'] })
    .build();
  const registry = registryOf({
    p: proc(
      () => {},
      (ctx) => {
        const fast = ctx.schedule(10, 'wall', (at) => {
          log.push(`fast@${at}`);
          if (at >= 20) fast.cancel(); // cancelled from inside its own callback
        });
        ctx.schedule(25, 'wall', (at) => void log.push(`slow@${at}`));
      },
    ),
  });
  const d = await driverFor(topology, registry, dirs.dir('two'), { wallClockMs: 0 });
  for (let i = 0; i < 6; i++) await d.advanceWallClockTime(10);
  assert.deepEqual(log, ['fast@10', 'fast@20', 'slow@30', 'slow@50']);
  await d.close();
});

test('a punctuator that throws fails the task with an error naming the task and the processor', async () => {
  const fired: Fired[] = [];
  const { topology, registry } = ticker('wall', 10, fired, (at) => {
    if (at >= 20) throw new Error('punctuator broke');
  });
  const d = await driverFor(topology, registry, dirs.dir('throw'), { wallClockMs: 0 });
  await d.advanceWallClockTime(10);
  const failure = await d.advanceWallClockTime(10).then(
    () => assert.fail('advanceWallClockTime should reject'),
    (error: unknown) => error,
  );
  assert.ok(failure instanceof TaskFailedError, String(failure));
  assert.equal(failure.taskId, '0_0');
  assert.equal(failure.node, 'ticker');
  assert.equal(failure.stage, 'punctuate');
  assert.equal(failure.source, undefined);
  assert.match(failure.message, /punctuator broke/);
  // The first firing was committed; the failed one's forward was not.
  assert.deepEqual(
    (await d.readOutput('out')).map((r) => r.value),
    ['tick@10'],
  );
  await d.close();
});
