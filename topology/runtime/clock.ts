/**
 * Wall-clock time for punctuators and idle timeouts. The runtime never reads Date.now() directly: the test
 * driver and the simulator move a manual clock themselves.
 */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export class ManualClock implements Clock {
  constructor(private time = 0) {}

  now(): number {
    return this.time;
  }

  advance(ms: number): number {
    if (ms < 0) throw new RangeError(`a clock cannot go back (advance by ${ms} ms)`);
    this.time += ms;
    return this.time;
  }
}
