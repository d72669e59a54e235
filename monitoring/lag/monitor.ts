/**
 * The consumer-lag monitor: committed offsets against end offsets through the kafkajs admin (OffsetFetch and
 * ListOffsets, like kafka-lag-exporter and KMinion), lag in messages and in seconds (time-lag.ts), and a Burrow
 * status per partition and group (burrow.ts) over the window of commits that commit-reader.ts feeds in from
 * `__consumer_offsets`.
 *
 * This class holds the state and does the arithmetic; it does no timing of its own: `poll()` samples and
 * evaluates once, `recordCommits()` takes commits as the reader delivers them, `evaluate(now)` judges at any
 * time (tests pass `now` to judge a window deterministically). `startLagMonitor` (start.ts) wires it to a reader.
 *
 * Memory is bounded: at most `maxGroups` groups (the configured ones, or the first by name of those the broker
 * lists), one window of `windowSize` commits per partition they committed, one lookup table of
 * `lookupTableSize` points per partition of their topics; state of groups and topics no longer seen is dropped.
 */
import type { Admin } from 'kafkajs';
import { CommitWindow, evaluateGroup, evaluatePartition } from './burrow.ts';
import type { LagMetrics } from './metrics.ts';
import type { OffsetCommit } from './offsets-topic.ts';
import type { GroupLag, LagSnapshot, PartitionLag } from './snapshot.ts';
import { LookupTable } from './time-lag.ts';

export type LagAdmin = Pick<Admin, 'listGroups' | 'fetchOffsets' | 'fetchTopicOffsets' | 'fetchTopicMetadata'>;

export const lagMonitorDefaults = {
  /** Burrow's `intervals`: commits per partition window. */
  windowSize: 10,
  /** Burrow's `min-distance`: a commit closer than this to the previous one replaces it. */
  minCommitDistanceMs: 1000,
  /** kafka-lag-exporter's lookup table size. */
  lookupTableSize: 60,
  maxGroups: 100,
  /** Groups that are tooling, not consumers: our own readers and kafkajs's throwaway range readers. */
  ignoreGroupPrefixes: ['parley-lag-'] as readonly string[],
};

export interface LagMonitorOptions {
  admin: LagAdmin;
  /** Groups to monitor; default: every consumer group the broker lists (up to `maxGroups`, by name). */
  groups?: readonly string[];
  windowSize?: number;
  minCommitDistanceMs?: number;
  lookupTableSize?: number;
  maxGroups?: number;
  ignoreGroupPrefixes?: readonly string[];
  metrics?: LagMetrics;
  clock?: () => number;
}

interface PartitionState {
  topic: string;
  partition: number;
  window: CommitWindow;
  /** Commits recorded so far (including those the window has since dropped or merged). */
  recorded: number;
  committed?: number;
  lastCommitAt?: number;
}

interface TopicPartitionEnd {
  table: LookupTable;
  end: number;
}

