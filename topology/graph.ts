/**
 * Small graph algorithms for topology validation, kept apart from the checks so each stays short. Graphs are
 * given as vertex lists (whose order is the tie-breaker, so every result is deterministic) and successor maps.
 */

export type Successors = ReadonlyMap<string, readonly string[]>;

/**
 * Strongly connected components (Tarjan, iterative so a long chain of processors cannot overflow the stack).
 * Components come out in reverse topological order; vertices inside one keep no particular order.
 */
export function stronglyConnected(vertices: readonly string[], next: Successors): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;

  for (const root of vertices) {
    if (index.has(root)) continue;
    // Each frame is a vertex and the position of the next successor to look at.
    const frames: [string, number][] = [[root, 0]];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const [v, i] = frame;
      const succ = next.get(v) ?? [];
      if (i < succ.length) {
        frame[1] = i + 1;
        const w = succ[i]!;
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          frames.push([w, 0]);
        } else if (onStack.has(w)) {
          low.set(v, Math.min(low.get(v)!, index.get(w)!));
        }
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent) low.set(parent[0], Math.min(low.get(parent[0])!, low.get(v)!));
      if (low.get(v) === index.get(v)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(w);
        } while (w !== v);
        components.push(component);
      }
    }
  }
  return components;
}

/** True when the component is a cycle: more than one vertex, or one vertex with an edge to itself. */
export function isCyclic(component: readonly string[], next: Successors): boolean {
  if (component.length > 1) return true;
  const only = component[0]!;
  return (next.get(only) ?? []).includes(only);
}

/**
 * The shortest cycle through `start` (breadth-first, successors in their given order), as the vertices from
 * `start` up to the one whose edge closes the cycle. Undefined when `start` lies on no cycle.
 */
export function shortestCycle(start: string, next: Successors): string[] | undefined {
  const cameFrom = new Map<string, string>();
  const queue: string[] = [start];
  for (let head = 0; head < queue.length; head++) {
    const v = queue[head]!;
    for (const w of next.get(v) ?? []) {
      if (w === start) {
        const path = [v];
        for (let u = v; u !== start;) {
          u = cameFrom.get(u)!;
          path.push(u);
        }
        return path.reverse();
      }
      if (!cameFrom.has(w)) {
        cameFrom.set(w, v);
        queue.push(w);
      }
    }
  }
  return undefined;
}

/**
 * Vertices in an order where every vertex comes after its predecessors (Kahn); among ready vertices the one
 * listed first in `vertices` goes first. Vertices on a cycle are left out.
 */
export function topologicalOrder(vertices: readonly string[], next: Successors): string[] {
  const position = new Map(vertices.map((v, i) => [v, i]));
  const inDegree = new Map(vertices.map((v) => [v, 0]));
  for (const v of vertices) for (const w of next.get(v) ?? []) inDegree.set(w, (inDegree.get(w) ?? 0) + 1);
  const ready = vertices.filter((v) => inDegree.get(v) === 0);
  const order: string[] = [];
  while (ready.length > 0) {
    // Topologies are small (tens of nodes): a sort per step is simpler than a heap and fast enough.
    ready.sort((a, b) => position.get(a)! - position.get(b)!);
    const v = ready.shift()!;
    order.push(v);
    for (const w of next.get(v) ?? []) {
      const degree = inDegree.get(w)! - 1;
      inDegree.set(w, degree);
      if (degree === 0 && position.has(w)) ready.push(w);
    }
  }
  return order;
}

/** Union-find over string keys, for connected components. */
export class DisjointSets {
  readonly #parent = new Map<string, string>();

  find(x: string): string {
    let root = this.#parent.get(x) ?? x;
    if (root === x) return x;
    root = this.find(root);
    this.#parent.set(x, root);
    return root;
  }

  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.#parent.set(rb, ra);
  }
}
