/**
 * Counts the guardrail exposes for metrics, behind a small interface so guardrail/ needs no prom-client:
 * monitoring/ (issue #6) adapts `GuardrailCounters` to Prometheus counters; tests read `MemoryCounters`.
 */
export type GuardrailCounterName =
  /** Protocol messages rejected for carrying an epoch older than the current one. */
  | 'guardrail_stale_epoch_rejections_total'
  /** Mode switches written to the config, labelled by `to` and `cause`. */
  | 'guardrail_mode_switches_total';

export type Labels = Readonly<Record<string, string>>;

export interface GuardrailCounters {
  inc(name: GuardrailCounterName, labels?: Labels, by?: number): void;
}

const keyOf = (name: string, labels: Labels = {}) =>
  `${name}{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',')}}`;

export class MemoryCounters implements GuardrailCounters {
  private readonly values = new Map<string, number>();

  inc(name: GuardrailCounterName, labels?: Labels, by = 1): void {
    const key = keyOf(name, labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  /** The count for exactly these labels; with no labels given, the sum over every label set of the name. */
  get(name: GuardrailCounterName, labels?: Labels): number {
    if (labels) return this.values.get(keyOf(name, labels)) ?? 0;
    let sum = 0;
    for (const [key, value] of this.values) if (key.startsWith(`${name}{`)) sum += value;
    return sum;
  }

  /** Every series as `name{label="value"}` → count, for logs and tests. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.values);
  }
}

export const noCounters: GuardrailCounters = { inc: () => undefined };
