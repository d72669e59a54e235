/**
 * What a task needs from a state store, whatever state/ builds underneath: the typed store processors use,
 * and the hooks the commit protocol drives (changelog records out, flush after commit, discard after abort,
 * restore from the changelog).
 */
import type { StoreSpec } from '../model.ts';
import type { KeyValueStore } from '../../state/types.ts';

export interface ChangelogEntry {
  key: Buffer;
  value: Buffer | null;
}

export interface TaskStore {
  readonly spec: StoreSpec;
  readonly store: KeyValueStore<unknown, unknown>;
  /** Changelog offset (of this task's partition) the local store already reflects. */
  readonly restoreFrom: number;
  pendingChangelog(): Promise<ChangelogEntry[]>;
  /** After the transaction holding the pending changelog committed; `checkpoint` = offset to restore from. */
  flush(checkpoint: number): Promise<void>;
  /** After an aborted transaction: forget the pending writes. */
  discard(): void;
  restore(records: ChangelogEntry[]): Promise<void>;
  close(): Promise<void>;
}

export type StoreOpener = (spec: StoreSpec, taskId: string, partition: number) => Promise<TaskStore>;
