/**
 * One prom-client Registry per process, never prom-client's global default: two Parley applications (or a test
 * and the code it tests) in one process must not share or collide on series. `createMetrics` registers every
 * Parley family on it at once, so `/metrics` lists them all from the start (a family with no samples yet shows
 * its HELP and TYPE lines) and dashboards and rules can be checked against `metricFamilyNames()`.
 */
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import { createConsensusMetrics, type ConsensusMetrics } from './consensus.ts';
import { createGuardrailMetrics, type GuardrailMetrics } from './guardrail.ts';
import { labelValuesMaxDefault } from './labels.ts';
import { createLagMetrics, type LagMetrics } from './lag/metrics.ts';
import { createRuntimeMetrics, type RuntimeMetrics } from './runtime.ts';

export interface MetricsOptions {
  /** Node's process metrics (CPU, memory, event-loop lag, GC; prom-client's defaults). Default true. */
  processMetrics?: boolean;
  /** Labels on every series of this process, e.g. `{ application: 'consensus', instance: 'r1' }`. */
  defaultLabels?: Record<string, string>;
  /** Cap on distinct values per label (labels.ts). Default 256. */
  labelValuesMax?: number;
  /** Per consumer group, partitions with per-partition lag series (lag/metrics.ts). Default 100. */
  lagPartitionSeriesMax?: number;
  /** Window of `epaxos_fast_path_success_ratio` (consensus.ts). Defaults 60 s and 1000 commits per replica. */
  fastPathWindowSeconds?: number;
  fastPathWindowMax?: number;
  clock?: () => number;
}

export interface ParleyMetrics {
  readonly registry: Registry;
  readonly consensus: ConsensusMetrics;
  readonly guardrail: GuardrailMetrics;
  readonly runtime: RuntimeMetrics;
  readonly lag: LagMetrics;
}

export function createMetrics(options: MetricsOptions = {}): ParleyMetrics {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const labelValuesMax = options.labelValuesMax ?? labelValuesMaxDefault;
  const overflow = new Counter({
    name: 'parley_metric_label_overflow_total',
    help: 'Label values folded into "_other" because the label reached its cap of distinct values.',
    labelNames: ['label'] as const,
    registers: [registry],
  });
  const clock = options.clock ?? Date.now;
  return {
    registry,
    consensus: createConsensusMetrics({
      registry,
      clock,
      labelValuesMax,
      overflow,
      fastPathWindowSeconds: options.fastPathWindowSeconds ?? 60,
      fastPathWindowMax: options.fastPathWindowMax ?? 1000,
    }),
    guardrail: createGuardrailMetrics({ registry, labelValuesMax, overflow }),
    runtime: createRuntimeMetrics({ registry, labelValuesMax, overflow }),
    lag: createLagMetrics({ registry, maxPartitionSeries: options.lagPartitionSeriesMax ?? 100 }),
  };
}

/** The family names registered on `registry` (histograms by family name, without _bucket/_sum/_count). */
export function metricFamilyNames(registry: Registry): string[] {
  return registry
    .getMetricsAsArray()
    .map((metric) => metric.name)
    .sort();
}

/**
 * Every series name a scrape of `registry` can contain: family names, plus _bucket, _sum and _count for
 * histograms and summaries. What dashboards and alert rules may reference (deploy/*.test.ts checks it).
 */
export function metricSeriesNames(registry: Registry): string[] {
  const names = new Set<string>();
  for (const metric of registry.getMetricsAsArray()) {
    names.add(metric.name);
    const type = String(metric.type);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(metric.name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(metric.name + s);
  }
  return [...names].sort();
}
