/**
 * Three views of a validated topology: Kafka Streams' `Topology.describe()` text (so tools made for it, such as
 * zz85/kafka-streams-viz, read ours), a Mermaid flowchart, and the JSON graph `parley describe --dry-run --json`
 * prints (nodes, edges, topics with the engine's internal ones, tasks per sub-topology).
 */
import type { ProcessingGuarantee, Subtopology, Topology, TopologyNode } from './model.ts';
import { changelogTopicName, taskId } from './model.ts';
import { internalTopics } from './validate.ts';

function nodeMap(topology: Topology): Map<string, TopologyNode> {
  return new Map(topology.spec.nodes.map((n) => [n.name, n]));
}

function childrenOf(topology: Topology, name: string): string[] {
  return topology.spec.nodes.filter((n) => n.kind !== 'source' && n.parents.includes(name)).map((n) => n.name);
}

/** Kafka Streams' `nodeNames`: comma-separated, or `none`. */
function nodeNames(names: readonly string[]): string {
  return names.length === 0 ? 'none' : names.join(', ');
}

function describeNode(topology: Topology, node: TopologyNode): string {
  const children = `\n      --> ${nodeNames(childrenOf(topology, node.name))}`;
  switch (node.kind) {
    case 'source':
      return `Source: ${node.name} (topics: [${node.topics.join(', ')}])${children}`;
    case 'processor':
      return `Processor: ${node.name} (stores: [${node.stores.join(', ')}])${children}\n      <-- ${nodeNames(node.parents)}`;
    case 'sink':
      return `Sink: ${node.name} (topic: ${node.topic})\n      <-- ${nodeNames(node.parents)}`;
  }
}

/**
 * The text of Kafka Streams' `TopologyDescription.toString()`, spacing quirks included (the first sub-topology
 * is indented three spaces, later ones two, each followed by a blank line). Nodes come parents-first.
 */
export function describeText(topology: Topology): string {
  const nodes = nodeMap(topology);
  const parts = topology.subtopologies.map((s) => {
    const lines = s.nodes.map((name) => `    ${describeNode(topology, nodes.get(name)!)}\n`).join('');
    return `  Sub-topology: ${s.id}\n${lines}\n`;
  });
  return `Topologies:\n ${parts.join('')}`;
}

/** Mermaid ids are generated (n0, t0, s0): user names may hold characters Mermaid gives meaning to. */
function mermaidIds(topology: Topology): {
  node: Map<string, string>;
  topic: Map<string, string>;
  store: Map<string, string>;
} {
  const ids = (names: string[], prefix: string) => new Map(names.map((n, i) => [n, `${prefix}${i}`]));
  const { spec } = topology;
  const topicNames = [
    ...new Set([
      ...spec.topics.map((t) => t.name),
      ...spec.nodes.flatMap((n) => (n.kind === 'source' ? n.topics : n.kind === 'sink' ? [n.topic] : [])),
    ]),
  ];
  return {
    node: ids(
      spec.nodes.map((n) => n.name),
      'n',
    ),
    topic: ids(topicNames, 't'),
    store: ids(
      spec.stores.map((s) => s.name),
      's',
    ),
  };
}

function label(text: string): string {
  return `"${text.replace(/"/g, '#quot;')}"`;
}

/** Topics on a loop and the topic edges (`from\u0000to`) the loops take; a loop starts at a topic. */
function loopMarks(topology: Topology, nodes: Map<string, TopologyNode>): { topics: Set<string>; edges: Set<string> } {
  const topics = new Set<string>();
  const edges = new Set<string>();
  for (const loop of topology.topicLoops) {
    let isTopic = true;
    loop.forEach((name, i) => {
      const next = loop[(i + 1) % loop.length]!;
      if (isTopic) topics.add(name);
      // After a topic comes its source; after a sink, the topic it writes.
      const towardsTopic = !isTopic && nodes.get(name)?.kind === 'sink';
      if (isTopic || towardsTopic) edges.add(`${name}\u0000${next}`);
      isTopic = towardsTopic;
    });
  }
  return { topics, edges };
}

/**
 * A `flowchart LR`: one subgraph per sub-topology holding its nodes (boxes) and stores (cylinders), topics as
 * stadiums between them. Record edges are solid arrows, store access dotted lines, and the edges of loops
 * through a topic thick arrows labelled `loop`, with the topic styled `loop`.
 */
