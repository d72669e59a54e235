/**
 * The processor API, after Kafka Streams' `Processor` (three methods) and `ProcessorContext`.
 * Processors see typed keys and values; serdes live at the edges (sources, sinks, stores).
 */
import type { KeyValueStore } from '../state/types.ts';

export type Headers = Record<string, Buffer>;

export interface StreamRecord<K, V> {
  key: K;
  value: V;
  /** Event time in epoch milliseconds; children inherit it unless the processor sets another. */
  timestamp: number;
  headers: Headers;
  /**
   * The partition a sink writes this record to, like a Kafka Streams StreamPartitioner; omitted, the key picks it
   * (murmur2). Consensus routes protocol messages to their destination replica's partition this way.
   */
  partition?: number;
}

/** Where the record being processed came from. */
export interface RecordMetadata {
  topic: string;
  partition: number;
  offset: number;
}

export type PunctuationType = 'stream' | 'wall';

export interface Cancellable {
  cancel(): void;
}

export interface ProcessorContext<KOut = unknown, VOut = unknown> {
  readonly application: string;
  readonly taskId: string;
  readonly processorName: string;
  /** Settings from the node's `config` in the topology. */
  readonly config: Readonly<Record<string, unknown>>;
  /** Undefined inside a punctuator. */
  readonly recordMetadata: RecordMetadata | undefined;
  /** The task's stream time: the largest record timestamp seen so far. */
  readonly streamTime: number;
  /** The runtime's wall clock (the test driver's manual one in tests), as wall-clock punctuations see it. */
  currentWallClockTime(): number;
  /**
   * Sends a record to every child, or only to the named one. Delivery happens after the current `process`
   * (or punctuator) call resolves, in the order of the forward calls, so a processor need not await it.
   */
  forward(record: StreamRecord<KOut, VOut>, childName?: string): void;
  /** A store declared for this processor; throws naming the processor and store otherwise. */
  getStateStore<K, V>(name: string): KeyValueStore<K, V>;
  /**
   * Calls `punctuate(timestamp)` every `intervalMs` of stream time (advanced only by records) or wall time.
   * Wall time comes from the runtime's clock, which the test driver and the simulator control.
   */
  schedule(
    intervalMs: number,
    type: PunctuationType,
    punctuate: (timestamp: number) => void | Promise<void>,
  ): Cancellable;
  /** Asks for a commit as soon as the current record is done (the runtime also commits adaptively). */
  commit(): void;
}

export interface Processor<KIn = unknown, VIn = unknown, KOut = unknown, VOut = unknown> {
  init?(context: ProcessorContext<KOut, VOut>): void | Promise<void>;
  process(record: StreamRecord<KIn, VIn>): void | Promise<void>;
  close?(): void | Promise<void>;
}

/** Builds one processor instance per task; `config` is the node's `config` from the topology. */
export type ProcessorFactory = (config: Readonly<Record<string, unknown>>) => Processor<any, any, any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
