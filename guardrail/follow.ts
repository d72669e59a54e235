/**
 * Read-then-watch with resynchronisation, shared by the config and liveness watches. A snapshot read gives the
 * state and the store revision; the watch starts at the next revision, so no change falls between the two. When
 * the watch breaks for good (etcd3 already resumes dropped streams itself), the follower reports the error, takes
 * a new snapshot and watches again, with a bounded backoff, until it is closed.
 */
import type { Clock, TimerHandle } from './clock.ts';
import { GuardrailError } from './errors.ts';
import type { KvDriver, KvEntry, KvEvent, KvWatch } from './kv.ts';

export interface FollowHandlers {
  /** The state at `revision`; called first and again after every resynchronisation. */
  onSnapshot(entries: KvEntry[], revision: number): void;
  onEvents(events: KvEvent[]): void;
  onError(error: GuardrailError): void;
}

const resyncBackoffMs = [100, 250, 500, 1_000, 2_000];

export class Follower {
  private watch: KvWatch | undefined;
  private closed = false;
  private failures = 0;
  private timer: TimerHandle | undefined;
  /** Bumped when a watch breaks, so late events of the old watch are ignored. */
  private generation = 0;

  constructor(
    private readonly kv: KvDriver,
    private readonly clock: Clock,
    private readonly key: string,
    private readonly prefix: boolean,
    private readonly handlers: FollowHandlers,
  ) {}

  /** Resolves after the first snapshot was delivered and the watch is in place. */
  async start(): Promise<void> {
    const read = this.prefix ? await this.kv.range(this.key) : await this.kv.get(this.key);
    if (this.closed) return;
    this.handlers.onSnapshot(read.entries, read.revision);
    const generation = ++this.generation;
    const watch = await this.kv.watch(this.key, this.prefix, read.revision + 1, {
      onEvents: (events) => {
        if (generation !== this.generation || this.closed) return;
        this.failures = 0;
        this.handlers.onEvents(events);
      },
      onError: (error) => {
        if (generation === this.generation) this.broken(error);
      },
    });
    if (this.closed || generation !== this.generation) await watch.cancel();
    else this.watch = watch;
  }

  private broken(error: Error): void {
    if (this.closed) return;
    this.generation++;
    const old = this.watch;
    this.watch = undefined;
    void old?.cancel();
    this.handlers.onError(
      new GuardrailError('UNAVAILABLE', `watch on ${this.key} broke (${error.message}); resynchronising`, true, {
        cause: error,
      }),
    );
    const wait = resyncBackoffMs[Math.min(this.failures++, resyncBackoffMs.length - 1)]!;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.start().catch((e: Error) => this.broken(e));
    }, wait);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    const watch = this.watch;
    this.watch = undefined;
    await watch?.cancel();
  }
}
