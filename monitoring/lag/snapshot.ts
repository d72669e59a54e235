/** What one evaluation of the lag monitor says: per group, per partition. Plain data (JSON for `parley lag`). */
import type { GroupStatus, PartitionStatus } from './burrow.ts';

export interface PartitionLag {
  topic: string;
  partition: number;
  /** The group's committed offset (the next offset it will read). */
  committed: number;
  /** The partition's end (the last stable offset, as kafkajs's admin lists offsets read_committed). */
  highWatermark: number;
  /** Messages behind: highWatermark − committed, never negative. */
  lag: number;
  /** Seconds behind, interpolated from sampled high watermarks; undefined before any sample. */
  lagSeconds: number | undefined;
  status: PartitionStatus;
  /** Commits in the partition's window, and the times (ms) of its first and last: Burrow's STOP compares them. */
  commits: number;
  firstCommitAt: number | undefined;
  lastCommitAt: number | undefined;
}

export interface GroupLag {
  group: string;
  status: GroupStatus;
  totalLag: number;
  maxLagSeconds: number;
  /** Fraction of partitions whose window is full (Burrow's `complete`). */
  complete: number;
  partitions: PartitionLag[];
}

export interface LagSnapshot {
  /** Wall time (ms) of the evaluation. */
  at: number;
  groups: GroupLag[];
}
