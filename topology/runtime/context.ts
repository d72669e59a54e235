/**
 * The ProcessorContext a processor instance sees. Forwards are collected while `process` runs and delivered
 * by the task afterwards, depth-first in call order (processor.ts explains why processors need not await).
 */
import type { KeyValueStore } from '../../state/types.ts';
import type { ProcessorNode } from '../model.ts';
import type { Cancellable, ProcessorContext, PunctuationType, RecordMetadata, StreamRecord } from '../processor.ts';

export interface Forward {
  record: StreamRecord<unknown, unknown>;
  child?: string;
}

export interface Punctuation {
  processor: string;
  type: PunctuationType;
  intervalMs: number;
  next: number;
  cancelled: boolean;
  punctuate(timestamp: number): void | Promise<void>;
}

export interface ContextHost {
  readonly application: string;
  readonly taskId: string;
  readonly streamTime: number;
  wallTime(): number;
  store(name: string): KeyValueStore<unknown, unknown> | undefined;
  addPunctuation(punctuation: Punctuation): void;
  requestCommit(): void;
}

export class NodeContext implements ProcessorContext<unknown, unknown> {
  recordMetadata: RecordMetadata | undefined;
  forwards: Forward[] = [];

  constructor(
    private readonly host: ContextHost,
    private readonly node: ProcessorNode,
    readonly children: string[],
  ) {}

  get application(): string {
    return this.host.application;
  }
  get taskId(): string {
    return this.host.taskId;
  }
  get processorName(): string {
    return this.node.name;
  }
  get config(): Readonly<Record<string, unknown>> {
    return this.node.config;
  }
  get streamTime(): number {
    return this.host.streamTime;
  }
  currentWallClockTime(): number {
    return this.host.wallTime();
  }

  forward(record: StreamRecord<unknown, unknown>, childName?: string): void {
    if (childName !== undefined && !this.children.includes(childName)) {
      throw new Error(
        `processor ${this.node.name} forwarded to "${childName}", which is not one of its children (${this.children.join(', ') || 'none'})`,
      );
    }
    this.forwards.push(childName === undefined ? { record } : { record, child: childName });
  }

  getStateStore<K, V>(name: string): KeyValueStore<K, V> {
    const store = this.node.stores.includes(name) ? this.host.store(name) : undefined;
    if (!store) {
      throw new Error(
        `processor ${this.node.name} asked for store "${name}", which is not declared for it (stores: ${this.node.stores.join(', ') || 'none'})`,
      );
    }
    return store as KeyValueStore<K, V>;
  }

  schedule(
    intervalMs: number,
    type: PunctuationType,
    punctuate: (timestamp: number) => void | Promise<void>,
  ): Cancellable {
    if (!(intervalMs >= 1)) throw new RangeError(`${this.node.name}: punctuation interval must be >= 1 ms`);
    const start = type === 'stream' ? this.host.streamTime : this.host.wallTime();
    const punctuation: Punctuation = {
      processor: this.node.name,
      type,
      intervalMs,
      next: (start >= 0 ? start : 0) + intervalMs,
      cancelled: false,
      punctuate,
    };
    this.host.addPunctuation(punctuation);
    return { cancel: () => void (punctuation.cancelled = true) };
  }

  commit(): void {
    this.host.requestCommit();
  }

  takeForwards(): Forward[] {
    const forwards = this.forwards;
    this.forwards = [];
    return forwards;
  }
}
