import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TopologyBuilder } from './builder.ts';
import { describeJson, describeMermaid, describeText } from './describe.ts';

/** Two sub-topologies; the first loops through `protocol` and keeps a store. */
function consensus() {
  return new TopologyBuilder('demo')
    .topic({ name: 'proposals', partitions: 2 })
    .topic({ name: 'protocol', partitions: 2 })
    .topic({ name: 'committed', partitions: 3 })
    .topic({ name: 'ordered', partitions: 3, compacted: true })
    .store({ name: 'instances' })
    .source('proposals-in', ['proposals'])
    .source('protocol-in', ['protocol'])
    .processor('replica', { processor: 'epaxos', parents: ['proposals-in', 'protocol-in'], stores: ['instances'] })
    .sink('protocol-out', { topic: 'protocol', parents: ['replica'] })
    .sink('committed-out', { topic: 'committed', parents: ['replica'] })
    .source('committed-in', ['committed'])
    .processor('resolve', { processor: 'resolution', parents: ['committed-in'] })
    .sink('ordered-out', { topic: 'ordered', parents: ['resolve'] })
    .build();
}

describe('describeText', () => {
  it("prints Kafka Streams' TopologyDescription format", () => {
    const golden = [
      'Topologies:',
      '   Sub-topology: 0',
      '    Source: proposals-in (topics: [proposals])',
      '      --> replica',
      '    Source: protocol-in (topics: [protocol])',
      '      --> replica',
      '    Processor: replica (stores: [instances])',
      '      --> protocol-out, committed-out',
      '      <-- proposals-in, protocol-in',
      '    Sink: protocol-out (topic: protocol)',
      '      <-- replica',
      '    Sink: committed-out (topic: committed)',
      '      <-- replica',
      '',
      '  Sub-topology: 1',
      '    Source: committed-in (topics: [committed])',
      '      --> resolve',
      '    Processor: resolve (stores: [])',
      '      --> ordered-out',
      '      <-- committed-in',
      '    Sink: ordered-out (topic: ordered)',
      '      <-- resolve',
      '',
      '',
    ].join('\n');
    assert.equal(describeText(consensus()), golden);
  });

  it('says none for a node without children', () => {
    const topology = new TopologyBuilder('x')
      .topic({ name: 't', partitions: 1 })
      .source('s', ['t'])
      .processor('end', { processor: 'x', parents: ['s'] })
      .build();
    assert.match(describeText(topology), /Processor: end \(stores: \[\]\)\n {6}--> none\n {6}<-- s\n/);
  });
});

describe('describeMermaid', () => {
  const text = describeMermaid(consensus());
  const lines = text.split('\n');

  it('draws a flowchart with one subgraph per sub-topology', () => {
    assert.equal(lines[0], 'flowchart LR');
    assert.ok(lines.includes('  subgraph st0["Sub-topology 0 (2 tasks)"]'));
    assert.ok(lines.includes('  subgraph st1["Sub-topology 1 (3 tasks)"]'));
    assert.equal(lines.filter((l) => l === '  end').length, 2);
  });

  it('shapes topics as stadiums, stores as cylinders, nodes as boxes', () => {
    assert.ok(lines.includes('  t0(["proposals"])'));
    assert.ok(lines.includes('    s0[("instances")]'));
    assert.ok(lines.includes('    n2["processor: replica"]'));
  });

  it('draws record, topic and store edges, and marks the loop through protocol', () => {
    assert.ok(lines.includes('  t0 --> n0'), 'proposals feeds proposals-in');
    assert.ok(lines.includes('  n0 --> n2'), 'proposals-in feeds replica');
    assert.ok(lines.includes('  n2 -.- s0'), 'replica uses instances');
    assert.ok(lines.includes('  n3 ==>|loop| t1'), 'protocol-out writes protocol, closing the loop');
    assert.ok(lines.includes('  t1 ==>|loop| n1'), 'protocol feeds protocol-in, on the loop');
    assert.ok(lines.includes('  n4 --> t2'), 'committed is not on a loop');
    assert.ok(lines.includes('  class t1 loop'));
  });

  it('escapes quotes in labels', () => {
    const topology = new TopologyBuilder('q')
      .topic({ name: 't', partitions: 1 })
      .source('say "hi"', ['t'])
      .processor('p', { processor: 'x', parents: ['say "hi"'] })
      .build();
    assert.match(describeMermaid(topology), /n0\["source: say #quot;hi#quot;"\]/);
  });
});

describe('describeJson', () => {
  it('gives the compiled graph with tasks, edges and internal topics', () => {
    const json = describeJson(consensus());
    assert.equal(json.application, 'demo');
    assert.equal(json.guarantee, 'exactly_once');
    assert.deepEqual(
      json.subtopologies.map((s) => [s.id, s.partitions, s.tasks]),
      [
        [0, 2, ['0_0', '0_1']],
        [1, 3, ['1_0', '1_1', '1_2']],
      ],
    );
    assert.deepEqual(json.nodes[2], {
      name: 'replica',
      kind: 'processor',
      subtopology: 0,
      processor: 'epaxos',
      parents: ['proposals-in', 'protocol-in'],
      stores: ['instances'],
      onError: 'fail',
    });
    assert.deepEqual(
      json.nodes.map((n) => n.subtopology),
      [0, 0, 0, 0, 0, 1, 1, 1],
    );
    assert.deepEqual(json.edges.slice(0, 5), [
      { from: 'proposals', to: 'proposals-in', kind: 'topic' },
      { from: 'protocol', to: 'protocol-in', kind: 'topic' },
      { from: 'proposals-in', to: 'replica', kind: 'record' },
      { from: 'protocol-in', to: 'replica', kind: 'record' },
      { from: 'replica', to: 'instances', kind: 'store' },
    ]);
    assert.ok(json.edges.some((e) => e.from === 'protocol-out' && e.to === 'protocol' && e.kind === 'topic'));
    assert.deepEqual(json.topics.slice(-2), [
      { name: 'demo-instances-changelog', partitions: 2, replicationFactor: 1, compacted: true, internal: true },
      { name: 'demo-dlq', partitions: 1, replicationFactor: 1, compacted: false, internal: true },
    ]);
    assert.deepEqual(json.stores, [
      { name: 'instances', kind: 'rocksdb', changelogTopic: 'demo-instances-changelog', subtopology: 0 },
    ]);
    assert.deepEqual(json.topicLoops, [['protocol', 'protocol-in', 'replica', 'protocol-out']]);
    assert.deepEqual(JSON.parse(JSON.stringify(json)), json, 'plain JSON data');
  });
});
