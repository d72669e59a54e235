/**
 * The lag monitor on the real broker (issue #6): a real topic and consumer group, commits made explicitly by
 * the test so the Burrow window is known exactly, the commits read back from `__consumer_offsets`, and lag
 * measured against real end offsets. Lag grows while the consumer is paused and shrinks after it resumes; the
 * statuses are the ones Burrow's rules predict for each window (monitoring/lag/burrow.ts).
 *
 * Nothing sleeps: the test waits for the monitor to have read each commit (`waitForCommit`) and for the
 * consumer to have consumed (an eachMessage promise). Statuses are judged with `evaluate(now)` at a `now`
 * chosen relative to the broker's commit times, so wall-clock gaps between steps cannot turn STALL into STOP.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import { createMetrics, startLagMonitor, type LagSnapshot, type RunningLagMonitor } from '../../monitoring/index.ts';
import { testKafka, testStack, uniqueName } from '../harness/index.ts';

const topic = uniqueName('lag-topic');
const group = uniqueName('lag-group');
const metrics = createMetrics({ processMetrics: false });
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let consumer: Consumer;
let running: RunningLagMonitor;

/** The consumer's position per partition, and promises that settle when it reaches an offset. */
const consumed = new Map<number, number>();
const consumedWaiters: { partition: number; offset: number; resolve: () => void }[] = [];
function consumedUpTo(partition: number, offset: number): Promise<void> {
  if ((consumed.get(partition) ?? 0) >= offset) return Promise.resolve();
  return new Promise((resolve) => consumedWaiters.push({ partition, offset, resolve }));
}

before(async () => {
  kafka = await testKafka('lag-monitor-test');
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
  producer = kafka.producer();
  await producer.connect();
  consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false, // every commit is the test's own
    eachMessage: async ({ partition, message }) => {
      consumed.set(partition, Number(message.offset) + 1);
      for (const waiter of [...consumedWaiters]) {
        if (waiter.partition === partition && consumed.get(partition)! >= waiter.offset) {
          consumedWaiters.splice(consumedWaiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    },
  });
  // Window of 4 commits; min-distance 0 so that commits made milliseconds apart each take a slot.
  running = await startLagMonitor({
    kafka,
    groups: [group],
    windowSize: 4,
    minCommitDistanceMs: 0,
    metrics: metrics.lag,
  });
});

after(async () => {
  await running?.stop();
  await consumer?.disconnect();
  await producer?.disconnect();
  await admin?.disconnect();
});

async function produce(count: number): Promise<void> {
  await producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ value: `m${i}`, partition: 0 })) });
}

/** Commits `offset` on partition 0 (and `p1` on partition 1 when given) and waits until the monitor has it. */
async function commit(offset: number, p1?: number): Promise<void> {
  const monitor = running.monitor;
  const after0 = monitor.commitCount(group, topic, 0);
  const after1 = monitor.commitCount(group, topic, 1);
  const offsets = [{ topic, partition: 0, offset: String(offset) }];
  if (p1 !== undefined) offsets.push({ topic, partition: 1, offset: String(p1) });
  await consumer.commitOffsets(offsets);
  await monitor.waitForCommit({ group, topic, partition: 0, offset }, { after: after0 });
  if (p1 !== undefined) await monitor.waitForCommit({ group, topic, partition: 1, offset: p1 }, { after: after1 });
}

const p0 = (snapshot: LagSnapshot) => snapshot.groups[0]!.partitions.find((p) => p.partition === 0)!;

/** Judges at the last commit's own time, so "now − last commit" is 0 and only the window decides. */
function judgeAtLastCommit(): LagSnapshot {
  const last = p0(running.monitor.evaluate()).lastCommitAt!;
  return running.monitor.evaluate(last);
}

