/**
 * Execution order (paper §4.3.2): an instance executes once every instance reachable through deps is committed;
 * strongly connected components (Tarjan) run in inverse topological order, and inside a component by a TOTAL
 * order (seq, then replica id, then slot) — the Go code's seq-only sort is a known gap (EPAXOS-NOTES.md §3).
 * Resolution runs on the whole committed graph, never per key (DESIGN.md §3).
 */
import { assert } from './state.ts';
import { compareInstances, instanceKey, type InstanceKey, type InstanceRecord } from './types.ts';

export interface ExecutionStep {
  executed: InstanceRecord[];
  /** Instances that block execution: not committed here yet (recovery candidates after a timeout). */
  blockedOn: InstanceKey[];
}

export class Executor {
  readonly #committed = new Map<InstanceKey, InstanceRecord>();
  readonly #executed = new Set<InstanceKey>();
  /** Committed, not yet executed; ordered so runs are deterministic. */
  readonly #pending = new Set<InstanceKey>();

  constructor(executed: Iterable<InstanceKey> = []) {
    for (const key of executed) this.#executed.add(key);
  }

  get executedCount(): number {
    return this.#executed.size;
  }

  isExecuted(key: InstanceKey): boolean {
    return this.#executed.has(key);
  }

  /** Adds a committed instance; duplicates (a Commit heard twice) are ignored. */
  add(record: InstanceRecord): void {
    assert(record.status === 'committed', `only committed instances execute (${instanceKey(record.id)})`);
    const key = instanceKey(record.id);
    if (this.#committed.has(key) || this.#executed.has(key)) return;
    this.#committed.set(key, record);
    this.#pending.add(key);
  }

  /** Executes everything that can execute now, in order. */
  run(): ExecutionStep {
    const executed: InstanceRecord[] = [];
    const blocked = new Set<InstanceKey>();
    for (const start of [...this.#pending].sort()) {
      if (this.#executed.has(start)) continue;
      const result = this.#tarjan(start);
      if (result.blockedOn) {
        blocked.add(result.blockedOn);
        continue;
      }
      for (const component of result.components) {
        component.sort((a, b) => a.attributes.seq - b.attributes.seq || compareInstances(a.id, b.id));
        for (const record of component) {
          const key = instanceKey(record.id);
          this.#executed.add(key);
          this.#pending.delete(key);
          this.#committed.delete(key);
          executed.push(record);
        }
      }
    }
    return { executed, blockedOn: [...blocked].sort() };
  }

  /**
   * Iterative Tarjan from `start` over committed, unexecuted instances. Components come out dependencies
   * first. Stops at the first dep that is neither executed nor committed.
   */
  #tarjan(start: InstanceKey): { components: InstanceRecord[][]; blockedOn?: InstanceKey } {
    const index = new Map<InstanceKey, number>();
    const low = new Map<InstanceKey, number>();
    const onStack = new Set<InstanceKey>();
    const stack: InstanceKey[] = [];
    const components: InstanceRecord[][] = [];
    const work: { key: InstanceKey; next: number }[] = [{ key: start, next: 0 }];
    let counter = 0;
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const deps = this.#committed.get(frame.key)!.attributes.deps;
      if (frame.next < deps.length) {
        const dep = deps[frame.next++]!;
        if (this.#executed.has(dep)) continue;
        if (!this.#committed.has(dep)) return { components: [], blockedOn: dep };
        if (!index.has(dep)) {
          index.set(dep, counter);
          low.set(dep, counter++);
          stack.push(dep);
          onStack.add(dep);
          work.push({ key: dep, next: 0 });
        } else if (onStack.has(dep)) {
          low.set(frame.key, Math.min(low.get(frame.key)!, index.get(dep)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.key, Math.min(low.get(parent.key)!, low.get(frame.key)!));
      if (low.get(frame.key) === index.get(frame.key)) {
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
