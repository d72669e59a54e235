/**
 * A running lag monitor: the monitor, its `__consumer_offsets` reader, and (optionally) a poll timer that keeps
 * the exported metrics current. `parley lag` and a Parley process that exports lag both start it here.
 */
import type { Admin, Kafka } from 'kafkajs';
import { CommitReader } from './commit-reader.ts';
import { LagMonitor, type LagAdmin, type LagMonitorOptions } from './monitor.ts';
import type { LagSnapshot } from './snapshot.ts';

export interface StartLagMonitorOptions extends Omit<LagMonitorOptions, 'admin'> {
  kafka: Kafka;
  /** Poll (and export) every `intervalMs`; default 0: the caller calls poll(). */
  intervalMs?: number;
  /** Errors of background work: timer polls, undecodable commit records, a crashed reader. */
  onError?(error: Error): void;
  /** Longest wait for the reader to catch up with `__consumer_offsets` at start; default 60 s. */
  catchUpTimeoutMs?: number;
}

export interface RunningLagMonitor {
  readonly monitor: LagMonitor;
  poll(): Promise<LagSnapshot>;
  stop(): Promise<void>;
}

/**
 * kafkajs's admin remembers every topic it listed offsets for and refreshes their metadata with every later call;
 * once one of them is deleted, each refresh fails with UNKNOWN_TOPIC_OR_PARTITION (kafkajs cluster/index.js,
 * targetTopics). A long-running monitor sees topics come and go, so on that error this admin starts afresh
 * with a new client and tries once more.
 */
export class RenewingAdmin implements LagAdmin {
  #admin: Admin;

  private constructor(
    private readonly kafka: Kafka,
    admin: Admin,
  ) {
    this.#admin = admin;
  }

  static async connect(kafka: Kafka): Promise<RenewingAdmin> {
    const admin = kafka.admin();
    await admin.connect();
    return new RenewingAdmin(kafka, admin);
  }

  async #call<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
    try {
      return await fn(this.#admin);
    } catch (error) {
      if ((error as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error;
      const stale = this.#admin;
      this.#admin = this.kafka.admin();
      await this.#admin.connect();
      await stale.disconnect().catch(() => undefined);
      return fn(this.#admin);
    }
  }

  listGroups: Admin['listGroups'] = () => this.#call((a) => a.listGroups());
  fetchOffsets: Admin['fetchOffsets'] = (options) => this.#call((a) => a.fetchOffsets(options));
  fetchTopicOffsets: Admin['fetchTopicOffsets'] = (topic) => this.#call((a) => a.fetchTopicOffsets(topic));
  // Not renewed: a missing topic's UNKNOWN_TOPIC_OR_PARTITION is the answer the monitor asks for here.
  fetchTopicMetadata: Admin['fetchTopicMetadata'] = (options) => this.#admin.fetchTopicMetadata(options);

  disconnect(): Promise<void> {
    return this.#admin.disconnect();
  }
}

export async function startLagMonitor(options: StartLagMonitorOptions): Promise<RunningLagMonitor> {
  const { kafka, intervalMs = 0, onError = () => undefined, catchUpTimeoutMs, ...monitorOptions } = options;
  const admin = await RenewingAdmin.connect(kafka);
  const monitor = new LagMonitor({ ...monitorOptions, admin });
  let reader: CommitReader | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    await monitor.refreshGroups();
    reader = new CommitReader({
      kafka,
      admin,
      ...(options.groups ? { groups: options.groups } : {}),
      ...(catchUpTimeoutMs !== undefined ? { catchUpTimeoutMs } : {}),
      onCommits: (commits) => monitor.recordCommits(commits),
      onError,
    });
    await reader.start();
  } catch (error) {
    await reader?.stop().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    throw error;
  }
  let polling: Promise<LagSnapshot> | undefined;
  // Overlapping polls would sample out of order; a slow poll makes the next tick reuse it instead.
  const poll = (): Promise<LagSnapshot> => {
    polling ??= monitor.poll().finally(() => (polling = undefined));
    return polling;
  };
  if (intervalMs > 0) {
    timer = setInterval(() => poll().catch(onError), intervalMs);
    timer.unref();
  }
  return {
    monitor,
    poll,
    async stop() {
      if (timer) clearInterval(timer);
      await polling?.catch(() => undefined);
      await reader?.stop().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    },
  };
}
