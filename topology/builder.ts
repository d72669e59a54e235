/**
 * A fluent way to declare a topology in code, after Kafka Streams' `Topology.addSource/addProcessor/addSink`.
 * It only records declarations and fills defaults; `build()` hands the spec to `buildTopology`, which reports
 * every problem at once. The YAML loader produces the same `TopologySpec`.
 */
import type {
  ErrorPolicy,
  Format,
  ProcessingGuarantee,
  StoreSpec,
  TopicSpec,
  Topology,
  TopologyNode,
  TopologySpec,
} from './model.ts';
import { buildTopology, type ValidateOptions } from './validate.ts';

/** A format as written in YAML (`json`, `{ avro: Name }`) or as the model spells it (`{ type: 'json' }`). */
export type FormatInput = 'string' | 'json' | 'bytes' | { avro: string } | Format;

export interface TopicInput {
  name: string;
  partitions: number;
  /** Default `bytes`. */
  key?: FormatInput;
  /** Default `bytes`. */
  value?: FormatInput;
  /** Default 1. */
  replicationFactor?: number;
  /** Default false. */
  compacted?: boolean;
  /** Default false. */
  internal?: boolean;
  /** Default {}. */
  config?: Record<string, string>;
}

export interface StoreInput {
  name: string;
  /** Default `rocksdb`. */
  kind?: StoreSpec['kind'];
  /** Default true: a compacted changelog topic backs the store. */
  changelog?: boolean;
  /** Default `bytes`. */
  key?: FormatInput;
  /** Default `bytes`. */
  value?: FormatInput;
}

export interface ProcessorInput {
  /** The implementation's registered name. */
  processor: string;
  parents: string[];
  /** Default []. */
  stores?: string[];
  /** Default `fail`. */
  onError?: ErrorPolicy;
  /** Default {}. */
  config?: Record<string, unknown>;
}

export interface SinkInput {
  topic: string;
  parents: string[];
}

export const defaultGuarantee: ProcessingGuarantee = 'exactly_once';

export function defaultDeadLetterTopic(application: string): string {
  return `${application}-dlq`;
}

export function toFormat(input: FormatInput): Format {
  if (typeof input === 'string') return { type: input };
  if ('avro' in input) return { type: 'avro', schema: input.avro };
  return input;
}

export function topicSpec(input: TopicInput): TopicSpec {
  return {
    name: input.name,
    partitions: input.partitions,
    replicationFactor: input.replicationFactor ?? 1,
    key: toFormat(input.key ?? 'bytes'),
    value: toFormat(input.value ?? 'bytes'),
    compacted: input.compacted ?? false,
    internal: input.internal ?? false,
    config: { ...input.config },
  };
}

export function storeSpec(input: StoreInput): StoreSpec {
  return {
    name: input.name,
    kind: input.kind ?? 'rocksdb',
    changelog: input.changelog ?? true,
    key: toFormat(input.key ?? 'bytes'),
    value: toFormat(input.value ?? 'bytes'),
  };
}

function copyNode(node: TopologyNode): TopologyNode {
  switch (node.kind) {
    case 'source':
      return { ...node, topics: [...node.topics] };
    case 'sink':
      return { ...node, parents: [...node.parents] };
    case 'processor':
      return { ...node, parents: [...node.parents], stores: [...node.stores], config: { ...node.config } };
  }
}

export class TopologyBuilder {
  readonly #application: string;
  #guarantee: ProcessingGuarantee = defaultGuarantee;
  #deadLetterTopic: string | undefined;
  readonly #topics: TopicSpec[] = [];
  readonly #stores: StoreSpec[] = [];
  readonly #nodes: TopologyNode[] = [];

  constructor(application: string) {
    this.#application = application;
  }

  guarantee(guarantee: ProcessingGuarantee): this {
    this.#guarantee = guarantee;
    return this;
  }

  /** Default `<application>-dlq`. */
  deadLetterTopic(topic: string): this {
    this.#deadLetterTopic = topic;
    return this;
  }

  topic(input: TopicInput): this {
    this.#topics.push(topicSpec(input));
    return this;
  }

  store(input: StoreInput): this {
    this.#stores.push(storeSpec(input));
    return this;
  }

  source(name: string, topics: string[]): this {
    this.#nodes.push({ kind: 'source', name, topics: [...topics] });
    return this;
  }

  processor(name: string, input: ProcessorInput): this {
    this.#nodes.push({
      kind: 'processor',
      name,
      processor: input.processor,
      parents: [...input.parents],
      stores: [...(input.stores ?? [])],
      onError: input.onError ?? 'fail',
      config: { ...input.config },
    });
    return this;
  }

  sink(name: string, input: SinkInput): this {
    this.#nodes.push({ kind: 'sink', name, topic: input.topic, parents: [...input.parents] });
    return this;
  }

  /** The declarations with defaults filled in, not validated. Each call returns fresh arrays and objects. */
  spec(): TopologySpec {
    return {
      application: this.#application,
      guarantee: this.#guarantee,
      topics: this.#topics.map((t) => ({ ...t, config: { ...t.config } })),
      stores: this.#stores.map((s) => ({ ...s })),
      nodes: this.#nodes.map(copyNode),
      deadLetterTopic: this.#deadLetterTopic ?? defaultDeadLetterTopic(this.#application),
    };
  }

  /** Validates; throws a TopologyValidationError listing every problem. */
  build(options?: ValidateOptions): Topology {
    return buildTopology(this.spec(), options);
  }
}
