/**
 * Progress and the final agreement check of the embedded run, fed by the consensus observer.
 */
import type { ConsensusObserver } from '../../processors/observer.ts';
import type { GeneratedProposal } from './workload.ts';

const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

export class Progress {
  sent = 0;
  committedCommands = 0;
  fastInstances = 0;
  slowInstances = 0;
  readonly latencies: number[] = [];
  /** key → proposal ids by position, as the resolution stage ordered them. */
  readonly ordered = new Map<string, string[]>();
  /** agent → key → proposal ids by position, as applied. */
  readonly applied = new Map<string, Map<string, string[]>>();
  readonly #started = Date.now();
  #lastOrdered = 0;
  #lastPrint = Date.now();

  constructor(
    readonly total: number,
    readonly agents: string[],
  ) {
    for (const agent of agents) this.applied.set(agent, new Map());
  }

  readonly observer: ConsensusObserver = {
    committed: (_replica, fast, commands, latencies) => {
      this.committedCommands += commands;
      if (fast) this.fastInstances++;
      else this.slowInstances++;
      this.latencies.push(...latencies);
    },
    ordered: (key, position, proposalId) => setAt(this.ordered, key, position, proposalId),
    applied: (agent, key, position, proposalId) => setAt(this.applied.get(agent)!, key, position, proposalId),
  };

  orderedDecisions(): number {
    let n = 0;
    for (const ids of this.ordered.values()) n += ids.filter(Boolean).length;
    return n;
  }

  finished(): boolean {
    const orderedProposals = new Set([...this.ordered.values()].flat()).size;
    if (orderedProposals < this.total) return false;
    const expected = this.orderedDecisions();
    return this.agents.every(
      (a) => [...this.applied.get(a)!.values()].reduce((n, ids) => n + ids.filter(Boolean).length, 0) >= expected,
    );
  }

  fastRatio(): number {
    const instances = this.fastInstances + this.slowInstances;
    return instances === 0 ? 0 : this.fastInstances / instances;
  }

  print(final = false): void {
    const now = Date.now();
    const ordered = this.orderedDecisions();
    const rate = ((ordered - this.#lastOrdered) * 1000) / Math.max(1, now - this.#lastPrint);
    this.#lastOrdered = ordered;
    this.#lastPrint = now;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    process.stderr.write(
      `${final ? '■' : '…'} sent ${this.sent}/${this.total}  committed ${this.committedCommands}  ordered ${ordered} ` +
        `(${Math.round(rate)}/s)  fast path ${(this.fastRatio() * 100).toFixed(1)}%  ` +
        `commit p50 ${percentile(sorted, 50)} ms p99 ${percentile(sorted, 99)} ms\n`,
    );
  }

  summary(): string {
    const seconds = (Date.now() - this.#started) / 1000;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return [
      `✔ ${this.total} proposals committed and ordered once each; ${this.agents.length} agents applied every decision in one order per key`,
      `  ${(this.total / seconds).toFixed(0)} decisions/s over ${seconds.toFixed(1)} s; fast path ${(this.fastRatio() * 100).toFixed(1)}% of ${this.fastInstances + this.slowInstances} instances; commit latency p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms`,
    ].join('\n');
  }
}

function setAt(map: Map<string, string[]>, key: string, position: number, id: string): void {
  const ids = map.get(key) ?? [];
  ids[position - 1] = id;
  map.set(key, ids);
}

/** Every proposal ordered exactly once per key it names; every agent applied exactly the ordered sequences. */
export function checkAgreement(progress: Progress, workload: GeneratedProposal[]): string[] {
  const problems: string[] = [];
  for (const p of workload) {
    for (const key of p.keys) {
      const count = (progress.ordered.get(key) ?? []).filter((id) => id === p.id).length;
      if (count !== 1) problems.push(`proposal ${p.id} appears ${count} times under key ${key}`);
    }
  }
  for (const [agent, keys] of progress.applied) {
    for (const [key, ids] of progress.ordered) {
      const applied = keys.get(key) ?? [];
      if (JSON.stringify(applied) !== JSON.stringify(ids)) {
        problems.push(
          `agent ${agent} applied key ${key} as ${applied.slice(0, 5).join(',')}… but the order is ${ids.slice(0, 5).join(',')}…`,
        );
      }
    }
  }
  return problems.slice(0, 20);
}
