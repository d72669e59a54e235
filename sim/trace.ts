/**
 * The last events of a run, for the report of a failing seed: a ring buffer (shifting a 400-entry array per event
 * cost more than some protocol steps). Batch runs record nothing — callers write `trace?.add(...)`, so not even the
 * text is built — and replay a failing seed with a trace, which determinism makes identical (issue #7).
 */
export class Trace {
  readonly #lines: string[] = [];
  #next = 0;

  constructor(readonly capacity = 400) {}

  add(time: number, event: string): void {
    const line = `${time}: ${event}`;
    if (this.#lines.length < this.capacity) this.#lines.push(line);
    else this.#lines[this.#next] = line;
    this.#next = (this.#next + 1) % this.capacity;
  }

  /** Oldest first. */
  lines(): string[] {
    if (this.#lines.length < this.capacity) return [...this.#lines];
    return [...this.#lines.slice(this.#next), ...this.#lines.slice(0, this.#next)];
  }
}
