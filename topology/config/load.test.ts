import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ProcessorRegistry } from '../registry.ts';
import type { TopologyIssue } from '../validate.ts';
import { loadTopologyFile, loadTopologyText } from './load.ts';

const testdata = join(import.meta.dirname, 'testdata');
const fixture = (name: string) => join(testdata, name);

/** `line:column severity code`, the part of an issue a reader acts on. */
const where = (i: TopologyIssue) => `${i.location!.line}:${i.location!.column} ${i.severity} ${i.code}`;

describe('loadTopologyFile: a valid file', () => {
  const result = loadTopologyFile(fixture('fraud.yaml'), {});

  it('builds the topology without issues', () => {
    assert.deepEqual(result.issues, []);
    assert.ok(result.topology);
    assert.equal(result.topology.spec, result.spec);
  });

  it('reads every section with its defaults', () => {
    const spec = result.spec!;
    assert.equal(spec.application, 'fraud-detection');
    assert.equal(spec.deadLetterTopic, 'fraud-dlq');
    assert.deepEqual(spec.topics[0], {
      name: 'transactions',
      partitions: 3,
      replicationFactor: 1,
      key: { type: 'string' },
      value: { type: 'avro', schema: 'Transaction' },
      compacted: false,
      internal: false,
      config: {},
    });
    assert.deepEqual(spec.topics[2]!.config, { 'retention.ms': '86400000' });
    assert.deepEqual(spec.stores[1], {
      name: 'profiles',
      kind: 'memory',
      changelog: false,
      key: { type: 'string' },
      value: { type: 'json' },
    });
    assert.deepEqual(
      spec.nodes.map((n) => n.name),
      ['transactions-in', 'accounts-in', 'aggregate', 'remember-account', 'alerts-out'],
    );
    const aggregate = spec.nodes[2]!;
    assert.ok(aggregate.kind === 'processor');
    assert.equal(aggregate.onError, 'dlq');
    assert.deepEqual(aggregate.config, { window: 60000 });
    assert.deepEqual(aggregate.location, { file: fixture('fraud.yaml'), line: 17, column: 3 });
  });

  it('finds avro schemas in schemasDir, relative to the file', () => {
    const text = 'application: a\nschemasDir: ./schemas\ntopics:\n  t: { partitions: 1, value: { avro: Nope } }\n';
    const issues = loadTopologyText(text, fixture('inline.yaml'), {}).issues;
    assert.deepEqual(issues.map(where), ['4:38 error missing-schema']);
    assert.match(issues[0]!.message, /avro schema "Nope" not found in .*testdata\/schemas/);
    const found = text.replace('Nope', 'Transaction');
    assert.deepEqual(loadTopologyText(found, fixture('inline.yaml'), {}).issues, []);
  });

  it('looks in the project schemas/ folder by default, or asks schemaExists', () => {
    const text = 'application: a\ntopics:\n  t: { partitions: 1, value: { avro: NoSuchSchemaAnywhere } }\n';
    const issues = loadTopologyText(text, fixture('inline.yaml'), {}).issues;
    assert.match(issues[0]!.message, /not found in schemas$/);
    const asked: string[] = [];
    const schemaExists = (name: string) => (asked.push(name), true);
    assert.deepEqual(loadTopologyText(text, 'inline.yaml', {}, { schemaExists }).issues, []);
    assert.deepEqual(asked, ['NoSuchSchemaAnywhere']);
  });

  it('checks processor names against a registry when given one', () => {
    const registry = new ProcessorRegistry().register('sum-by-account', () => ({ process() {} }));
    const issues = loadTopologyFile(fixture('fraud.yaml'), {}, { registry }).issues;
    assert.deepEqual(issues.map(where), ['24:16 error unknown-processor']);
  });

  it('reports loops through topics', () => {
    const { topology, issues } = loadTopologyFile(fixture('consensus.yaml'), {});
    assert.deepEqual(issues, []);
    assert.deepEqual(topology!.topicLoops, [['protocol', 'protocol-in', 'replica', 'protocol-out']]);
    assert.equal(topology!.spec.guarantee, 'at_least_once');
  });
});

describe('loadTopologyFile: a broken file', () => {
  const { topology, spec, issues } = loadTopologyFile(fixture('broken.yaml'), {});

  it('reports every problem at once, each at its line and column, in file order', () => {
    assert.equal(topology, undefined);
    assert.ok(spec, 'the spec is still returned for tools');
    assert.deepEqual(issues.map(where), [
      '1:14 error schema', // application "broken app"
      '2:12 error schema', // guarantee: maybe
      '4:56 error missing-schema', // { avro: Order }
      '5:37 error schema', // value: xml
      '6:3 error schema', // refunds lacks partitions
      '6:14 error schema', // partitons
      '9:3 warning unused-store', // forgotten
      '12:18 error co-partitioning', // orders (3) with payments (4)
      '12:37 error unknown-topic', // shipments
      '17:22 error unknown-store', // totls
      '20:15 error unknown-parent', // jion
      '23:5 error no-parents', // orphan
      '24:25 error cycle', // a <-> b
      '27:17 error unknown-topic', // results
      '28:3 error duplicate-name', // sink named join
    ]);
    assert.ok(issues.every((i) => i.location!.file === fixture('broken.yaml')));
  });

  it('says what is wrong in words', () => {
    const messages = issues.map((i) => i.message);
    assert.ok(messages.includes('guarantee: must be one of: exactly_once, at_least_once'));
    assert.ok(messages.includes('topics.refunds: missing required property "partitions"'));
    assert.ok(
      messages.some((m) => m.startsWith('topics.refunds: unknown property "partitons" (expected one of: partitions,')),
    );
    assert.ok(messages.includes('topics.payments.value: must be string, json, bytes or { avro: SchemaName }'));
    assert.ok(messages.includes('processor "enrich": unknown parent "jion" (did you mean "join"?)'));
    assert.ok(messages.some((m) => m.startsWith('cycle through parent edges: a -> b -> a')));
    assert.ok(messages.some((m) => m.includes('orders (3), payments (4)')));
  });
});