export function describeMermaid(topology: Topology): string {
  const ids = mermaidIds(topology);
  const nodes = nodeMap(topology);
  const loops = loopMarks(topology, nodes);
  const lines = ['flowchart LR'];
  for (const [name, id] of ids.topic) lines.push(`  ${id}([${label(name)}])`);
  for (const s of topology.subtopologies) {
    lines.push(`  subgraph st${s.id}[${label(`Sub-topology ${s.id} (${s.partitions} tasks)`)}]`);
    for (const name of s.nodes) lines.push(`    ${ids.node.get(name)}[${label(`${nodes.get(name)!.kind}: ${name}`)}]`);
    for (const store of s.stores) lines.push(`    ${ids.store.get(store)}[(${label(store)})]`);
    lines.push('  end');
  }
  const arrow = (from: string, to: string) => (loops.edges.has(`${from}\u0000${to}`) ? '==>|loop|' : '-->');
  for (const node of topology.spec.nodes) {
    const id = ids.node.get(node.name)!;
    if (node.kind === 'source')
      for (const t of node.topics) lines.push(`  ${ids.topic.get(t)} ${arrow(t, node.name)} ${id}`);
    else for (const parent of node.parents) lines.push(`  ${ids.node.get(parent)} --> ${id}`);
    if (node.kind === 'processor') for (const store of node.stores) lines.push(`  ${id} -.- ${ids.store.get(store)}`);
    if (node.kind === 'sink') lines.push(`  ${id} ${arrow(node.name, node.topic)} ${ids.topic.get(node.topic)}`);
  }
  if (loops.topics.size > 0) {
    lines.push('  classDef loop stroke:#d33,stroke-width:3px');
    lines.push(`  class ${[...loops.topics].map((t) => ids.topic.get(t)).join(',')} loop`);
  }
  return `${lines.join('\n')}\n`;
}

export interface TopologyJson {
  application: string;
  guarantee: ProcessingGuarantee;
  deadLetterTopic: string;
  subtopologies: {
    id: number;
    partitions: number;
    tasks: string[];
    nodes: string[];
    sourceTopics: string[];
    sinkTopics: string[];
    stores: string[];
  }[];
  nodes: ({ name: string; kind: TopologyNode['kind']; subtopology: number } & Record<string, unknown>)[];
  edges: { from: string; to: string; kind: 'record' | 'topic' | 'store' }[];
  topics: { name: string; partitions: number; replicationFactor: number; compacted: boolean; internal: boolean }[];
  stores: { name: string; kind: 'rocksdb' | 'memory'; changelogTopic: string | null; subtopology: number | null }[];
  topicLoops: string[][];
}

function jsonNode(node: TopologyNode, subtopology: number): TopologyJson['nodes'][number] {
  const base = { name: node.name, kind: node.kind, subtopology };
  switch (node.kind) {
    case 'source':
      return { ...base, topics: node.topics };
    case 'processor':
      return { ...base, processor: node.processor, parents: node.parents, stores: node.stores, onError: node.onError };
    case 'sink':
      return { ...base, topic: node.topic, parents: node.parents };
  }
}

function jsonEdges(topology: Topology): TopologyJson['edges'] {
  return topology.spec.nodes.flatMap((node): TopologyJson['edges'] => {
    if (node.kind === 'source') return node.topics.map((t) => ({ from: t, to: node.name, kind: 'topic' }));
    const records = node.parents.map((p) => ({ from: p, to: node.name, kind: 'record' as const }));
    if (node.kind === 'sink') return [...records, { from: node.name, to: node.topic, kind: 'topic' }];
    return [...records, ...node.stores.map((s) => ({ from: node.name, to: s, kind: 'store' as const }))];
  });
}

/** The compiled graph, as `parley describe --dry-run --json` prints it (shape after Arroyo's validate_sql graph). */
export function describeJson(topology: Topology): TopologyJson {
  const { spec } = topology;
  const owner = new Map<string, Subtopology>();
  for (const s of topology.subtopologies) for (const n of s.nodes) owner.set(n, s);
  const storeOwner = (store: string) => topology.subtopologies.find((s) => s.stores.includes(store));
  return {
    application: spec.application,
    guarantee: spec.guarantee,
    deadLetterTopic: spec.deadLetterTopic,
    subtopologies: topology.subtopologies.map((s) => ({
      id: s.id,
      partitions: s.partitions,
      tasks: Array.from({ length: s.partitions }, (_, p) => taskId(s.id, p)),
      nodes: s.nodes,
      sourceTopics: s.sourceTopics,
      sinkTopics: s.sinkTopics,
      stores: s.stores,
    })),
    nodes: spec.nodes.map((n) => jsonNode(n, owner.get(n.name)!.id)),
    edges: jsonEdges(topology),
    topics: [...spec.topics, ...internalTopics(topology)].map((t) => ({
      name: t.name,
      partitions: t.partitions,
      replicationFactor: t.replicationFactor,
      compacted: t.compacted,
      internal: t.internal,
    })),
    stores: spec.stores.map((s) => ({
      name: s.name,
      kind: s.kind,
      changelogTopic: s.changelog && storeOwner(s.name) ? changelogTopicName(spec.application, s.name) : null,
      subtopology: storeOwner(s.name)?.id ?? null,
    })),
    topicLoops: topology.topicLoops,
  };
}
