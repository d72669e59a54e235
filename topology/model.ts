/**
 * The topology model: what a user declares (in YAML or with the builder), before anything runs.
 * Plain data, so the YAML loader, the builder, `describe` and the runtime all share one shape.
 * Names follow Kafka Streams: sources read topics, processors transform, sinks write topics, stores hold state.
 */

export type ProcessingGuarantee = 'exactly_once' | 'at_least_once';

/** What a processor does with a record it cannot deserialize or process (issue #3, poison records). */
export type ErrorPolicy = 'fail' | 'dlq' | 'skip';

/** Key and value formats. `avro` names a schema in schemas/ (file `<schema>.avsc`), registered in the registry. */
export type Format = { type: 'string' } | { type: 'json' } | { type: 'bytes' } | { type: 'avro'; schema: string };

export interface TopicSpec {
  name: string;
  partitions: number;
  replicationFactor: number;
  key: Format;
  value: Format;
  /** Compacted (cleanup.policy=compact), as changelogs and tables are. */
  compacted: boolean;
  /** Created and named by the engine (changelogs, repartition, dead letters), not by the user. */
  internal: boolean;
  /** Extra topic configs passed to CreateTopics as they are. */
  config: Record<string, string>;
}

export interface StoreSpec {
  name: string;
  kind: 'rocksdb' | 'memory';
  /** A compacted changelog topic `<application>-<store>-changelog` backs the store unless turned off. */
  changelog: boolean;
  key: Format;
  value: Format;
}

/** Where in a YAML file a node was declared, for errors that name file:line:column. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

interface NodeBase {
  name: string;
  location?: SourceLocation;
}

export interface SourceNode extends NodeBase {
  kind: 'source';
  topics: string[];
}

export interface ProcessorNode extends NodeBase {
  kind: 'processor';
  /** The implementation's registered name (see topology/registry.ts). */
  processor: string;
  parents: string[];
  stores: string[];
  onError: ErrorPolicy;
  /** Free-form settings handed to the implementation's factory. */
  config: Record<string, unknown>;
}

export interface SinkNode extends NodeBase {
  kind: 'sink';
  topic: string;
  parents: string[];
}

export type TopologyNode = SourceNode | ProcessorNode | SinkNode;

export interface TopologySpec {
  /** Like Kafka Streams' application.id: prefixes the consumer group, changelogs and transactional ids. */
  application: string;
  guarantee: ProcessingGuarantee;
  topics: TopicSpec[];
  stores: StoreSpec[];
  nodes: TopologyNode[];
  /** Dead-letter topic; default `<application>-dlq`. */
  deadLetterTopic: string;
}

/**
 * A validated topology with its derived structure: sub-topologies are the connected components of nodes
 * joined by parent edges or shared stores; each runs as one task per input partition (`<subtopology>_<partition>`).
 */
export interface Subtopology {
  id: number;
  /** Node names in a parents-before-children order. */
  nodes: string[];
  sourceTopics: string[];
  sinkTopics: string[];
  stores: string[];
  /** Partitions of every source topic (validation guarantees they are equal: co-partitioning). */
  partitions: number;
}

export interface Topology {
  spec: TopologySpec;
  subtopologies: Subtopology[];
  /** Loops through a topic (a sink writes a topic a source of the same or an earlier sub-topology reads). */
  topicLoops: string[][];
}

export function changelogTopicName(application: string, store: string): string {
  return `${application}-${store}-changelog`;
}

export function taskId(subtopology: number, partition: number): string {
  return `${subtopology}_${partition}`;
}