async function metricValue(series: string): Promise<number | undefined> {
  const line = (await metrics.registry.metrics()).split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

test('lag grows while the consumer is paused and shrinks after it resumes, with Burrow’s statuses', async () => {
  const lagSeries = `kafka_consumer_lag{group="${group}",topic="${topic}",partition="0"}`;

  // A: caught up. Window p0 [(5, lag 0)].
  await produce(5);
  await consumedUpTo(0, 5);
  await commit(5, 0);
  let polled = await running.poll();
  assert.deepEqual([p0(polled).lag, p0(polled).lagSeconds, p0(polled).status], [0, 0, 'OK']);
  assert.equal(polled.groups[0]!.status, 'OK');
  assert.equal(await metricValue(lagSeries), 0);

  // B: paused, records keep arriving: lag grows; the zero-lag commit in the window keeps the status OK.
  consumer.pause([{ topic, partitions: [0] }]);
  await produce(5);
  polled = await running.poll();
  assert.equal(p0(polled).lag, 5);
  assert.ok(p0(polled).lagSeconds! > 0, `lag in seconds grows too: ${p0(polled).lagSeconds}`);
  assert.equal(p0(polled).status, 'OK');
  assert.equal(await metricValue(lagSeries), 5);

  // C: the paused consumer re-commits its position. Three commits leave the zero-lag one in the window…
  for (let i = 0; i < 3; i++) await commit(5);
  assert.equal(p0(judgeAtLastCommit()).status, 'OK');
  // …the fourth pushes it out: the same offset four times with lag is STALL, and the group is ERR.
  await commit(5);
  let judged = judgeAtLastCommit();
  assert.equal(p0(judged).status, 'STALL');
  assert.equal(judged.groups[0]!.status, 'ERR');
  assert.equal(judged.groups[0]!.complete, 0.5, 'partition 0 has a full window, partition 1 one commit');
  // Nothing committed for longer than the window spans: STOP (still ERR for the group).
  const { firstCommitAt, lastCommitAt } = p0(judged);
  judged = running.monitor.evaluate(lastCommitAt! + (lastCommitAt! - firstCommitAt!));
  assert.equal(p0(judged).status, 'STALL', 'now − last equal to the span is not yet STOP');
  judged = running.monitor.evaluate(lastCommitAt! + (lastCommitAt! - firstCommitAt!) + 1);
  assert.equal(p0(judged).status, 'STOP');
  assert.equal(judged.groups[0]!.status, 'ERR');
  await produce(5);
  polled = await running.poll();
  assert.equal(p0(polled).lag, 10, 'still paused: lag keeps growing');
  assert.equal(await metricValue(lagSeries), 10);
  assert.equal(await metricValue(`kafka_consumer_group_status{group="${group}"}`), 3, 'ERR');

  // D: resumed but committing slowly while records keep coming: offsets move, lag never shrinks → WARN.
  consumer.resume([{ topic, partitions: [0] }]);
  await consumedUpTo(0, 15);
  await commit(7); // end 15: lag 8
  await produce(2);
  await commit(9); // end 17: lag 8
  await produce(2);
  await commit(11); // end 19: lag 8 — window [(5,5) (7,8) (9,8) (11,8)]
  assert.equal(p0(judgeAtLastCommit()).status, 'WARN');
  assert.equal(judgeAtLastCommit().groups[0]!.status, 'WARN');

  // E: a commit going backwards is REWIND.
  await commit(6);
  assert.equal(p0(judgeAtLastCommit()).status, 'REWIND');
  assert.equal(judgeAtLastCommit().groups[0]!.status, 'ERR');

  // F: caught up again: lag shrinks to 0, OK.
  await consumedUpTo(0, 19);
  await commit(19);
  polled = await running.poll();
  assert.deepEqual([p0(polled).lag, p0(polled).lagSeconds, p0(polled).status], [0, 0, 'OK']);
  assert.equal(polled.groups[0]!.status, 'OK');
  assert.equal(await metricValue(lagSeries), 0);
  assert.equal(await metricValue(`kafka_consumer_group_status{group="${group}"}`), 1, 'OK');
});

test('parley lag --json --group shows the group the monitor sees', async () => {
  const { kafkaBrokers } = await testStack();
  const run = spawnSync(process.execPath, ['cli/parley.mjs', 'lag', '--json', '--group', group], {
    cwd: join(import.meta.dirname, '..', '..'),
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', PARLEY_KAFKA_BROKERS: kafkaBrokers.join(',') },
    timeout: 120_000,
  });
  assert.equal(run.status, 0, run.stderr);
  const snapshot = JSON.parse(run.stdout) as LagSnapshot;
  assert.equal(snapshot.groups.length, 1);
  const [g] = snapshot.groups;
  assert.equal(g!.group, group);
  assert.deepEqual(
    g!.partitions.map((p) => [p.topic, p.partition, p.committed, p.lag, p.status]),
    [
      [topic, 0, 19, 0, 'OK'],
      [topic, 1, 0, 0, 'OK'],
    ],
  );
  assert.ok(g!.partitions[0]!.commits >= 1, 'the commit history was read back from __consumer_offsets');

  const table = spawnSync(process.execPath, ['cli/parley.mjs', 'lag', '--group', group], {
    cwd: join(import.meta.dirname, '..', '..'),
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', PARLEY_KAFKA_BROKERS: kafkaBrokers.join(',') },
    timeout: 120_000,
  });
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, new RegExp(`^group ${group}  status OK  total lag 0`, 'm'));
  assert.match(table.stdout, /TOPIC\s+PARTITION\s+COMMITTED\s+END\s+LAG\s+LAG_SECONDS\s+STATUS\s+COMMITS/);
  assert.match(table.stdout, new RegExp(`${topic}\\s+0\\s+19\\s+19\\s+0\\s+0\\.00\\s+OK`));
});
