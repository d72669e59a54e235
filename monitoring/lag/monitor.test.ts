/**
 * The monitor against a fake admin (the real broker is integration/tests/lag-monitor.test.ts): committed vs end
 * offsets, lag at receipt, statuses, discovery with its cap, missing topics, metrics export, waitForCommit.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics } from '../registry.ts';
import { LagMonitor, type LagAdmin } from './monitor.ts';
import type { OffsetCommit } from './offsets-topic.ts';

class FakeAdmin implements LagAdmin {
  ends = new Map<string, number[]>();
  committed = new Map<string, Map<string, number[]>>();
  groupTypes = new Map<string, string>();
  calls: string[] = [];

  listGroups: LagAdmin['listGroups'] = async () => ({
    groups: [...this.groupTypes].map(([groupId, protocolType]) => ({ groupId, protocolType })),
  });
  fetchOffsets: LagAdmin['fetchOffsets'] = async ({ groupId }) =>
    [...(this.committed.get(groupId) ?? [])].map(([topic, offsets]) => ({
      topic,
      partitions: offsets.map((offset, partition) => ({ partition, offset: String(offset), metadata: null })),
    }));
  fetchTopicOffsets: LagAdmin['fetchTopicOffsets'] = async (topic) => {
    this.calls.push(`offsets ${topic}`);
    return (this.ends.get(topic) ?? []).map((high, partition) => ({
      partition,
      offset: String(high),
      high: String(high),
      low: '0',
    }));
  };
  fetchTopicMetadata: LagAdmin['fetchTopicMetadata'] = async (options) => {
    const topic = options!.topics[0]!;
    if (!this.ends.has(topic)) throw Object.assign(new Error('unknown topic'), { type: 'UNKNOWN_TOPIC_OR_PARTITION' });
    return { topics: [{ name: topic, partitions: [] }] };
  };
}

function setup(options: { groups?: string[]; maxGroups?: number } = {}) {
  const admin = new FakeAdmin();
  let now = 1_000_000;
  const metrics = createMetrics({ processMetrics: false });
  const monitor = new LagMonitor({
    admin,
    windowSize: 3,
    minCommitDistanceMs: 0,
    metrics: metrics.lag,
    clock: () => now,
    ...options,
  });
  const commit = (offset: number, at: number, partition = 0): OffsetCommit => ({
    group: 'g',
    topic: 't',
    partition,
    offset,
    timestamp: at,
  });
  return { admin, monitor, metrics, commit, setNow: (t: number) => (now = t) };
}

/** Counts admin calls in flight at once: each yields to the event loop before it answers, so overlap shows. */
class OverlapAdmin extends FakeAdmin {
  inFlight = 0;
  maxInFlight = 0;
  constructor() {
    super();
    for (const name of ['listGroups', 'fetchOffsets', 'fetchTopicOffsets', 'fetchTopicMetadata'] as const) {
      const call = this[name] as (...args: unknown[]) => Promise<unknown>;
      (this as Record<string, unknown>)[name] = async (...args: unknown[]) => {
        this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
        try {
          await new Promise((resolve) => setImmediate(resolve));
          return await call(...args);
        } finally {
          this.inFlight--;
        }
      };
    }
  }
}

