/**
 * From the YAML document (as plain data) to a TopologySpec, filling the same defaults as the builder. It is
 * lenient on purpose: a value of the wrong shape (already reported by the schema check) becomes a neutral one,
 * so the validator can still report every other problem of the file in the same run.
 */
import { defaultDeadLetterTopic, defaultGuarantee, storeSpec, topicSpec, type FormatInput } from '../builder.ts';
import type { ErrorPolicy, SourceLocation, StoreSpec, TopicSpec, TopologyNode, TopologySpec } from '../model.ts';
import type { IssuePath } from '../validate.ts';

type Data = Record<string, unknown>;

function record(value: unknown): Data {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Data) : {};
}

function entries(value: unknown): [string, Data][] {
  return Object.entries(record(value)).map(([name, v]) => [name, record(v)]);
}

function text(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

function names(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  return allowed.includes(value as T) ? (value as T) : fallback;
}

/** A wrong number becomes NaN, which the validator rejects at the same path the schema already reported. */
function count(value: unknown, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  return typeof value === 'number' ? value : Number.NaN;
}

function format(value: unknown): FormatInput {
  if (value === 'string' || value === 'json' || value === 'bytes') return value;
  const avro = record(value)['avro'];
  return typeof avro === 'string' ? { avro } : 'bytes';
}

function optionalBoolean(value: unknown): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

function topic(name: string, t: Data): TopicSpec {
  const config = Object.fromEntries(Object.entries(record(t['config'])).map(([k, v]) => [k, String(v)]));
  return topicSpec({
    name,
    partitions: count(t['partitions']),
    replicationFactor: count(t['replicationFactor'], 1),
    key: format(t['key']),
    value: format(t['value']),
    compacted: optionalBoolean(t['compacted']) ?? false,
    config,
  });
}

function store(name: string, s: Data): StoreSpec {
  return storeSpec({
    name,
    kind: oneOf(s['kind'], ['rocksdb', 'memory'] as const, 'rocksdb'),
    changelog: optionalBoolean(s['changelog']) ?? true,
    key: format(s['key']),
    value: format(s['value']),
  });
}

/** Sources, then processors, then sinks, each in file order: the order sub-topology ids and tie-breaks use. */
function nodes(root: Data, locate: (path: IssuePath) => SourceLocation): TopologyNode[] {
  const at = (section: string, name: string) => ({ name, location: locate([section, name]) });
  const sources = entries(root['sources']).map(([name, s]): TopologyNode => ({
    kind: 'source',
    ...at('sources', name),
    topics: names(s['topics']),
  }));
  const processors = entries(root['processors']).map(([name, p]): TopologyNode => ({
    kind: 'processor',
    ...at('processors', name),
    processor: text(p['processor'], ''),
    parents: names(p['parents']),
    stores: names(p['stores']),
    onError: oneOf<ErrorPolicy>(p['onError'], ['fail', 'dlq', 'skip'], 'fail'),
    config: { ...record(p['config']) },
  }));
  const sinks = entries(root['sinks']).map(([name, s]): TopologyNode => ({
    kind: 'sink',
    ...at('sinks', name),
    topic: text(s['topic'], ''),
    parents: names(s['parents']),
  }));
  return [...sources, ...processors, ...sinks];
}

export function toSpec(document: unknown, locate: (path: IssuePath) => SourceLocation): TopologySpec {
  const root = record(document);
  const application = text(root['application'], '');
  return {
    application,
    guarantee: oneOf(root['guarantee'], ['exactly_once', 'at_least_once'] as const, defaultGuarantee),
    topics: entries(root['topics']).map(([name, t]) => topic(name, t)),
    stores: entries(root['stores']).map(([name, s]) => store(name, s)),
    nodes: nodes(root, locate),
    deadLetterTopic: text(root['deadLetterTopic'], defaultDeadLetterTopic(application)),
  };
}
