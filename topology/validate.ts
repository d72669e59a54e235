/**
 * Validation of a topology spec and derivation of its structure (sub-topologies, loops through topics).
 * Every problem is collected before anything is thrown, so a user fixes a broken config in one pass.
 *
 * Each issue carries a `path` into the declarative form, the way the YAML config spells it (for example
 * `['processors', 'aggregate', 'parents', 1]`), so the YAML loader can point at the exact scalar; `location`
 * is the declaring node's, when the node has one.
 */
import { DisjointSets, isCyclic, shortestCycle, stronglyConnected, topologicalOrder } from './graph.ts';
import type { Format, Subtopology, TopicSpec, Topology, TopologyNode, TopologySpec } from './model.ts';
import { changelogTopicName } from './model.ts';
import {
  TopologyValidationError,
  type IssueCode,
  type IssuePath,
  type IssueSeverity,
  type TopologyIssue,
} from './issues.ts';
import type { ProcessorRegistry } from './registry.ts';

export {
  formatIssue,
  TopologyValidationError,
  type IssueCode,
  type IssuePath,
  type IssueSeverity,
  type TopologyIssue,
} from './issues.ts';

export interface ValidateOptions {
  /** When given, every `processor:` must name a registered implementation. */
  registry?: ProcessorRegistry;
  /** When given, every `{ avro: Name }` format must name an existing schema. */
  schemaExists?: (name: string) => boolean;
}

const sectionOf = { source: 'sources', processor: 'processors', sink: 'sinks' } as const;
/** Kafka's legal topic characters; store and application names end up inside topic names too. */
const topicNamePattern = /^[A-Za-z0-9._-]{1,249}$/;

interface Context {
  spec: TopologySpec;
  options: ValidateOptions;
  issues: TopologyIssue[];
  topics: Map<string, TopicSpec>;
  storeNames: Set<string>;
  /** First declaration of every node name. */
  nodes: Map<string, TopologyNode>;
}

function report(
  ctx: Context,
  code: IssueCode,
  message: string,
  path: IssuePath,
  node?: TopologyNode,
  severity: IssueSeverity = 'error',
): void {
  const issue: TopologyIssue = { severity, code, message, path };
  if (node) issue.node = node.name;
  if (node?.location) issue.location = node.location;
  ctx.issues.push(issue);
}

/** ` (did you mean "x"?)` when a known name is one or two edits away: most unknown names are typos. */
function suggestion(name: string, known: Iterable<string>): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

function checkName(ctx: Context, what: string, name: string, path: IssuePath): void {
  if (!topicNamePattern.test(name)) {
    report(ctx, 'invalid-value', `${what} "${name}" must be 1-249 characters of A-Z a-z 0-9 . _ -`, path);
  }
}

function checkFormat(ctx: Context, owner: string, field: 'key' | 'value', format: Format, path: IssuePath): void {
  if (format.type !== 'avro' || !ctx.options.schemaExists || ctx.options.schemaExists(format.schema)) return;
  report(ctx, 'missing-schema', `${owner} ${field}: avro schema "${format.schema}" not found`, [
    ...path,
    field,
    'avro',
  ]);
}

function checkTopics(ctx: Context): void {
  for (const topic of ctx.spec.topics) {
    const path = ['topics', topic.name];
    if (ctx.topics.has(topic.name)) {
      report(ctx, 'duplicate-name', `topic "${topic.name}" is declared more than once`, path);
      continue;
    }
    ctx.topics.set(topic.name, topic);
    checkName(ctx, 'topic', topic.name, path);
    for (const field of ['partitions', 'replicationFactor'] as const) {
      const n = topic[field];
      if (!Number.isInteger(n) || n < 1) {
        report(ctx, 'invalid-value', `topic "${topic.name}": ${field} must be a positive integer`, [...path, field]);
      }
    }
    checkFormat(ctx, `topic "${topic.name}"`, 'key', topic.key, path);
    checkFormat(ctx, `topic "${topic.name}"`, 'value', topic.value, path);
  }
}

