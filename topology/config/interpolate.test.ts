import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import { interpolate, interpolateDocument } from './interpolate.ts';

describe('interpolate', () => {
  const env = { HOST: 'db', EMPTY: '' };

  it('substitutes set variables, anywhere in the text', () => {
    assert.deepEqual(interpolate('${HOST}:5432/${HOST}', env), { value: 'db:5432/db', problems: [] });
  });

  it('uses the default when the variable is unset or empty', () => {
    assert.equal(interpolate('${MISSING:-x}', env).value, 'x');
    assert.equal(interpolate('${EMPTY:-x}', env).value, 'x');
    assert.equal(interpolate('${HOST:-x}', env).value, 'db');
    assert.equal(interpolate('${MISSING:-}', env).value, '');
    assert.equal(interpolate('${MISSING:-a:-b c}', env).value, 'a:-b c');
  });

  it('keeps an empty variable without a default empty', () => {
    assert.deepEqual(interpolate('[${EMPTY}]', env), { value: '[]', problems: [] });
  });

  it('turns $${ into a literal ${', () => {
    assert.deepEqual(interpolate('$${HOST} ${HOST}', env), { value: '${HOST} db', problems: [] });
  });

  it('reports unset, malformed and unterminated references with their index', () => {
    const { problems } = interpolate('a ${NOPE} ${1BAD} ${OPEN', env);
    assert.deepEqual(
      problems.map((p) => p.index),
      [2, 10, 18],
    );
    assert.match(problems[0]!.message, /NOPE is not set/);
    assert.match(problems[1]!.message, /malformed "\$\{1BAD\}"/);
    assert.match(problems[2]!.message, /unterminated/);
  });
});

describe('interpolateDocument', () => {
  it('retypes plain scalars only, and leaves keys alone', () => {
    const source = 'n: ${N}\nq: "${N}"\nb: ${B}\nf: ${F}\ns: ${S}\n${N}: key\n';
    const document = parseDocument(source);
    const problems = interpolateDocument(document, source, { N: '7', B: 'true', F: '1.5', S: 'text' });
    assert.deepEqual(problems, []);
    assert.deepEqual(document.toJS(), { n: 7, q: '7', b: true, f: 1.5, s: 'text', '${N}': 'key' });
  });

  it('gives each problem its source offset and the scalar path', () => {
    const source = 'list:\n  - ok\n  - "x ${GONE}"\n';
    const problems = interpolateDocument(parseDocument(source), source, {});
    assert.deepEqual(
      problems.map((p) => [p.offset, p.path]),
      [[source.indexOf('${GONE}'), ['list', 1]]],
    );
  });
});
