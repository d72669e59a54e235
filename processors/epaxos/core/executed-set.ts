/**
 * The instances already executed, compacted per replica. Slots are dense (never skipped, never reused) and every
 * slot eventually commits and executes (a no-op at worst), so per replica a watermark — every slot below it is
 * executed — plus the few executed above it replace a set that would grow with every instance ever run.
 */
import { parseInstanceKey, type InstanceKey } from './types.ts';

export class ExecutedSet {
  /** Per replica: every slot below this is executed. */
  readonly #below = new Map<string, number>();
  /** Executed instances above their replica's watermark. */
  readonly #above = new Set<InstanceKey>();
  #size = 0;

  constructor(executed: Iterable<InstanceKey> = [], watermarks: Iterable<readonly [string, number]> = []) {
    for (const [replica, below] of watermarks) this.#below.set(replica, below);
    for (const key of executed) this.add(key);
  }

  /** Instances executed since this set was built (or restored), counting the watermarks' restored ones as 0. */
  get size(): number {
    return this.#size;
  }

  /** How many instances the set holds one by one: the executed ones above the watermarks. */
  get sparse(): number {
    return this.#above.size;
  }

  has(key: InstanceKey): boolean {
    if (this.#above.has(key)) return true;
    // parseInstanceKey without its object: this runs for every dep at every execution step (issue #7).
    const dot = key.lastIndexOf('.');
    const below = this.#below.get(key.slice(0, dot));
    return below !== undefined && Number(key.slice(dot + 1)) < below;
  }

  /** Marks `key` executed; returns the replica's watermark when it moved (the keys under it left the set). */
  add(key: InstanceKey): { replica: string; below: number } | undefined {
    if (this.has(key)) return undefined;
    this.#size++;
    const { replica, slot } = parseInstanceKey(key);
    let below = this.#below.get(replica) ?? 0;
    if (slot !== below) {
      this.#above.add(key);
      return undefined;
    }
    below++;
    for (let next = `${replica}.${below}`; this.#above.delete(next); next = `${replica}.${below}`) below++;
    this.#below.set(replica, below);
    return { replica, below };
  }

  watermarks(): [string, number][] {
    return [...this.#below];
  }

  keysAbove(): InstanceKey[] {
    return [...this.#above];
  }
}