function checkStores(ctx: Context): void {
  const used = new Set(ctx.spec.nodes.flatMap((n) => (n.kind === 'processor' ? n.stores : [])));
  for (const store of ctx.spec.stores) {
    const path = ['stores', store.name];
    if (ctx.storeNames.has(store.name)) {
      report(ctx, 'duplicate-name', `store "${store.name}" is declared more than once`, path);
      continue;
    }
    ctx.storeNames.add(store.name);
    checkName(ctx, 'store', store.name, path);
    checkFormat(ctx, `store "${store.name}"`, 'key', store.key, path);
    checkFormat(ctx, `store "${store.name}"`, 'value', store.value, path);
    if (!used.has(store.name)) {
      const message = `store "${store.name}" is used by no processor (add it to a processor's stores, or remove it)`;
      report(ctx, 'unused-store', message, path, undefined, 'warning');
    }
  }
}

function checkParents(ctx: Context, node: TopologyNode & { parents: string[] }, path: IssuePath): void {
  const what = `${node.kind} "${node.name}"`;
  if (node.parents.length === 0) {
    report(
      ctx,
      'no-parents',
      `${what} has no parents (name at least one source or processor)`,
      [...path, 'parents'],
      node,
    );
  }
  node.parents.forEach((parent, i) => {
    const found = ctx.nodes.get(parent);
    if (!found) {
      const hint = suggestion(parent, ctx.nodes.keys());
      report(ctx, 'unknown-parent', `${what}: unknown parent "${parent}"${hint}`, [...path, 'parents', i], node);
    } else if (found.kind === 'sink') {
      const message = `${what}: parent "${parent}" is a sink, and sinks have no children`;
      report(ctx, 'sink-as-parent', message, [...path, 'parents', i], node);
    }
  });
}

function checkTopicRef(ctx: Context, node: TopologyNode, topic: string, path: IssuePath): void {
  if (ctx.topics.has(topic)) return;
  const verb = node.kind === 'sink' ? 'writes' : 'reads';
  const message = `${node.kind} "${node.name}" ${verb} undeclared topic "${topic}"${suggestion(topic, ctx.topics.keys())}`;
  report(ctx, 'unknown-topic', message, path, node);
}

function checkNode(ctx: Context, node: TopologyNode, readers: Map<string, string>): void {
  const path = [sectionOf[node.kind], node.name];
  if (node.kind === 'source') {
    if (node.topics.length === 0) {
      report(ctx, 'invalid-value', `source "${node.name}" reads no topic`, [...path, 'topics'], node);
    }
    node.topics.forEach((topic, i) => {
      checkTopicRef(ctx, node, topic, [...path, 'topics', i]);
      const reader = readers.get(topic);
      if (reader !== undefined && reader !== node.name) {
        const message = `topic "${topic}" is read by sources "${reader}" and "${node.name}"; one source per topic`;
        report(ctx, 'topic-read-twice', message, [...path, 'topics', i], node);
      }
      readers.set(topic, reader ?? node.name);
    });
  } else if (node.kind === 'sink') {
    checkParents(ctx, node, path);
    checkTopicRef(ctx, node, node.topic, [...path, 'topic']);
  } else {
    checkParents(ctx, node, path);
    node.stores.forEach((store, i) => {
      if (ctx.storeNames.has(store)) return;
      const message = `processor "${node.name}": unknown store "${store}"${suggestion(store, ctx.storeNames)}`;
      report(ctx, 'unknown-store', message, [...path, 'stores', i], node);
    });
    const registry = ctx.options.registry;
    if (registry && !registry.has(node.processor)) {
      const known = registry.names().join(', ') || 'none';
      const message = `processor "${node.name}": no implementation named "${node.processor}" (registered: ${known})`;
      report(ctx, 'unknown-processor', message, [...path, 'processor'], node);
    }
  }
}

function checkNodes(ctx: Context): void {
  for (const node of ctx.spec.nodes) {
    if (ctx.nodes.has(node.name)) {
      const first = ctx.nodes.get(node.name)!;
      const message = `node name "${node.name}" is used twice (a ${first.kind} and a ${node.kind}); names must be unique`;
      report(ctx, 'duplicate-name', message, [sectionOf[node.kind], node.name], node);
    } else {
      ctx.nodes.set(node.name, node);
    }
  }
  const readers = new Map<string, string>();
  for (const node of ctx.spec.nodes) checkNode(ctx, node, readers);
}

/** Parent → children edges between known nodes; children in declaration order. */
function childEdges(ctx: Context): Map<string, string[]> {
  const children = new Map<string, string[]>([...ctx.nodes.keys()].map((n) => [n, []]));
  for (const node of ctx.nodes.values()) {
    if (node.kind === 'source') continue;
    for (const parent of new Set(node.parents)) children.get(parent)?.push(node.name);
  }
  return children;
}

