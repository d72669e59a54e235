/**
 * The guardrail families: etcd's health as the guardrail sees it, the protocol mode, the epoch. guardrail/
 * feeds them through `GuardrailMetrics` (it owns the etcd client; monitoring/ imports no etcd code).
 *
 * `etcd_cluster_health` is the fraction of etcd members that answered their last health check, so it is 1
 * exactly when every member is up and the seed's alert (< 1: any member down) reads directly off it;
 * `etcd_member_up{member}` says which one is down.
 */
import { Counter, Gauge, type Metric, type Registry } from 'prom-client';
import { BoundedLabel } from './labels.ts';

/** DESIGN.md §4: `fast` (EPaxos fast path) or `slow` (always Accept with F+1). */
export type ProtocolMode = 'fast' | 'slow';
export const protocolModes: readonly ProtocolMode[] = ['fast', 'slow'];

/** Mirrors guardrail/counters.ts GuardrailCounterName. */
export type GuardrailCounterName = 'guardrail_stale_epoch_rejections_total' | 'guardrail_mode_switches_total';

/**
 * A gauge without labels that exports no sample until it is set, and none again after `reset`. prom-client's own
 * exports 0 from the start, so a process without etcd exported `etcd_cluster_health 0` and fired the critical
 * alert (issue #11); without a guardrail the series must be absent, which the alert rules and Prometheus's
 * `absent()` tell apart from 0.
 */
class AbsentUntilSet {
  readonly type = 'gauge';
  readonly aggregator = 'omit';
  #value: number | undefined;

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  set(value: number): void {
    this.#value = value;
  }

  reset(): void {
    this.#value = undefined;
  }

  /** What prom-client's Registry reads of a metric to print it (`Registry.getMetricsAsString`). */
  get(): { name: string; help: string; type: string; aggregator: string; values: { value: number; labels: object }[] } {
    const values = this.#value === undefined ? [] : [{ value: this.#value, labels: {} }];
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

export interface EtcdMemberHealth {
  /** The member's name (etcd's --name), e.g. `etcd1`: bounded by the cluster's size. */
  member: string;
  up: boolean;
}

export interface GuardrailMetrics {
  /** The latest health of every etcd member; members not listed are dropped from the export. */
  etcdMembers(members: readonly EtcdMemberHealth[]): void;
  /** The mode in force. (Switches are counted by the guardrail itself: `guardrailCountersFor`.) */
  mode(mode: ProtocolMode): void;
  /** The mode last reported, if any: the observer adapter tells slow-mode commits from failed fast paths. */
  currentMode(): ProtocolMode | undefined;
  /** guardrail/counters.ts `GuardrailCounters.inc`, for its two counters (see adapters.ts). */
  count(name: GuardrailCounterName, labels: Readonly<Record<string, string>>, by: number): void;
  /** The configuration epoch this process follows. */
  epoch(epoch: number): void;
  /** Whether the last guardrail call (etcd read, lease keep-alive) succeeded: what /readyz asks too. */
  reachable(ok: boolean): void;
}

export interface GuardrailMetricsOptions {
  registry: Registry;
  labelValuesMax: number;
  overflow: Counter<'label'>;
}

export function createGuardrailMetrics(options: GuardrailMetricsOptions): GuardrailMetrics {
  const registers = [options.registry];
  const members = new BoundedLabel('member', options.labelValuesMax, options.overflow);
  const labels = new Map<string, BoundedLabel>();
  const bounded = (name: string): BoundedLabel => {
    let label = labels.get(name);
    if (!label) labels.set(name, (label = new BoundedLabel(name, options.labelValuesMax, options.overflow)));
    return label;
  };
  const health = new AbsentUntilSet(
    'etcd_cluster_health',
    'Fraction of etcd members up (1 = all healthy; < 1 = a member is down).',
  );
  options.registry.registerMetric(health as unknown as Metric);
  const memberUp = new Gauge({
    name: 'etcd_member_up',
    help: '1 when the etcd member answered its last health check, else 0.',
    labelNames: ['member'] as const,
    registers,
  });
  const modeGauge = new Gauge({
    name: 'parley_guardrail_mode',
    help: 'The protocol mode in force: 1 for the current mode, 0 for the other.',
    labelNames: ['mode'] as const,
    registers,
  });
  const staleEpochs = new Counter({
    name: 'guardrail_stale_epoch_rejections_total',
    help: 'Protocol messages rejected for carrying an epoch older than the current one, by message kind.',
    labelNames: ['kind', 'replica'] as const,
    registers,
  });
  const switches = new Counter({
    name: 'guardrail_mode_switches_total',
    help: 'Protocol mode switches the guardrail wrote, by the mode switched to and why.',
    labelNames: ['to', 'cause'] as const,
    registers,
  });
  const epochGauge = new Gauge({
    name: 'parley_guardrail_epoch',
    help: 'The configuration epoch this process follows.',
    registers,
  });
  const reachableGauge = new Gauge({
    name: 'parley_guardrail_reachable',
    help: '1 when the last guardrail (etcd) call succeeded, else 0.',
    registers,
  });
  let current: ProtocolMode | undefined;
  let exported = new Set<string>();

  return {
    etcdMembers(list) {
      const next = new Set<string>();
      for (const { member, up } of list) {
        const label = members.value(member);
        next.add(label);
        memberUp.set({ member: label }, up ? 1 : 0);
      }
      for (const gone of exported) {
        if (!next.has(gone)) {
          memberUp.remove({ member: gone });
          members.forget(gone);
        }
      }
      exported = next;
      if (list.length === 0) health.reset();
      else health.set(list.filter((m) => m.up).length / list.length);
    },
    mode(mode) {
      current = mode;
      for (const m of protocolModes) modeGauge.set({ mode: m }, m === mode ? 1 : 0);
    },
    epoch(epoch) {
      epochGauge.set(epoch);
    },
    reachable(ok) {
      reachableGauge.set(ok ? 1 : 0);
    },
    currentMode: () => current,
    count(name, labels, by) {
      // Only the labels each counter declares; any other the caller adds is dropped, not an error.
      const value = (label: string) => bounded(label).value(labels[label] ?? '');
      if (name === 'guardrail_mode_switches_total') switches.inc({ to: value('to'), cause: value('cause') }, by);
      else staleEpochs.inc({ kind: value('kind'), replica: value('replica') }, by);
    },
  };
}
