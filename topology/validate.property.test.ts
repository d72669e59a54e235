/**
 * Random processor graphs checked against deliberately naive oracles (STYLE.md §10): cycles by "can a node
 * reach itself", sub-topologies by flood fill, order by checking every edge.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { TopologyBuilder } from './builder.ts';
import { validateTopology } from './validate.ts';

/** Parents per processor: -1 and -2 are the two sources, j >= 0 is processor j. */
const graphs = fc.integer({ min: 1, max: 8 }).chain((n) =>
  fc.array(fc.uniqueArray(fc.integer({ min: -2, max: n - 1 }), { minLength: 1, maxLength: 3 }), {
    minLength: n,
    maxLength: n,
  }),
);

const nameOf = (j: number) => (j === -1 ? 'src-a' : j === -2 ? 'src-b' : `p${j}`);

function build(parents: number[][]) {
  const builder = new TopologyBuilder('prop')
    .topic({ name: 'a', partitions: 2 })
    .topic({ name: 'b', partitions: 2 })
    .source('src-a', ['a'])
    .source('src-b', ['b']);
  parents.forEach((ps, i) => builder.processor(`p${i}`, { processor: 'x', parents: ps.map(nameOf) }));
  return validateTopology(builder.spec());
}

function reaches(parents: number[][], from: number, to: number): boolean {
  const seen = new Set<number>();
  const stack = parents.flatMap((ps, child) => (ps.includes(from) ? [child] : []));
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (v === to) return true;
    if (seen.has(v)) continue;
    seen.add(v);
    parents.forEach((ps, child) => ps.includes(v) && stack.push(child));
  }
  return false;
}

/** Groups of processors lying on a common cycle (u and v reach each other), the way SCCs are defined. */
function cycleGroups(parents: number[][]): number {
  const onCycle = parents.map((_, i) => i).filter((i) => reaches(parents, i, i));
  const grouped = new Set<number>();
  let groups = 0;
  for (const u of onCycle) {
    if (grouped.has(u)) continue;
    groups++;
    for (const v of onCycle) if (u === v || (reaches(parents, u, v) && reaches(parents, v, u))) grouped.add(v);
  }
  return groups;
}

function componentCount(parents: number[][]): number {
  const names = ['src-a', 'src-b', ...parents.map((_, i) => `p${i}`)];
  const edges = parents.flatMap((ps, i) => ps.map((p) => [nameOf(p), `p${i}`] as const));
  const seen = new Set<string>();
  let count = 0;
  for (const start of names) {
    if (seen.has(start)) continue;
    count++;
    const stack = [start];
    while (stack.length > 0) {
      const v = stack.pop()!;
      if (seen.has(v)) continue;
      seen.add(v);
      for (const [x, y] of edges) if (x === v) stack.push(y);
      for (const [x, y] of edges) if (y === v) stack.push(x);
    }
  }
  return count;
}

describe('validateTopology on random processor graphs', () => {
  it('rejects exactly the cyclic graphs, one issue per cycle group', () => {
    fc.assert(
      fc.property(graphs, (parents) => {
        const { topology, issues } = build(parents);
        const expected = cycleGroups(parents);
        assert.equal(issues.filter((i) => i.code === 'cycle').length, expected);
        assert.equal(topology === undefined, expected > 0);
      }),
      { numRuns: 300 },
    );
  });

  it('splits acyclic graphs into connected sub-topologies listed parents first', () => {
    fc.assert(
      fc.property(graphs, (parents) => {
        const { topology } = build(parents);
        fc.pre(topology !== undefined);
        const subtopologies = topology!.subtopologies;
        assert.equal(subtopologies.length, componentCount(parents));
        const where = new Map<string, [number, number]>();
        subtopologies.forEach((s) => s.nodes.forEach((n, i) => where.set(n, [s.id, i])));
        assert.equal(where.size, parents.length + 2, 'every node in exactly one sub-topology');
        parents.forEach((ps, i) => {
          for (const p of ps) {
            const [parentSub, parentIndex] = where.get(nameOf(p))!;
            const [childSub, childIndex] = where.get(`p${i}`)!;
            assert.equal(parentSub, childSub);
            assert.ok(parentIndex < childIndex, `${nameOf(p)} before p${i}`);
          }
        });
      }),
      { numRuns: 300 },
    );
  });
});