function checkCycles(ctx: Context, children: Map<string, string[]>): void {
  const names = [...ctx.nodes.keys()];
  const order = new Map(names.map((n, i) => [n, i]));
  for (const component of stronglyConnected(names, children)) {
    if (!isCyclic(component, children)) continue;
    const first = component.reduce((a, b) => (order.get(a)! <= order.get(b)! ? a : b));
    const cycle = shortestCycle(first, children)!;
    const node = ctx.nodes.get(first)!;
    const message = `cycle through parent edges: ${[...cycle, first].join(' -> ')}; a loop must pass through a topic (sink -> topic -> source)`;
    report(ctx, 'cycle', message, [sectionOf[node.kind], first, 'parents'], node);
  }
}

/** Connected components over parent edges and shared stores, ordered by their first source's declaration. */
function components(ctx: Context): string[][] {
  const sets = new DisjointSets();
  const storeUser = new Map<string, string>();
  for (const node of ctx.nodes.values()) {
    sets.find(node.name);
    if (node.kind === 'source') continue;
    for (const parent of node.parents) if (ctx.nodes.has(parent)) sets.union(parent, node.name);
    if (node.kind !== 'processor') continue;
    for (const store of node.stores) {
      const user = storeUser.get(store);
      if (user === undefined) storeUser.set(store, node.name);
      else sets.union(user, node.name);
    }
  }
  const groups = new Map<string, string[]>();
  for (const name of ctx.nodes.keys()) {
    const root = sets.find(name);
    groups.set(root, [...(groups.get(root) ?? []), name]);
  }
  const names = [...ctx.nodes.keys()];
  const rank = (group: string[]): number => {
    const source = names.findIndex((n) => group.includes(n) && ctx.nodes.get(n)!.kind === 'source');
    return source >= 0 ? source : names.length + names.indexOf(group[0]!);
  };
  return [...groups.values()].sort((a, b) => rank(a) - rank(b));
}

function subtopology(ctx: Context, id: number, group: string[], children: Map<string, string[]>): Subtopology {
  const nodes = topologicalOrder(group, children);
  const declared = nodes.map((n) => ctx.nodes.get(n)!);
  const sourceTopics = [...new Set(declared.flatMap((n) => (n.kind === 'source' ? n.topics : [])))];
  const sinkTopics = [...new Set(declared.flatMap((n) => (n.kind === 'sink' ? [n.topic] : [])))];
  const used = new Set(declared.flatMap((n) => (n.kind === 'processor' ? n.stores : [])));
  const stores = ctx.spec.stores.map((s) => s.name).filter((s, i, all) => used.has(s) && all.indexOf(s) === i);
  const counts = sourceTopics.flatMap((t) => (ctx.topics.has(t) ? [[t, ctx.topics.get(t)!.partitions] as const] : []));
  const partitions = counts[0]?.[1] ?? 0;
  const odd = counts.find(([, n]) => n !== partitions);
  if (odd) {
    const source = declared.find((n) => n.kind === 'source' && n.topics.includes(odd[0]))!;
    const list = counts.map(([t, n]) => `${t} (${n})`).join(', ');
    const message = `sub-topology ${id} is not co-partitioned: its source topics have different partition counts: ${list}; every source topic of one sub-topology needs the same count`;
    report(ctx, 'co-partitioning', message, [sectionOf[source.kind], source.name, 'topics'], source);
  }
  return { id, nodes, sourceTopics, sinkTopics, stores, partitions };
}

/**
 * Loops through topics: cycles in the graph of nodes and topics (sink -> topic -> source). Each loop is listed
 * in data-flow order from the topic through which it re-enters, e.g. `['votes', 'votes-in', 'tally',
 * 'votes-out']` (votes-out writes votes again). Allowed: EPaxos replicas talk to each other this way.
 */
