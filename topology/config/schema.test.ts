/**
 * The published JSON Schema: it compiles under a plain strict ajv (as editors and other tools would load it),
 * accepts every example and valid fixture, and rejects what it should.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { loadTopologyFile } from './load.ts';
import { schemaProblems, topologySchemaPath, withoutInterpolation } from './schema.ts';

const projectRoot = join(import.meta.dirname, '..', '..');
const testdata = join(import.meta.dirname, 'testdata');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(entry.name) ? [path] : [];
  });
}

/** Fixtures meant to be valid; the others are broken on purpose. */
const validFixtures = ['fraud.yaml', 'consensus.yaml', 'env.yaml', 'warning.yaml'].map((f) => join(testdata, f));
const examples = yamlFiles(join(projectRoot, 'examples'));

describe('topology.schema.json', () => {
  const schema = JSON.parse(readFileSync(topologySchemaPath, 'utf8')) as Record<string, unknown>;

  it('compiles under strict ajv without custom keywords', () => {
    const ajv = new Ajv({ strict: true, allErrors: true });
    assert.equal(typeof ajv.compile(schema), 'function');
  });

  it('describes every property, so editors can explain them', () => {
    const undocumented: string[] = [];
    const visit = (node: unknown, path: string) => {
      if (typeof node !== 'object' || node === null) return;
      const properties = (node as { properties?: Record<string, Record<string, unknown>> }).properties ?? {};
      for (const [name, sub] of Object.entries(properties)) {
        const documented = sub['description'] ?? sub['$ref'] ?? sub['title'];
        if (!documented) undocumented.push(`${path}.${name}`);
      }
      for (const [key, value] of Object.entries(node)) visit(value, `${path}.${key}`);
    };
    visit(schema, '#');
    assert.deepEqual(undocumented, []);
  });

  for (const file of [...validFixtures, ...examples]) {
    it(`accepts ${relative(projectRoot, file)}`, () => {
      // Through the loader, so ${VAR} values are interpolated (with their defaults) as users will run them.
      const env = { INPUT_TOPIC: 'input' };
      const shapeIssues = loadTopologyFile(file, env).issues.filter(
        (i) => i.code === 'schema' || i.code === 'yaml-syntax',
      );
      assert.deepEqual(shapeIssues, []);
    });
  }

  it('accepts every topology YAML of the project as an editor sees it: raw, ${VAR} values not interpolated', () => {
    const ajv = new Ajv({ strict: true, allErrors: true });
    const validate = ajv.compile(schema);
    const skip = /node_modules|\.stack|\.sim|testdata\/(broken|dupkey)\.yaml$/;
    const topologies = yamlFiles(projectRoot)
      .filter((f) => !skip.test(f))
      .filter((f) => {
        const doc = parse(readFileSync(f, 'utf8')) as unknown;
        return typeof doc === 'object' && doc !== null && 'application' in doc;
      });
    assert.ok(topologies.length >= 8, topologies.join(', '));
    const rejected = topologies.flatMap((f) =>
      validate(parse(readFileSync(f, 'utf8')))
        ? []
        : [`${relative(projectRoot, f)}: ${JSON.stringify(validate.errors?.slice(0, 2))}`],
    );
    assert.deepEqual(rejected, []);
    // …and still rejects what is wrong however it is written: a name with a space, a partition count of 0.
    assert.equal(validate(parse('application: "a b"')), false);
    assert.equal(validate(parse('application: a\ntopics:\n  t: { partitions: 0 }')), false);
    assert.equal(validate(parse('application: a\ntopics:\n  t: { partitions: "${N:-3}" }')), true);
  });

  it('the loader checks interpolated values by the value schema alone: an escaped $${X} is no Kafka name', () => {
    const stripped = JSON.stringify(withoutInterpolation(schema));
    assert.ok(!stripped.includes('interpolated'), 'no interpolated alternative left');
    assert.deepEqual(
      schemaProblems({ application: '${X}' }).map((p) => p.message),
      ["application: must be 1-249 characters of A-Z a-z 0-9 . _ - (Kafka's legal topic characters)"],
    );
  });

  it('accepts the minimal document and rejects wrong shapes', () => {
    assert.deepEqual(schemaProblems({ application: 'a' }), []);
    const problems = schemaProblems(
      parse('application: a\ntopics:\n  t: { partitions: 0 }\nsources:\n  s: { topics: [] }\n'),
    );
    assert.deepEqual(
      problems.map((p) => p.message),
      ['topics.t.partitions: must be >= 1', 'sources.s.topics: must NOT have fewer than 1 items'],
    );
    assert.deepEqual(
      schemaProblems({ application: 'a', topics: { 'bad name': { partitions: 1 } } }).map((p) => [p.path, p.target]),
      [[['topics', 'bad name'], 'key']],
    );
  });
});
