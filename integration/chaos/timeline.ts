/**
 * What a chaos test reports about a run: its own fault steps and chosen lines of the processes' output, each
 * with the seconds since the run began, so the diagnostics show what happened when (an election, a lease lost,
 * a process restarted). PARLEY_CHAOS_LOG=<file> also appends every process's whole output there, timestamped.
 */
import { appendFileSync } from 'node:fs';

export class Timeline {
  readonly #start = Date.now();
  readonly #events: string[] = [];
  readonly #patterns: RegExp[];
  readonly #logFile = process.env['PARLEY_CHAOS_LOG'];

  /** `patterns`: the process output lines worth a place in the timeline. */
  constructor(patterns: RegExp[] = []) {
    this.#patterns = patterns;
  }

  #at(): string {
    return `${((Date.now() - this.#start) / 1000).toFixed(1).padStart(6)} s`;
  }

  /** A step of the test itself. */
  mark(what: string): void {
    this.#events.push(`${this.#at()}  ${what}`);
  }

  /** For runConsensusScenario's `onOutput`. */
  readonly onOutput = (instance: string, text: string): void => {
    const at = this.#at();
    for (const line of text.split('\n')) {
      if (line === '') continue;
      if (this.#logFile) appendFileSync(this.#logFile, `${at} [${instance}] ${line}\n`);
      if (this.#patterns.some((p) => p.test(line))) this.#events.push(`${at}  [${instance}] ${line}`);
    }
  };

  get events(): readonly string[] {
    return this.#events;
  }

  /** Events whose text matches `pattern`; only those after the first event matching `after`, when given. */
  matching(pattern: RegExp, after?: RegExp): string[] {
    const from = after ? this.#events.findIndex((e) => after.test(e)) : 0;
    return from < 0 ? [] : this.#events.slice(from).filter((e) => pattern.test(e));
  }
}
