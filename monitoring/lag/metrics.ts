/**
 * The lag monitor's export. Names follow DESIGN.md §7 (`kafka_consumer_lag`, `kafka_consumer_lag_seconds`) with
 * {group, topic, partition} labels; statuses are numbers in Burrow's enum order (burrow.ts `statusOrder`:
 * 0 NOTFOUND, 1 OK, 2 WARN, 3 ERR, 4 STOP, 5 STALL, 6 REWIND), as Burrow's own Prometheus endpoint does.
 *
 * Cardinality: groups are capped by the monitor (`maxGroups`); per group, at most `maxPartitionSeries`
 * partitions get per-partition series — the ones furthest behind — while the group-level series
 * (`kafka_consumer_group_*`) always cover every partition. Every export replaces the previous one, so a group
 * or partition that disappears leaves no stale series.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { statusCode } from './burrow.ts';
import type { LagSnapshot, PartitionLag } from './snapshot.ts';

export interface LagMetrics {
  /** Replaces every lag series with the snapshot's. */
  export(snapshot: LagSnapshot): void;
  polled(ok: boolean): void;
  commitsRead(count: number): void;
}

export interface LagMetricsOptions {
  registry: Registry;
  /** Per group, the partitions with per-partition series (default 100). */
  maxPartitionSeries: number;
}

const partitionLabels = ['group', 'topic', 'partition'] as const;

function lagFamilies(registry: Registry) {
  const registers = [registry];
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Gauge({ name, help, labelNames, registers });
  const lag = gauge('kafka_consumer_lag', 'Messages behind: end offset minus committed offset.', partitionLabels);
  const lagSeconds = gauge(
    'kafka_consumer_lag_seconds',
    'Seconds behind, interpolated from sampled (end offset, time) points as kafka-lag-exporter does.',
    partitionLabels,
  );
  const committed = gauge('kafka_consumer_committed_offset', 'The group’s committed offset.', partitionLabels);
  const partitionStatus = gauge(
    'kafka_consumer_partition_status',
    'Burrow status of the partition: 0 NOTFOUND, 1 OK, 2 WARN, 4 STOP, 5 STALL, 6 REWIND.',
    partitionLabels,
  );
  const groupStatus = gauge(
    'kafka_consumer_group_status',
    'Burrow status of the group (worst partition, capped at ERR): 0 NOTFOUND, 1 OK, 2 WARN, 3 ERR.',
    ['group'],
  );
  const totalLag = gauge('kafka_consumer_group_total_lag', 'Messages behind, summed over partitions.', ['group']);
  const maxLagSeconds = gauge(
    'kafka_consumer_group_max_lag_seconds',
    'Seconds behind of the partition furthest behind.',
    ['group'],
  );
  const complete = gauge(
    'kafka_consumer_group_window_complete_ratio',
    'Fraction of partitions whose commit window is full (statuses from partial windows are less certain).',
    ['group'],
  );
  const partitions = gauge('kafka_consumer_group_partitions', 'Partitions the group has offsets for.', ['group']);
  const polls = new Counter({
    name: 'kafka_lag_monitor_polls_total',
    help: 'Lag monitor polls, by result.',
    labelNames: ['result'] as const,
    registers,
  });
  const commits = new Counter({
    name: 'kafka_lag_monitor_commits_read_total',
    help: 'Offset commits read from __consumer_offsets for the monitored groups.',
    registers,
  });
  return {
    lag,
    lagSeconds,
    committed,
    partitionStatus,
    groupStatus,
    totalLag,
    maxLagSeconds,
    complete,
    partitions,
    polls,
    commits,
  };
}

export function createLagMetrics(options: LagMetricsOptions): LagMetrics {
  const {
    lag,
    lagSeconds,
    committed,
    partitionStatus,
    groupStatus,
    totalLag,
    maxLagSeconds,
    complete,
    partitions,
    polls,
    commits,
  } = lagFamilies(options.registry);
  const perPartition = [lag, lagSeconds, committed, partitionStatus];
  const perGroup = [groupStatus, totalLag, maxLagSeconds, complete, partitions];

  const worstFirst = (a: PartitionLag, b: PartitionLag) =>
    (b.lagSeconds ?? 0) - (a.lagSeconds ?? 0) || b.lag - a.lag || a.topic.localeCompare(b.topic);

  return {
    export(snapshot) {
      for (const family of [...perPartition, ...perGroup]) family.reset();
      for (const g of snapshot.groups) {
        const group = g.group;
        groupStatus.set({ group }, statusCode(g.status));
        totalLag.set({ group }, g.totalLag);
        maxLagSeconds.set({ group }, g.maxLagSeconds);
        complete.set({ group }, g.complete);
        partitions.set({ group }, g.partitions.length);
        for (const p of [...g.partitions].sort(worstFirst).slice(0, options.maxPartitionSeries)) {
          const labels = { group, topic: p.topic, partition: String(p.partition) };
          lag.set(labels, p.lag);
          if (p.lagSeconds !== undefined) lagSeconds.set(labels, p.lagSeconds);
          committed.set(labels, p.committed);
          partitionStatus.set(labels, statusCode(p.status));
        }
      }
    },
    polled(ok) {
      polls.inc({ result: ok ? 'ok' : 'error' });
    },
    commitsRead(count) {
      commits.inc(count);
    },
  };
}
