/**
 * Bounded label values. Every label value Parley exports comes from a finite set the operator configured
 * (topology node and store names, replica and etcd member ids, consumer groups and their partitions), never
 * from record keys or ids. A bug or a misconfiguration could still feed an open-ended stream of values (a
 * replica rejoining under a fresh id after every crash, a test creating groups in a loop), and each new value
 * is a new series that Prometheus keeps for hours: so every labelled family also caps its distinct values.
 * Past the cap, new values fold into one `_other` value and the fold is counted, so it shows on a dashboard
 * instead of silently hiding data.
 */
import type { Counter } from 'prom-client';

export const OTHER_LABEL_VALUE = '_other';

/** Distinct values a label takes in one process, by default; README.md ("Label cardinality") lists each cap. */
export const labelValuesMaxDefault = 256;

export class BoundedLabel {
  readonly #seen = new Set<string>();

  constructor(
    readonly name: string,
    readonly max: number,
    private readonly overflow?: Counter<'label'>,
  ) {
    if (!Number.isInteger(max) || max < 1) throw new Error(`label ${name}: max must be a positive integer, got ${max}`);
  }

  /** The value to export for `value`: itself while fewer than `max` values were seen, else `_other`. */
  value(value: string): string {
    if (this.#seen.has(value)) return value;
    if (this.#seen.size < this.max) {
      this.#seen.add(value);
      return value;
    }
    this.overflow?.inc({ label: this.name });
    return OTHER_LABEL_VALUE;
  }

  /** Frees a value's slot (its series were removed), so a later value may take it. */
  forget(value: string): void {
    this.#seen.delete(value);
  }

  get size(): number {
    return this.#seen.size;
  }
}
