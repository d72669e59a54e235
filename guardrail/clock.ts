/**
 * Time as an injected dependency: the in-process guardrail's leases and the mode policy's windows read this
 * clock, so the simulator and tests decide when time passes (STYLE.md §1). `systemClock` is the real one.
 */
export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

const realTimers = new Map<number, NodeJS.Timeout>();
let nextRealId = 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const id = nextRealId++;
    const timer = setTimeout(() => {
      realTimers.delete(id);
      fn();
    }, ms);
    timer.unref?.();
    realTimers.set(id, timer);
    return { id };
  },
  clearTimeout(handle) {
    clearTimeout(realTimers.get(handle.id));
    realTimers.delete(handle.id);
  },
};

interface Pending {
  id: number;
  at: number;
  fn: () => void;
}

/** A clock that moves only when told. Timers due at the same instant run in the order they were set. */
export class ManualClock implements Clock {
  private time: number;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(startMs = 0) {
    this.time = startMs;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.pending.set(id, { id, at: this.time + Math.max(0, ms), fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.pending.delete(handle.id);
  }

  /** Timers not yet run. */
  get timerCount(): number {
    return this.pending.size;
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way, at its own instant. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.pending.values()) if (p.at <= until && (!next || p.at < next.at)) next = p;
      if (!next) break;
      this.pending.delete(next.id);
      this.time = Math.max(this.time, next.at);
      next.fn();
    }
    this.time = until;
  }
}