describe('loadTopologyText: problems before validation', () => {
  it('stops at YAML syntax errors, with their position', () => {
    // Inline rather than a fixture file: Prettier, which checks every YAML file of the project, cannot parse it.
    const text = 'application: x\ntopics:\n  a: { partitions: 1\n  b: 2\n';
    const { spec, issues } = loadTopologyText(text, 'syntax.yaml', {});
    assert.equal(spec, undefined);
    assert.deepEqual(issues.map(where), ['4:3 error yaml-syntax']);
  });

  it('rejects duplicate keys', () => {
    const { issues } = loadTopologyFile(fixture('dupkey.yaml'), {});
    assert.deepEqual(issues.map(where), ['2:1 error yaml-syntax']);
    assert.match(issues[0]!.message, /unique/);
  });

  it('wants a mapping at the top', () => {
    for (const text of ['', '- a\n- b\n', 'just text\n']) {
      const { issues } = loadTopologyText(text, 'x.yaml', {});
      assert.deepEqual(issues.map(where), ['1:1 error schema'], JSON.stringify(text));
    }
  });

  it('reports an unreadable file at 1:1', () => {
    const { issues } = loadTopologyFile(fixture('does-not-exist.yaml'), {});
    assert.deepEqual(issues.map(where), ['1:1 error file-unreadable']);
  });

  it('points at the key for unknown and missing properties, at the value for bad values', () => {
    const text = [
      'application: ok',
      'topics:',
      '  t:',
      '    partitions: many',
      '    colour: red',
      'sinks:',
      '  k: { parents: [x] }',
      '',
    ].join('\n');
    const { issues } = loadTopologyText(text, 'x.yaml', {});
    assert.deepEqual(
      issues.filter((i) => i.code === 'schema').map((i) => `${where(i)} ${i.message}`),
      [
        '4:17 error schema topics.t.partitions: must be integer',
        '5:5 error schema topics.t: unknown property "colour" (expected one of: partitions, replicationFactor, key, value, compacted, config)',
        '7:3 error schema sinks.k: missing required property "topic"',
      ],
    );
    assert.ok(!issues.some((i) => i.code === 'invalid-value'), 'bad partitions reported once, by the schema');
  });
});

describe('loadTopologyText: anchors and merge keys', () => {
  it('shares settings between topics with << and still places issues', () => {
    const text = [
      'application: a',
      'topics:',
      '  base: &defaults { partitions: 3, key: string, value: json }',
      '  other: { <<: *defaults, compacted: true }',
      '  third: { <<: *defaults, colour: x }',
      '',
    ].join('\n');
    const { spec, issues } = loadTopologyText(text, 'm.yaml', {});
    assert.deepEqual(
      spec!.topics.map((t) => [t.name, t.partitions, t.compacted, t.value.type]),
      [
        ['base', 3, false, 'json'],
        ['other', 3, true, 'json'],
        ['third', 3, false, 'json'],
      ],
    );
    assert.deepEqual(issues.map(where), ['5:27 error schema']);
  });
});

describe('loadTopologyText: environment variables', () => {
  it('substitutes values and defaults, keeping types of plain scalars', () => {
    const env = { INPUT_TOPIC: 'input', LIMIT: '25', APP_NAME: '' };
    const { topology, spec, issues } = loadTopologyFile(fixture('env.yaml'), env);
    assert.deepEqual(issues, []);
    assert.ok(topology);
    assert.equal(spec!.application, 'envy', 'an empty variable takes the default too');
    assert.equal(spec!.topics[0]!.partitions, 3);
    assert.equal(spec!.topics[0]!.compacted, false);
    assert.equal(spec!.topics[1]!.partitions, 3, 'the schema turns a quoted number into the integer it wants');
    const work = spec!.nodes[1]!;
    assert.ok(work.kind === 'processor');
    assert.deepEqual(work.config, { greeting: 'hello world', literal: '${NOT_A_VAR}', limit: 25, quoted: '25' });
  });

  it('reports an unset variable without a default at its position, once', () => {
    const { topology, issues } = loadTopologyFile(fixture('env.yaml'), {});
    assert.equal(topology, undefined);
    assert.deepEqual(issues.map(where), ['10:25 error env-unset']);
    assert.match(issues[0]!.message, /INPUT_TOPIC is not set/);
  });

  it('names every unset variable in one scalar', () => {
    const text = 'application: a\ntopics:\n  t:\n    partitions: 1\n    config:\n      x: ${A}-${B:-b}-${C}\n';
    const { issues } = loadTopologyText(text, 'x.yaml', {});
    assert.deepEqual(issues.map(where), ['6:10 error env-unset', '6:23 error env-unset']);
  });
});
