/**
 * The two Guardrails: on etcd (production, the real stack) and in process (the embedded default, the simulator,
 * unit tests). Both are the same KvGuardrail over a different KvDriver, and both pass contract.ts.
 */
import { systemClock, type Clock } from './clock.ts';
import { KvGuardrail, type GuardrailOptions } from './core.ts';
import { EtcdKv, type EtcdKvOptions } from './kv-etcd.ts';
import { InMemoryEtcd, MemoryKv } from './kv-memory.ts';

export type EtcdGuardrailOptions = GuardrailOptions & EtcdKvOptions;

export class EtcdGuardrail extends KvGuardrail {
  readonly etcd: EtcdKv;

  constructor(options: EtcdGuardrailOptions) {
    const kv = new EtcdKv(options);
    super(kv, systemClock, options);
    this.etcd = kv;
  }
}

export interface InProcessGuardrailOptions extends GuardrailOptions {
  /** The shared in-process "cluster"; guardrails on one store see each other like etcd clients. */
  store?: InMemoryEtcd;
  /** Used when no store is given; default the system clock. */
  clock?: Clock;
}

export class InProcessGuardrail extends KvGuardrail {
  readonly store: InMemoryEtcd;

  constructor(options: InProcessGuardrailOptions = {}) {
    const store = options.store ?? new InMemoryEtcd(options.clock ?? systemClock);
    super(new MemoryKv(store), store.clock, options);
    this.store = store;
  }
}