describe('LagMonitor', () => {
  it('never has two admin calls in flight at once, even with polls and commits at the same time (kafkajs breaks)', async () => {
    const admin = new OverlapAdmin();
    const monitor = new LagMonitor({ admin, windowSize: 3, minCommitDistanceMs: 0, clock: () => 1_000_000 });
    for (const topic of ['a', 'b', 'c']) admin.ends.set(topic, [10, 20]);
    for (const group of ['g1', 'g2']) {
      admin.groupTypes.set(group, 'consumer');
      admin.committed.set(
        group,
        new Map([
          ['a', [1, 2]],
          ['b', [3, 4]],
          ['c', [5, 6]],
        ]),
      );
    }
    const commit = { group: 'g1', topic: 'b', partition: 0, offset: 3, timestamp: 1_000_000 };
    const [first, second] = await Promise.all([monitor.poll(), monitor.poll(), monitor.recordCommits([commit])]);
    assert.equal(admin.maxInFlight, 1);
    assert.equal(first.groups.length, 2);
    assert.deepEqual(
      second.groups.map((g) => g.group),
      ['g1', 'g2'],
    );
  });

  it('an admin call that fails does not stop the ones queued after it', async () => {
    const admin = new OverlapAdmin();
    const monitor = new LagMonitor({ admin, groups: ['g'], windowSize: 3, minCommitDistanceMs: 0, clock: () => 0 });
    admin.ends.set('t', [5]);
    admin.committed.set('g', new Map([['t', [2]]]));
    const answer = admin.fetchOffsets;
    let fail = true; // the first call fails, as a coordinator moving would
    admin.fetchOffsets = async (options) => {
      if (!fail) return answer(options);
      fail = false;
      throw new Error('coordinator not available');
    };
    const failed = monitor.poll();
    await assert.rejects(failed, /coordinator not available/);
    const snapshot = await monitor.poll();
    assert.equal(snapshot.groups[0]!.partitions[0]!.lag, 3);
  });

  it('lag in messages and seconds, and a Burrow status from the commits recorded', async () => {
    const { admin, monitor, commit, setNow } = setup({ groups: ['g'] });
    admin.ends.set('t', [10]);
    admin.committed.set('g', new Map([['t', [4]]]));
    await monitor.recordCommits([commit(4, 1_000_000)]); // end 10 at receipt: lag 6
    setNow(1_010_000);
    admin.ends.set('t', [20]);
    await monitor.recordCommits([commit(4, 1_010_000)]);
    const snapshot = await monitor.poll();
    const [group] = snapshot.groups;
    assert.equal(group!.group, 'g');
    const [p] = group!.partitions;
    assert.equal(p!.lag, 16);
    assert.equal(p!.highWatermark, 20);
    // End offsets seen: 10 at t=1_000_000, 20 at t=1_010_000. Offset 4 is older than the table: extrapolated at
    // 1 offset/s back from offset 10 → produced at 994_000 → 16 s behind at 1_010_000.
    assert.equal(p!.lagSeconds, 16);
    assert.equal(p!.status, 'STALL', 'same offset committed twice with lag');
    assert.equal(group!.status, 'ERR');
    assert.equal(monitor.evaluate(1_030_001).groups[0]!.partitions[0]!.status, 'STOP', '20 s without a commit');
  });

  it('caught up is OK with 0 lag and 0 seconds', async () => {
    const { admin, monitor, commit } = setup({ groups: ['g'] });
    admin.ends.set('t', [5]);
    admin.committed.set('g', new Map([['t', [5]]]));
    await monitor.recordCommits([commit(5, 1_000_000)]);
    const p = (await monitor.poll()).groups[0]!.partitions[0]!;
    assert.deepEqual([p.lag, p.lagSeconds, p.status], [0, 0, 'OK']);
  });

  it('a partition with an offset but no commit in its window is NOTFOUND when lagging', async () => {
    const { admin, monitor } = setup({ groups: ['g'] });
    admin.ends.set('t', [9, 0]);
    admin.committed.set('g', new Map([['t', [3, 0]]]));
    const group = (await monitor.poll()).groups[0]!;
    assert.deepEqual(
      group.partitions.map((p) => [p.partition, p.status]),
      [
        [0, 'NOTFOUND'],
        [1, 'OK'],
      ],
    );
    assert.equal(group.status, 'OK', 'NOTFOUND ranks below OK');
  });

  it('ignores commits of other groups and of deleted topics; counts what it recorded', async () => {
    const { admin, monitor, commit, metrics } = setup({ groups: ['g'] });
    admin.ends.set('t', [10]);
    const recorded = await monitor.recordCommits([
      commit(1, 1),
      { ...commit(2, 2), group: 'other' },
      { ...commit(3, 3), topic: 'gone' },
    ]);
    assert.equal(recorded, 1);
    assert.equal(monitor.commitCount('g', 't', 0), 1);
    assert.ok(!admin.calls.includes('offsets gone'), 'a missing topic is found by metadata, not ListOffsets');
    assert.match(await metrics.registry.metrics(), /^kafka_lag_monitor_commits_read_total 1$/m);
  });

  it('discovers consumer groups by name up to maxGroups, skipping its own readers and non-consumers', async () => {
    const { admin, monitor } = setup({ maxGroups: 2 });
    admin.groupTypes = new Map([
      ['c', 'consumer'],
      ['a', 'consumer'],
      ['b', ''],
      ['parley-lag-123', 'consumer'],
      ['connect-x', 'connect'],
    ]);
    assert.deepEqual(await monitor.refreshGroups(), ['a', 'b']);
    assert.ok(monitor.wants('a') && !monitor.wants('c') && !monitor.wants('parley-lag-123'));
  });

  it('refuses more configured groups than maxGroups', () => {
    assert.throws(() => setup({ groups: ['a', 'b', 'c'], maxGroups: 2 }), /more than maxGroups/);
  });

  it('exports the snapshot as metrics, replacing the previous series', async () => {
    const { admin, monitor, commit, metrics } = setup({ groups: ['g'] });
    admin.ends.set('t', [10, 10]);
    admin.committed.set('g', new Map([['t', [4, 10]]]));
    await monitor.recordCommits([commit(4, 1_000_000, 0), commit(10, 1_000_000, 1)]);
    await monitor.poll();
    let text = await metrics.registry.metrics();
    assert.match(text, /^kafka_consumer_lag\{group="g",topic="t",partition="0"\} 6$/m);
    assert.match(text, /^kafka_consumer_lag\{group="g",topic="t",partition="1"\} 0$/m);
    assert.match(text, /^kafka_consumer_partition_status\{group="g",topic="t",partition="0"\} 5$/m, 'STALL = 5');
    assert.match(text, /^kafka_consumer_group_status\{group="g"\} 3$/m, 'ERR = 3');
    assert.match(text, /^kafka_consumer_group_total_lag\{group="g"\} 6$/m);
    assert.match(text, /^kafka_lag_monitor_polls_total\{result="ok"\} 1$/m);
    admin.committed.set('g', new Map());
    await monitor.poll();
    text = await metrics.registry.metrics();
    assert.doesNotMatch(text, /^kafka_consumer_lag\{/m, 'no partitions, no per-partition series');
  });

  it('caps per-partition series per group, keeping the partitions furthest behind', async () => {
    const admin = new FakeAdmin();
    const metrics = createMetrics({ processMetrics: false, lagPartitionSeriesMax: 2 });
    const monitor = new LagMonitor({ admin, groups: ['g'], metrics: metrics.lag });
    admin.ends.set('t', [10, 10, 10, 10]);
    admin.committed.set('g', new Map([['t', [9, 1, 5, 8]]]));
    await monitor.poll();
    const text = await metrics.registry.metrics();
    const partitions = [...text.matchAll(/^kafka_consumer_lag\{.*partition="(\d)"\}/gm)].map((m) => m[1]);
    assert.deepEqual(partitions.sort(), ['1', '2']);
    assert.match(text, /^kafka_consumer_group_partitions\{group="g"\} 4$/m, 'group series still count all four');
  });

  it('waitForCommit resolves on a later commit of the offset, not on the one already recorded', async () => {
    const { admin, monitor, commit } = setup({ groups: ['g'] });
    admin.ends.set('t', [10]);
    await monitor.recordCommits([commit(4, 1)]);
    await monitor.waitForCommit({ group: 'g', topic: 't', partition: 0, offset: 4 }); // already there
    const after = monitor.commitCount('g', 't', 0);
    let resolved = false;
    const waiting = monitor
      .waitForCommit({ group: 'g', topic: 't', partition: 0, offset: 4 }, { after })
      .then(() => (resolved = true));
    await monitor.recordCommits([commit(5, 2)]);
    assert.equal(resolved, false, 'another offset does not count');
    await monitor.recordCommits([commit(4, 3)]);
    await waiting;
    await assert.rejects(
      monitor.waitForCommit({ group: 'g', topic: 't', partition: 0, offset: 99 }, { timeoutMs: 10 }),
      /no commit/,
    );
  });
});
