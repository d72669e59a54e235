/**
 * BACKWARD compatibility: the repository's released schemas (schemas/history/<Name>/v<N>.avsc) against the
 * current files, so a breaking schema edit fails CI; and what the checker calls compatible or not, with reasons.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkBackward } from './compat.ts';
import { loadSchemaFile } from './formats.ts';
import { checkHistory, releasedVersions } from './history.ts';
import { schemasDir } from './index.ts';

test('every schema with released versions is BACKWARD compatible with each of them', () => {
  const checks = checkHistory(schemasDir);
  assert.ok(
    checks.some((check) => check.name === 'DeadLetter' && check.released.version === 1),
    'DeadLetter v1 is checked (the check is not vacuous)',
  );
  for (const check of checks) {
    assert.deepEqual(
      check.result.reasons,
      [],
      `${check.currentPath} can no longer read ${check.released.path}: add a default, keep the old field, or ` +
        'make a new schema instead',
    );
    assert.equal(check.result.compatible, true);
  }
});

type Field = { name: string; type: unknown; default?: unknown; aliases?: string[] };
const deadLetter = loadSchemaFile(join(schemasDir, 'DeadLetter.avsc')) as { name: string; fields: Field[] };
const fields = deadLetter.fields;
const edited = (edit: (fields: Field[]) => Field[], record: Record<string, unknown> = {}) => ({
  ...deadLetter,
  ...record,
  fields: edit(fields.map((field) => ({ ...field }))),
});
const retype = (name: string, type: unknown) => (all: Field[]) =>
  all.map((field) => (field.name === name ? { name, type } : field));

test('incompatible edits of DeadLetter are reported, one reason per problem', () => {
  const cases: [string, Record<string, unknown>, RegExp[]][] = [
    [
      'a field added without a default',
      edited((all) => [...all, { name: 'attempt', type: 'int' }]),
      [/^dev\.parley\.DeadLetter\.attempt: field added without a default/],
    ],
    ['long → string', edited(retype('offset', 'string')), [/^dev\.parley\.DeadLetter\.offset: .*"long".*"string"/]],
    ['narrowing long → int', edited(retype('offset', 'int')), [/DeadLetter\.offset: the old type "long" cannot/]],
    [
      'a nullable field made required',
      edited(retype('stack', 'string')),
      [/DeadLetter\.stack: the old type "null" cannot be read as "string"/],
    ],
    [
      'map values changed',
      edited(retype('headers', { type: 'map', values: 'int' })),
      [/DeadLetter\.headers\{\}: the old type "bytes" cannot be read as "int"/],
    ],
    ['renamed without an alias', { ...deadLetter, name: 'Letter' }, [/record dev\.parley\.DeadLetter was renamed/]],
    [
      'two problems at once',
      edited((all) => [...retype('partition', 'boolean')(all), { name: 'attempt', type: 'int' }]),
      [/DeadLetter\.partition: /, /DeadLetter\.attempt: field added without a default/],
    ],
  ];
  for (const [name, schema, expected] of cases) {
    const result = checkBackward(schema, deadLetter);
    assert.equal(result.compatible, false, name);
    assert.equal(result.reasons.length, expected.length, `${name}: ${result.reasons.join(' | ')}`);
    expected.forEach((pattern, index) => assert.match(result.reasons[index]!, pattern, name));
  }
});

test('compatible edits of DeadLetter pass', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['a field added with a default', edited((all) => [...all, { name: 'attempt', type: 'int', default: 0 }])],
    ['a field removed', edited((all) => all.filter((field) => field.name !== 'processor'))],
    ['int promoted to long', edited(retype('partition', 'long'))],
    ['a required field made nullable', edited(retype('message', ['null', 'string']))],
    [
      'a field renamed with an alias',
      edited((all) => all.map((f) => (f.name === 'processor' ? { ...f, name: 'node', aliases: ['processor'] } : f))),
    ],
    ['the record renamed with an alias', { ...deadLetter, name: 'Letter', aliases: ['dev.parley.DeadLetter'] }],
  ];
  for (const [name, schema] of cases)
    assert.deepEqual(checkBackward(schema, deadLetter), { compatible: true, reasons: [] }, name);
});

test('enums and unions: removed symbols need a default, every old union branch must stay readable', () => {
  const color = (symbols: string[], extra: object = {}) => ({ type: 'enum', name: 'Color', symbols, ...extra });
  assert.match(
    checkBackward(color(['RED']), color(['RED', 'BLUE'])).reasons.join(),
    /^Color: the new enum lacks the old symbols BLUE and has no default/,
  );
  assert.equal(checkBackward(color(['RED'], { default: 'RED' }), color(['RED', 'BLUE'])).compatible, true);
  assert.equal(checkBackward(color(['RED', 'BLUE']), color(['RED'])).compatible, true);
  const dropped = checkBackward(['null', 'string'], ['null', 'string', 'int']);
  assert.match(dropped.reasons.join(), /the old union branch "int" matches no branch of the new \["null","string"\]/);
  assert.equal(checkBackward(['null', 'string', 'int'], ['null', 'string']).compatible, true);
});

test('a recursive schema is explained without looping', () => {
  const node = (valueType: string) => ({
    type: 'record',
    name: 'Node',
    fields: [
      { name: 'value', type: valueType },
      { name: 'next', type: ['null', 'Node'], default: null },
    ],
  });
  assert.deepEqual(checkBackward(node('string'), node('int')).reasons, [
    'Node.value: the old type "int" cannot be read as "string"',
  ]);
});

test('an invalid schema is an error, not an incompatibility', () => {
  assert.throws(() => checkBackward({ type: 'recrod' }, 'string'), /the new schema is not a valid Avro schema/);
  assert.throws(() => checkBackward('string', { type: 'enum' }), /the old schema is not a valid Avro schema/);
});

/** A throwaway schemas folder laid out like the repository's. */
function repository(files: Record<string, object | string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'parley-history-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

test('the history check fails on a breaking edit and on a broken layout', () => {
  const v1 = { type: 'record', name: 'Thing', fields: [{ name: 'a', type: 'string' }] };
  const breaking = { ...v1, fields: [...v1.fields, { name: 'b', type: 'int' }] };
  const [check] = checkHistory(repository({ 'Thing.avsc': breaking, 'history/Thing/v1.avsc': v1 }));
  assert.equal(check?.result.compatible, false);
  assert.match(check!.result.reasons.join(), /Thing\.b: field added without a default/);

  assert.throws(() => checkHistory(repository({ 'history/Gone/v1.avsc': v1 })), /Gone\.avsc is gone/);
  const gap = repository({ 'Thing.avsc': v1, 'history/Thing/v1.avsc': v1, 'history/Thing/v3.avsc': v1 });
  assert.throws(() => releasedVersions(gap, 'Thing'), /without gaps, found v3 at 2/);
  const misnamed = repository({ 'Thing.avsc': v1, 'history/Thing/latest.avsc': v1 });
  assert.throws(() => releasedVersions(misnamed, 'Thing'), /latest\.avsc: released schema files are named v<N>\.avsc/);
  assert.deepEqual(releasedVersions(misnamed, 'Other'), []);
});