interface Waiter {
  matches(commit: OffsetCommit): boolean;
  resolve(): void;
}

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export class LagMonitor {
  readonly #options: Required<Omit<LagMonitorOptions, 'groups' | 'metrics'>> & Pick<LagMonitorOptions, 'metrics'>;
  readonly #configured: readonly string[] | undefined;
  #tracked = new Set<string>();
  readonly #groups = new Map<string, Map<string, PartitionState>>();
  readonly #topics = new Map<string, Map<number, TopicPartitionEnd>>();
  readonly #waiters = new Set<Waiter>();

  constructor(options: LagMonitorOptions) {
    this.#options = {
      windowSize: lagMonitorDefaults.windowSize,
      minCommitDistanceMs: lagMonitorDefaults.minCommitDistanceMs,
      lookupTableSize: lagMonitorDefaults.lookupTableSize,
      maxGroups: lagMonitorDefaults.maxGroups,
      ignoreGroupPrefixes: lagMonitorDefaults.ignoreGroupPrefixes,
      clock: Date.now,
      ...options,
    };
    if (options.groups) {
      if (options.groups.length > this.#options.maxGroups) {
        throw new Error(`${options.groups.length} groups to monitor, more than maxGroups (${this.#options.maxGroups})`);
      }
      this.#configured = [...new Set(options.groups)].sort();
      this.#tracked = new Set(this.#configured);
    }
  }

  /** The tail of the admin calls in flight: each waits for the one before (see #serial). */
  #adminQueue: Promise<unknown> = Promise.resolve();

  /**
   * Runs admin calls one at a time, in the order they were asked for. kafkajs's admin keeps one set of target
   * topics and one metadata cache per cluster: two `fetchTopicOffsets` (or a metadata fetch beside one) in flight
   * at once can make one of them find no partitions and throw inside kafkajs ("Cannot destructure property
   * 'partitions' of 'low.pop(...)' as it is undefined") — `parley lag` did under load, and `--watch` after two
   * polls (issue #11). A poll asks for a few dozen offsets at most: one at a time costs milliseconds.
   */
  #serial<T>(call: () => Promise<T>): Promise<T> {
    const run = this.#adminQueue.then(call, call);
    this.#adminQueue = run.catch(() => undefined);
    return run;
  }

  /** The groups being monitored (after the last discovery). */
  groups(): string[] {
    return [...this.#tracked].sort();
  }

  wants(group: string): boolean {
    return this.#tracked.has(group);
  }

  /** Lists the broker's consumer groups when none were configured; drops state of groups that are gone. */
  async refreshGroups(): Promise<string[]> {
    if (!this.#configured) {
      const { groups } = await this.#serial(() => this.#options.admin.listGroups());
      const ignored = (id: string) => this.#options.ignoreGroupPrefixes.some((prefix) => id.startsWith(prefix));
      // Groups with only admin-committed offsets list with an empty protocol type; other types are not consumers.
      const consumers = groups
        .filter((g) => (g.protocolType === 'consumer' || g.protocolType === '') && !ignored(g.groupId))
        .map((g) => g.groupId)
        .sort();
      this.#tracked = new Set(consumers.slice(0, this.#options.maxGroups));
    }
    for (const group of this.#groups.keys()) if (!this.#tracked.has(group)) this.#groups.delete(group);
    return this.groups();
  }

  /** Adds commits (from __consumer_offsets) to their partitions' windows; commits of other groups are ignored. */
  async recordCommits(commits: readonly OffsetCommit[]): Promise<number> {
    const wanted = commits.filter((c) => this.wants(c.group));
    if (wanted.length === 0) return 0;
    // Burrow's "lag at receipt": the end offset as of now, so it is sampled before the commits are added.
    await this.#sampleEnds(new Set(wanted.map((c) => c.topic)), this.#options.clock());
    let recorded = 0;
    for (const commit of wanted) {
      const end = this.#topics.get(commit.topic)?.get(commit.partition)?.end;
      if (end === undefined) continue; // the topic is gone (deleted since): nothing to measure against
      const state = this.#partition(commit.group, commit.topic, commit.partition);
      state.window.add(commit.offset, commit.timestamp, end);
      state.recorded++;
      if (state.lastCommitAt === undefined || commit.timestamp >= state.lastCommitAt) {
        state.committed = commit.offset;
        state.lastCommitAt = commit.timestamp;
      }
      recorded++;
      for (const waiter of this.#waiters) {
        if (waiter.matches(commit)) {
          this.#waiters.delete(waiter);
          waiter.resolve();
        }
      }
    }
    this.#options.metrics?.commitsRead(recorded);
    return recorded;
  }

  /** Samples committed and end offsets of every monitored group, evaluates, exports, returns the snapshot. */
  async poll(): Promise<LagSnapshot> {
    try {
      await this.refreshGroups();
      const groups = this.groups();
      const offsets = await Promise.all(
        groups.map((groupId) => this.#serial(() => this.#options.admin.fetchOffsets({ groupId }))),
      );
      const topics = new Set(offsets.flatMap((byTopic) => byTopic.map((t) => t.topic)));
      await this.#sampleEnds(topics, this.#options.clock());
      groups.forEach((group, i) => {
        for (const { topic, partitions } of offsets[i]!) {
          for (const { partition, offset } of partitions) {
            const committed = Number(offset);
            if (committed < 0) continue; // -1: no offset committed for this partition
            this.#partition(group, topic, partition).committed = committed;
          }
        }
      });
      for (const topic of this.#topics.keys()) if (!topics.has(topic)) this.#topics.delete(topic);
    } catch (error) {
      this.#options.metrics?.polled(false);
      throw error;
    }
    this.#options.metrics?.polled(true);
    const snapshot = this.evaluate();
    this.#options.metrics?.export(snapshot);
    return snapshot;
  }

  /** Judges every monitored group at `now` from the state gathered so far (pure over that state). */
  evaluate(now: number = this.#options.clock()): LagSnapshot {
    const groups: GroupLag[] = [];
    for (const group of this.groups()) {
      const partitions: PartitionLag[] = [];
      for (const state of this.#groups.get(group)?.values() ?? []) {
        const lag = this.#partitionLag(state, now);
        if (lag) partitions.push(lag);
      }
      partitions.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
      const full = partitions.filter((p) => p.commits >= this.#options.windowSize).length;
      groups.push({
        group,
        status: evaluateGroup(partitions.map((p) => p.status)),
        totalLag: partitions.reduce((sum, p) => sum + p.lag, 0),
        maxLagSeconds: Math.max(0, ...partitions.map((p) => p.lagSeconds ?? 0)),
        complete: partitions.length === 0 ? 0 : full / partitions.length,
        partitions,
      });
    }
    return { at: now, groups };
  }

  /** Commits recorded so far for the partition: a cursor for `waitForCommit`. */
  commitCount(group: string, topic: string, partition: number): number {
    return this.#groups.get(group)?.get(tpKey(topic, partition))?.recorded ?? 0;
  }

  /**
   * Resolves once the partition's commit number `after + 1` or later, of `offset`, has been recorded (the reader
   * sees commits a moment after the broker wrote them: tests wait here instead of sleeping).
   */
  waitForCommit(
    target: { group: string; topic: string; partition: number; offset: number },
    options: { after?: number; timeoutMs?: number } = {},
  ): Promise<void> {
    const after = options.after ?? 0;
    const timeoutMs = options.timeoutMs ?? 30_000;
    const state = this.#groups.get(target.group)?.get(tpKey(target.topic, target.partition));
    if (state && state.recorded > after && state.window.entries().at(-1)?.offset === target.offset) {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`no commit ${JSON.stringify(target)} after #${after} recorded within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        matches: (c) =>
          c.group === target.group &&
          c.topic === target.topic &&
          c.partition === target.partition &&
          c.offset === target.offset &&
          this.commitCount(c.group, c.topic, c.partition) > after,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.#waiters.add(waiter);
    });
  }

  #partition(group: string, topic: string, partition: number): PartitionState {
    let partitions = this.#groups.get(group);
    if (!partitions) {
      partitions = new Map();
      this.#groups.set(group, partitions);
    }
    const key = tpKey(topic, partition);
    let state = partitions.get(key);
    if (!state) {
      const window = new CommitWindow(this.#options.windowSize, this.#options.minCommitDistanceMs);
      state = { topic, partition, window, recorded: 0 };
      partitions.set(key, state);
    }
    return state;
  }

  #partitionLag(state: PartitionState, now: number): PartitionLag | undefined {
    const end = this.#topics.get(state.topic)?.get(state.partition);
    if (state.committed === undefined || !end) return undefined;
    const lag = Math.max(0, end.end - state.committed);
    return {
      topic: state.topic,
      partition: state.partition,
      committed: state.committed,
      highWatermark: end.end,
      lag,
      lagSeconds: end.table.lagSeconds(state.committed, now),
      status: evaluatePartition(state.window.entries(), lag, now),
      commits: state.window.entries().length,
      firstCommitAt: state.window.entries()[0]?.timestamp,
      lastCommitAt: state.lastCommitAt,
    };
  }

  /** Samples the end offset of every partition of `topics` that exists; other topics are left unsampled. */
  async #sampleEnds(topics: ReadonlySet<string>, now: number): Promise<void> {
    const admin = this.#options.admin;
    // kafkajs retries ListOffsets of a missing topic for seconds: ask metadata first, which answers at once.
    const exists = await Promise.all(
      [...topics].map((topic) =>
        this.#serial(() => admin.fetchTopicMetadata({ topics: [topic] })).then(
          () => topic,
          (error: { type?: string }) => {
            if (error.type === 'UNKNOWN_TOPIC_OR_PARTITION') return undefined;
            throw error;
          },
        ),
      ),
    );
    const present = exists.filter((t): t is string => t !== undefined);
    const ends = await Promise.all(present.map((topic) => this.#serial(() => admin.fetchTopicOffsets(topic))));
    present.forEach((topic, i) => {
      const partitions = this.#topics.get(topic) ?? new Map<number, TopicPartitionEnd>();
      this.#topics.set(topic, partitions);
      for (const { partition, high } of ends[i]!) {
        const end = Number(high);
        let state = partitions.get(partition);
        if (!state) {
          state = { table: new LookupTable(this.#options.lookupTableSize), end };
          partitions.set(partition, state);
        }
        state.end = end;
        state.table.add(end, now);
      }
    });
    for (const topic of topics) if (!present.includes(topic)) this.#topics.delete(topic);
  }
}
