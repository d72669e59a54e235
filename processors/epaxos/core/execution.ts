/**
 * Execution order (paper §4.3.2): an instance executes once every instance reachable through deps is committed;
 * strongly connected components (Tarjan) run in inverse topological order, and inside a component by a TOTAL
 * order (seq, then replica id, then slot) — the Go code's seq-only sort is a known gap (EPAXOS-NOTES.md §3).
 * Resolution runs on the whole committed graph, never per key (DESIGN.md §3).
 */
import { ExecutedSet } from './executed-set.ts';
import { assert } from './state.ts';
import { compareInstances, instanceKey, type InstanceKey, type InstanceRecord } from './types.ts';

export interface ExecutionStep {
  executed: InstanceRecord[];
  /** Instances that block execution: not committed here yet (recovery candidates after a timeout). */
  blockedOn: InstanceKey[];
  /** Replicas whose executed watermark moved in this step (every slot below `below` executed), last value each. */
  watermarks: { replica: string; below: number }[];
}

export class Executor {
  readonly #committed = new Map<InstanceKey, InstanceRecord>();
  readonly #executed: ExecutedSet;
  /** Committed, not yet executed; ordered so runs are deterministic. */
  readonly #pending = new Set<InstanceKey>();
  /** #pending in key order, sorted again only after it changed: run() walks it at every commit (issue #7). */
  #order: InstanceKey[] | undefined;
  /**
   * Per pending instance whose last traversal stopped at an uncommitted dep: that dep. Until it commits, the same
   * traversal stops there again — it reached it through committed instances only, and instances only ever get
   * committed (which changes nothing before the first uncommitted one met) or executed (with everything they
   * reach, so none of it leads to that dep) — so run() reports it without re-walking the graph (it re-walked from
   * every pending instance at every commit: the simulator's top cost in execution, issue #7).
   */
  readonly #blockedAt = new Map<InstanceKey, InstanceKey>();
  readonly #index = new Map<InstanceKey, number>();
  readonly #onStack = new Set<InstanceKey>();

  /** `executed` and `watermarks` restore what ExecutedSet persisted (the keys above, and the watermarks). */
  constructor(executed: Iterable<InstanceKey> = [], watermarks: Iterable<readonly [string, number]> = []) {
    this.#executed = new ExecutedSet(executed, watermarks);
  }

  get executedCount(): number {
    return this.#executed.size;
  }

  /** Per replica, every slot below the number is executed. */
  watermarksOf(): [string, number][] {
    return this.#executed.watermarks();
  }

  /** Executed instances held one by one (above their replica's watermark): what the memory footprint follows. */
  get executedSparse(): number {
    return this.#executed.sparse;
  }

  isExecuted(key: InstanceKey): boolean {
    return this.#executed.has(key);
  }

  /** Adds a committed instance; duplicates (a Commit heard twice) are ignored. */
  add(record: InstanceRecord): void {
    const key = instanceKey(record.id);
    assert(record.status === 'committed', () => `only committed instances execute (${key})`);
    if (this.#committed.has(key) || this.#executed.has(key)) return;
    this.#committed.set(key, record);
    this.#pending.add(key);
    this.#order = undefined;
  }

  /** Executes everything that can execute now, in order. */
  run(): ExecutionStep {
    const executed: InstanceRecord[] = [];
    const blocked = new Set<InstanceKey>();
    const moved = new Map<string, number>();
    const order = (this.#order ??= [...this.#pending].sort());
    for (const start of order) {
      if (this.#executed.has(start)) continue;
      const known = this.#blockedAt.get(start);
      if (known !== undefined && !this.#committed.has(known) && !this.#executed.has(known)) {
        blocked.add(known);
        continue;
      }
      const result = this.#tarjan(start);
      if (result.blockedOn) {
        this.#blockedAt.set(start, result.blockedOn);
        blocked.add(result.blockedOn);
        continue;
      }
      for (const component of result.components) {
        component.sort((a, b) => a.attributes.seq - b.attributes.seq || compareInstances(a.id, b.id));
        for (const record of component) {
          const key = instanceKey(record.id);
          const watermark = this.#executed.add(key);
          if (watermark) moved.set(watermark.replica, watermark.below);
          this.#pending.delete(key);
          this.#order = undefined;
          this.#committed.delete(key);
          this.#blockedAt.delete(key);
          executed.push(record);
        }
      }
    }
    return {
      executed,
      blockedOn: [...blocked].sort(),
      watermarks: [...moved].map(([replica, below]) => ({ replica, below })),
    };
  }

  /**
   * Iterative Tarjan from `start` over committed, unexecuted instances. Components come out dependencies
   * first. Stops at the first dep that is neither executed nor committed.
   */
  #tarjan(start: InstanceKey): { components: InstanceRecord[][]; blockedOn?: InstanceKey } {
    // Scratch state reused across calls (run() is not reentrant), and each node's low-link kept in its frame (it
    // is only read and written while the node is on the work stack): this runs at every commit (issue #7).
    const index = this.#index;
    const onStack = this.#onStack;
    index.clear();
    onStack.clear();
    const stack: InstanceKey[] = [];
    const components: InstanceRecord[][] = [];
    const work: { key: InstanceKey; deps: readonly InstanceKey[]; next: number; index: number; low: number }[] = [
      { key: start, deps: this.#committed.get(start)!.attributes.deps, next: 0, index: 0, low: 0 },
    ];
    let counter = 1;
    index.set(start, 0);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const deps = frame.deps;
      if (frame.next < deps.length) {
        const dep = deps[frame.next++]!;
        if (this.#executed.has(dep)) continue;
        const committed = this.#committed.get(dep);
        if (!committed) return { components: [], blockedOn: dep };
        const seen = index.get(dep);
        if (seen === undefined) {
          index.set(dep, counter);
          stack.push(dep);
          onStack.add(dep);
          work.push({ key: dep, deps: committed.attributes.deps, next: 0, index: counter, low: counter });
          counter++;
        } else if (onStack.has(dep)) {
          frame.low = Math.min(frame.low, seen);
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) parent.low = Math.min(parent.low, frame.low);
      if (frame.low === frame.index) {
        const component: InstanceRecord[] = [];
        let member: InstanceKey;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(this.#committed.get(member)!);
        } while (member !== frame.key);
        components.push(component);
      }
    }
    return { components };
  }
}
