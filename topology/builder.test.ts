import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TopologyBuilder, toFormat } from './builder.ts';
import { TopologyValidationError } from './validate.ts';

function minimal(): TopologyBuilder {
  return new TopologyBuilder('app')
    .topic({ name: 'in', partitions: 2 })
    .topic({ name: 'out', partitions: 2 })
    .source('in-src', ['in'])
    .processor('p', { processor: 'impl', parents: ['in-src'] })
    .sink('out-sink', { topic: 'out', parents: ['p'] });
}

describe('TopologyBuilder', () => {
  it('fills every default', () => {
    const spec = new TopologyBuilder('app')
      .topic({ name: 't', partitions: 3 })
      .store({ name: 's' })
      .source('src', ['t'])
      .processor('p', { processor: 'impl', parents: ['src'], stores: ['s'] })
      .spec();
    assert.equal(spec.guarantee, 'exactly_once');
    assert.equal(spec.deadLetterTopic, 'app-dlq');
    assert.deepEqual(spec.topics[0], {
      name: 't',
      partitions: 3,
      replicationFactor: 1,
      key: { type: 'bytes' },
      value: { type: 'bytes' },
      compacted: false,
      internal: false,
      config: {},
    });
    assert.deepEqual(spec.stores[0], {
      name: 's',
      kind: 'rocksdb',
      changelog: true,
      key: { type: 'bytes' },
      value: { type: 'bytes' },
    });
    assert.deepEqual(spec.nodes[1], {
      kind: 'processor',
      name: 'p',
      processor: 'impl',
      parents: ['src'],
      stores: ['s'],
      onError: 'fail',
      config: {},
    });
  });

  it('keeps what is given instead of the defaults', () => {
    const spec = new TopologyBuilder('app')
      .guarantee('at_least_once')
      .deadLetterTopic('dead')
      .topic({
        name: 't',
        partitions: 1,
        replicationFactor: 3,
        compacted: true,
        key: 'string',
        value: { avro: 'Thing' },
      })
      .store({ name: 's', kind: 'memory', changelog: false, value: 'json' })
      .processor('p', { processor: 'impl', parents: ['x'], onError: 'dlq', config: { window: 5 } })
      .spec();
    assert.equal(spec.guarantee, 'at_least_once');
    assert.equal(spec.deadLetterTopic, 'dead');
    assert.equal(spec.topics[0]!.replicationFactor, 3);
    assert.equal(spec.topics[0]!.compacted, true);
    assert.deepEqual(spec.topics[0]!.key, { type: 'string' });
    assert.deepEqual(spec.topics[0]!.value, { type: 'avro', schema: 'Thing' });
    assert.deepEqual(spec.stores[0], {
      name: 's',
      kind: 'memory',
      changelog: false,
      key: { type: 'bytes' },
      value: { type: 'json' },
    });
    const node = spec.nodes[0]!;
    assert.ok(node.kind === 'processor');
    assert.equal(node.onError, 'dlq');
    assert.deepEqual(node.config, { window: 5 });
  });

  it('turns every format spelling into the model format', () => {
    assert.deepEqual(toFormat('json'), { type: 'json' });
    assert.deepEqual(toFormat({ avro: 'X' }), { type: 'avro', schema: 'X' });
    assert.deepEqual(toFormat({ type: 'avro', schema: 'Y' }), { type: 'avro', schema: 'Y' });
  });

  it('hands out independent copies of the spec', () => {
    const builder = minimal();
    const first = builder.spec();
    first.topics[0]!.partitions = 99;
    const node = first.nodes[1]!;
    assert.ok(node.kind === 'processor');
    node.parents.push('mutated');
    const second = builder.spec();
    assert.equal(second.topics[0]!.partitions, 2);
    assert.deepEqual((second.nodes[1] as typeof node).parents, ['in-src']);
  });

  it('builds a validated topology', () => {
    const topology = minimal().build();
    assert.equal(topology.subtopologies.length, 1);
    assert.deepEqual(topology.subtopologies[0]!.nodes, ['in-src', 'p', 'out-sink']);
  });

  it('throws every problem at once on build', () => {
    const builder = minimal()
      .processor('q', { processor: 'impl', parents: ['nope'] })
      .sink('s2', { topic: 'missing', parents: ['q'] });
    assert.throws(
      () => builder.build(),
      (error: unknown) => {
        assert.ok(error instanceof TopologyValidationError);
        assert.equal(error.code, 'TOPOLOGY_INVALID');
        assert.equal(error.retriable, false);
        assert.deepEqual(
          error.issues.map((i) => i.code),
          ['unknown-parent', 'unknown-topic'],
        );
        assert.match(error.message, /unknown parent "nope"/);
        assert.match(error.message, /undeclared topic "missing"/);
        return true;
      },
    );
  });
});
