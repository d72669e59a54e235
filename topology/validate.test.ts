import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TopologyBuilder } from './builder.ts';
import { ProcessorRegistry } from './registry.ts';
import {
  buildTopology,
  formatIssue,
  internalTopics,
  TopologyValidationError,
  validateTopology,
  type TopologyIssue,
} from './validate.ts';

const noop = () => ({ process() {} });

function base(): TopologyBuilder {
  return new TopologyBuilder('app')
    .topic({ name: 'in', partitions: 2 })
    .topic({ name: 'out', partitions: 2 })
    .source('in-src', ['in']);
}

function issuesOf(builder: TopologyBuilder, options = {}): TopologyIssue[] {
  return validateTopology(builder.spec(), options).issues;
}

function only(issues: TopologyIssue[]): TopologyIssue {
  assert.equal(issues.length, 1, issues.map(formatIssue).join('\n'));
  return issues[0]!;
}

describe('validateTopology: each kind of problem', () => {
  it('duplicate names of topics, stores and nodes', () => {
    const issues = issuesOf(
      base()
        .topic({ name: 'in', partitions: 2 })
        .store({ name: 's' })
        .store({ name: 's' })
        .processor('in-src', { processor: 'x', parents: ['in-src'], stores: ['s'] }),
    ).filter((i) => i.code === 'duplicate-name');
    assert.deepEqual(
      issues.map((i) => i.path),
      [
        ['topics', 'in'],
        ['stores', 's'],
        ['processors', 'in-src'],
      ],
    );
    assert.match(issues[2]!.message, /"in-src" is used twice \(a source and a processor\)/);
  });

  it('unknown topics, read by a source or written by a sink', () => {
    const issues = issuesOf(
      base()
        .source('b', ['nowhere'])
        .sink('k', { topic: 'outt', parents: ['in-src'] }),
    );
    assert.deepEqual(
      issues.map((i) => [i.code, i.node, i.path]),
      [
        ['unknown-topic', 'b', ['sources', 'b', 'topics', 0]],
        ['unknown-topic', 'k', ['sinks', 'k', 'topic']],
      ],
    );
    assert.match(issues[1]!.message, /sink "k" writes undeclared topic "outt" \(did you mean "out"\?\)/);
  });

  it('unknown parents, parents that are sinks, and no parents at all', () => {
    const issues = issuesOf(
      base()
        .sink('k', { topic: 'out', parents: ['in-src'] })
        .processor('p', { processor: 'x', parents: ['in-src', 'ghost', 'k'] })
        .processor('lonely', { processor: 'x', parents: [] }),
    );
    assert.deepEqual(
      issues.map((i) => [i.code, i.node, i.path]),
      [
        ['unknown-parent', 'p', ['processors', 'p', 'parents', 1]],
        ['sink-as-parent', 'p', ['processors', 'p', 'parents', 2]],
        ['no-parents', 'lonely', ['processors', 'lonely', 'parents']],
      ],
    );
  });

  it('unknown stores, and a store nobody uses as a warning only', () => {
    const builder = base()
      .store({ name: 'used' })
      .store({ name: 'idle' })
      .processor('p', { processor: 'x', parents: ['in-src'], stores: ['used', 'usd'] });
    const issues = issuesOf(builder);
    assert.deepEqual(
      issues.map((i) => [i.severity, i.code, i.path]),
      [
        ['warning', 'unused-store', ['stores', 'idle']],
        ['error', 'unknown-store', ['processors', 'p', 'stores', 1]],
      ],
    );
    assert.match(issues[1]!.message, /did you mean "used"/);
    const clean = base()
      .store({ name: 'idle' })
      .processor('p', { processor: 'x', parents: ['in-src'] });
    const result = validateTopology(clean.spec());
    assert.ok(result.topology, 'a warning does not stop the build');
    assert.equal(only(result.issues).code, 'unused-store');
  });

  it('a topic read by two sources', () => {
    const issue = only(issuesOf(base().source('again', ['in'])));
    assert.equal(issue.code, 'topic-read-twice');
    assert.equal(issue.node, 'again');
  });

  it('avro schemas that do not exist', () => {
    const builder = base()
      .topic({ name: 'typed', partitions: 2, key: { avro: 'Key' }, value: { avro: 'Missing' } })
      .store({ name: 's', value: { avro: 'AlsoMissing' } })
      .processor('p', { processor: 'x', parents: ['in-src'], stores: ['s'] });
    const issues = issuesOf(builder, { schemaExists: (name: string) => name === 'Key' });
    assert.deepEqual(
      issues.map((i) => [i.code, i.path]),
      [
        ['missing-schema', ['topics', 'typed', 'value', 'avro']],
        ['missing-schema', ['stores', 's', 'value', 'avro']],
      ],
    );
    assert.deepEqual(issuesOf(builder), [], 'without schemaExists nothing is looked up');
  });

  it('processor implementations missing from the registry', () => {
    const registry = new ProcessorRegistry().register('known', noop);
    const builder = base()
      .processor('a', { processor: 'known', parents: ['in-src'] })
      .processor('b', { processor: 'unknown', parents: ['a'] });
    const issue = only(issuesOf(builder, { registry }));
    assert.equal(issue.code, 'unknown-processor');
    assert.deepEqual(issue.path, ['processors', 'b', 'processor']);
    assert.match(issue.message, /no implementation named "unknown" \(registered: known\)/);
  });

  it('bad values: partitions, names, empty sources', () => {
    const spec = base().topic({ name: 'zero', partitions: 0 }).source('empty', []).spec();
    spec.application = 'has space';
    spec.deadLetterTopic = 'dead/letters';
    const issues = validateTopology(spec).issues;
    assert.deepEqual(
      issues.map((i) => [i.code, i.path]),
      [
        ['invalid-value', ['application']],
        ['invalid-value', ['deadLetterTopic']],
        ['invalid-value', ['topics', 'zero', 'partitions']],
        ['invalid-value', ['sources', 'empty', 'topics']],
      ],
    );
  });

  it('names the node and its location when the node has one', () => {
    const spec = base()
      .processor('p', { processor: 'x', parents: ['gone'] })
      .spec();
    const location = { file: 'f.yaml', line: 7, column: 3 };
    spec.nodes[1]!.location = location;
    const issue = only(validateTopology(spec).issues);
    assert.equal(issue.node, 'p');
    assert.deepEqual(issue.location, location);
    assert.equal(formatIssue(issue), 'f.yaml:7:3: error: processor "p": unknown parent "gone"');
  });

  it('reports every issue of a broken topology at once, and throws them all', () => {
    const spec = base()
      .topic({ name: 'in', partitions: 1 })
      .store({ name: 'idle' })
      .source('wide', ['out'])
      .processor('join', { processor: 'x', parents: ['in-src', 'wide', 'nope'], stores: ['nada'] })
      .processor('c1', { processor: 'x', parents: ['c2'] })
      .processor('c2', { processor: 'x', parents: ['c1'] })
      .sink('k', { topic: 'void', parents: ['join'] })
      .spec();
    spec.topics[1]!.partitions = 5;
    const codes = validateTopology(spec).issues.map((i) => i.code);
    const expected = ['duplicate-name', 'unused-store', 'unknown-parent', 'unknown-store', 'unknown-topic', 'cycle'];
    assert.deepEqual(codes, [...expected, 'co-partitioning']);
    assert.throws(
      () => buildTopology(spec),
      (e: unknown) => e instanceof TopologyValidationError && e.issues.length === codes.length,
    );
  });
});