function findTopicLoops(ctx: Context, children: Map<string, string[]>): string[][] {
  const next = new Map<string, string[]>();
  const topicVertices = [...ctx.topics.keys()].map((t) => `t:${t}`);
  for (const t of topicVertices) next.set(t, []);
  for (const node of ctx.nodes.values()) {
    next.set(
      `n:${node.name}`,
      (children.get(node.name) ?? []).map((c) => `n:${c}`),
    );
    if (node.kind === 'source') for (const t of node.topics) next.get(`t:${t}`)?.push(`n:${node.name}`);
    if (node.kind === 'sink' && ctx.topics.has(node.topic)) next.get(`n:${node.name}`)!.push(`t:${node.topic}`);
  }
  const vertices = [...topicVertices, ...[...ctx.nodes.keys()].map((n) => `n:${n}`)];
  const order = new Map(vertices.map((v, i) => [v, i]));
  const loops = new Map<string, string[]>();
  for (const component of stronglyConnected(vertices, next)) {
    if (!isCyclic(component, next)) continue;
    const topics = component.filter((v) => v.startsWith('t:')).sort((a, b) => order.get(a)! - order.get(b)!);
    for (const topic of topics) {
      const cycle = shortestCycle(topic, next)!;
      // Start each loop at its earliest-declared topic, so a loop through two topics is listed once.
      const start = cycle.reduce(
        (best, v, i) => (v.startsWith('t:') && order.get(v)! < order.get(cycle[best]!)! ? i : best),
        0,
      );
      const rotated = [...cycle.slice(start), ...cycle.slice(0, start)].map((v) => v.slice(2));
      loops.set(rotated.join('\u0000'), rotated);
    }
  }
  return [...loops.values()];
}

function checkSpecFields(ctx: Context): void {
  checkName(ctx, 'application', ctx.spec.application, ['application']);
  // The default name follows the application's; a bad application name is reported once, not twice.
  const derived = ctx.spec.deadLetterTopic === `${ctx.spec.application}-dlq`;
  if (!derived || topicNamePattern.test(ctx.spec.application)) {
    checkName(ctx, 'dead-letter topic', ctx.spec.deadLetterTopic, ['deadLetterTopic']);
  }
  if (ctx.spec.guarantee !== 'exactly_once' && ctx.spec.guarantee !== 'at_least_once') {
    const message = `guarantee must be exactly_once or at_least_once, not "${String(ctx.spec.guarantee)}"`;
    report(ctx, 'invalid-value', message, ['guarantee']);
  }
}

/** Checks everything and, when there is no error, derives the topology. Warnings do not stop it. */
export function validateTopology(
  spec: TopologySpec,
  options: ValidateOptions = {},
): { topology?: Topology; issues: TopologyIssue[] } {
  const ctx: Context = { spec, options, issues: [], topics: new Map(), storeNames: new Set(), nodes: new Map() };
  checkSpecFields(ctx);
  checkTopics(ctx);
  checkStores(ctx);
  checkNodes(ctx);
  const children = childEdges(ctx);
  checkCycles(ctx, children);
  const subtopologies = components(ctx).map((group, id) => subtopology(ctx, id, group, children));
  const topicLoops = findTopicLoops(ctx, children);
  if (ctx.issues.some((i) => i.severity === 'error')) return { issues: ctx.issues };
  return { topology: { spec, subtopologies, topicLoops }, issues: ctx.issues };
}

/** Validates and derives the topology; throws a TopologyValidationError listing every issue if any is an error. */
export function buildTopology(spec: TopologySpec, options: ValidateOptions = {}): Topology {
  const { topology, issues } = validateTopology(spec, options);
  if (!topology) throw new TopologyValidationError(issues, spec.application);
  return topology;
}

/**
 * Topics the engine creates itself: a compacted changelog per logged store (as many partitions as the tasks of
 * the sub-topology using it, like Kafka Streams; replication as the largest factor among declared topics) and
 * the dead-letter topic unless the user declared it (one partition, replication 1: declare it to choose
 * otherwise). Must agree with what topology/runtime/app.ts creates, or dry runs would mislead.
 */
export function internalTopics(topology: Topology): TopicSpec[] {
  const { spec } = topology;
  const replicationFactor = Math.max(1, ...spec.topics.map((t) => t.replicationFactor));
  const bytes: Format = { type: 'bytes' };
  const topics: TopicSpec[] = [];
  for (const store of spec.stores) {
    const owner = topology.subtopologies.find((s) => s.stores.includes(store.name));
    if (!store.changelog || !owner) continue;
    const name = changelogTopicName(spec.application, store.name);
    const base = { name, partitions: owner.partitions, replicationFactor, key: store.key, value: store.value };
    topics.push({ ...base, compacted: true, internal: true, config: {} });
  }
  if (!spec.topics.some((t) => t.name === spec.deadLetterTopic)) {
    const base = { name: spec.deadLetterTopic, partitions: 1, replicationFactor: 1, key: bytes, value: bytes };
    topics.push({ ...base, compacted: false, internal: true, config: {} });
  }
  return topics;
}
