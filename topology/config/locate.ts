/**
 * Positions in a parsed YAML document: from a path such as `['processors', 'aggregate', 'parents', 1]` to the
 * file:line:column where that part was written, so every issue can name it.
 */
import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair } from 'yaml';
import type { SourceLocation } from '../model.ts';
import type { IssuePath } from '../validate.ts';

/** `key`: point at the mapping key (for "unknown property"); `value`: at the value if it is a scalar. */
export type LocateTarget = 'key' | 'value';

export class Locator {
  constructor(
    readonly file: string,
    readonly document: Document,
    readonly lineCounter: LineCounter,
  ) {}

  at(offset: number): SourceLocation {
    const { line, col } = this.lineCounter.linePos(offset);
    return { file: this.file, line: Math.max(line, 1), column: Math.max(col, 1) };
  }

  /**
   * Where `path` was written. A missing step stops the walk at the deepest part that exists (a missing
   * property points at the mapping that lacks it). Collections are pointed at through their key, which is
   * where a reader looks for "processors.aggregate".
   */
  locate(path: IssuePath, target: LocateTarget = 'value'): SourceLocation {
    let node: unknown = this.document.contents;
    let via: Pair | undefined;
    for (const segment of path) {
      const step = child(node, segment);
      if (!step) break;
      [node, via] = [step.node, step.pair];
    }
    const keyNode = via?.key as Node | undefined;
    const valueNode = isScalar(node) || isMap(node) || isSeq(node) ? node : undefined;
    const pointAtKey = keyNode?.range && (target === 'key' || !isScalar(valueNode) || !valueNode.range);
    const range = pointAtKey ? keyNode.range : valueNode?.range;
    return this.at(range?.[0] ?? 0);
  }
}

/** One step down: a mapping entry by key, or a sequence item by index. */
function child(node: unknown, segment: string | number): { node: unknown; pair?: Pair } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
    return pair ? { node: pair.value, pair } : undefined;
  }
  if (isSeq(node)) {
    const index = Number(segment);
    return Number.isInteger(index) && index < node.items.length ? { node: node.items[index] } : undefined;
  }
  return undefined;
}

/** A printable path: `topics.transactions.partitions`, `processors.aggregate.parents[1]`. */
export function pathText(path: IssuePath): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

/** Key for comparing paths whatever the segments' types (ajv gives strings, the validator numbers). */
export function pathKey(path: IssuePath): string {
  return path.map(String).join('\u0000');
}