describe('validateTopology: cycles and loops', () => {
  it('rejects an in-process cycle and lists it', () => {
    const builder = base()
      .processor('a', { processor: 'x', parents: ['in-src', 'c'] })
      .processor('b', { processor: 'x', parents: ['a'] })
      .processor('c', { processor: 'x', parents: ['b'] })
      .processor('self', { processor: 'x', parents: ['self', 'in-src'] });
    const issues = issuesOf(builder);
    assert.deepEqual(
      issues.map((i) => [i.code, i.node]),
      [
        ['cycle', 'a'],
        ['cycle', 'self'],
      ],
    );
    assert.match(issues[0]!.message, /a -> b -> c -> a/);
    assert.match(issues[1]!.message, /self -> self/);
  });

  it('allows a loop through a topic inside one sub-topology and reports it', () => {
    const topology = base()
      .topic({ name: 'protocol', partitions: 2 })
      .source('protocol-in', ['protocol'])
      .processor('replica', { processor: 'x', parents: ['in-src', 'protocol-in'] })
      .sink('protocol-out', { topic: 'protocol', parents: ['replica'] })
      .build();
    assert.deepEqual(topology.topicLoops, [['protocol', 'protocol-in', 'replica', 'protocol-out']]);
    assert.equal(topology.subtopologies.length, 1);
  });

  it('reports a loop across two sub-topologies once, from its first-declared topic', () => {
    const topology = base()
      .topic({ name: 'back', partitions: 2 })
      .processor('p', { processor: 'x', parents: ['in-src'] })
      .sink('to-out', { topic: 'out', parents: ['p'] })
      .source('out-src', ['out'])
      .sink('to-back', { topic: 'back', parents: ['out-src'] })
      .source('back-src', ['back'])
      .sink('to-in', { topic: 'in', parents: ['back-src'] })
      .build();
    assert.deepEqual(topology.topicLoops, [
      ['in', 'in-src', 'p', 'to-out', 'out', 'out-src', 'to-back', 'back', 'back-src', 'to-in'],
    ]);
    assert.equal(topology.subtopologies.length, 3);
  });

  it('reports no loop when a later sub-topology merely feeds an earlier one', () => {
    const topology = base()
      .source('out-src', ['out'])
      .sink('to-in', { topic: 'in', parents: ['out-src'] })
      .processor('p', { processor: 'x', parents: ['in-src'] })
      .build();
    assert.deepEqual(topology.topicLoops, []);
  });
});

describe('validateTopology: sub-topologies', () => {
  it('joins nodes by parent edges and shared stores; ids follow the first source', () => {
    const topology = new TopologyBuilder('app')
      .topic({ name: 'a', partitions: 4 })
      .topic({ name: 'b', partitions: 4 })
      .topic({ name: 'c', partitions: 2 })
      .store({ name: 'shared' })
      .store({ name: 'own' })
      // Declared children-first on purpose: the order must still put parents first.
      .sink('c-sink', { topic: 'a', parents: ['c-proc'] })
      .processor('c-proc', { processor: 'x', parents: ['c-src'], stores: ['own'] })
      .source('c-src', ['c'])
      .source('a-src', ['a'])
      .source('b-src', ['b'])
      .processor('a-proc', { processor: 'x', parents: ['a-src'], stores: ['shared'] })
      .processor('b-proc', { processor: 'x', parents: ['b-src'], stores: ['shared'] })
      .build();
    assert.deepEqual(topology.subtopologies, [
      {
        id: 0,
        nodes: ['c-src', 'c-proc', 'c-sink'],
        sourceTopics: ['c'],
        sinkTopics: ['a'],
        stores: ['own'],
        partitions: 2,
      },
      {
        id: 1,
        nodes: ['a-src', 'b-src', 'a-proc', 'b-proc'],
        sourceTopics: ['a', 'b'],
        sinkTopics: [],
        stores: ['shared'],
        partitions: 4,
      },
    ]);
  });

  it('requires co-partitioned source topics and names them with their counts', () => {
    const issue = only(
      issuesOf(
        base()
          .topic({ name: 'wide', partitions: 6 })
          .source('wide-src', ['wide'])
          .processor('join', { processor: 'x', parents: ['in-src', 'wide-src'] }),
      ),
    );
    assert.equal(issue.code, 'co-partitioning');
    assert.equal(issue.node, 'wide-src');
    assert.match(issue.message, /in \(2\), wide \(6\)/);
  });

  it('derives changelog and dead-letter topics', () => {
    const topology = base()
      .topic({ name: 'replicated', partitions: 2, replicationFactor: 3 })
      .store({ name: 'logged', key: 'string' })
      .store({ name: 'volatile', changelog: false })
      .processor('p', { processor: 'x', parents: ['in-src'], stores: ['logged', 'volatile'] })
      .build();
    assert.deepEqual(internalTopics(topology), [
      {
        name: 'app-logged-changelog',
        partitions: 2,
        replicationFactor: 3,
        key: { type: 'string' },
        value: { type: 'bytes' },
        compacted: true,
        internal: true,
        config: {},
      },
      {
        name: 'app-dlq',
        partitions: 1,
        replicationFactor: 1,
        key: { type: 'bytes' },
        value: { type: 'bytes' },
        compacted: false,
        internal: true,
        config: {},
      },
    ]);
    const declared = base()
      .deadLetterTopic('out')
      .processor('p', { processor: 'x', parents: ['in-src'] })
      .build();
    assert.deepEqual(internalTopics(declared), [], 'a declared dead-letter topic is the user’s');
  });
});
