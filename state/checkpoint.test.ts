import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { checkpointPath, formatCheckpoint, parseCheckpoint, readCheckpoint, writeCheckpoint } from './checkpoint.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'parley-checkpoint-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('a missing checkpoint reads as found: false with no offsets (restore from 0)', async () => {
  assert.deepEqual(await readCheckpoint(join(dir, 'nowhere')), { ok: true, found: false, offsets: {} });
});

test('write then read returns the offsets, replaces the previous file and leaves no temp file', async () => {
  await writeCheckpoint(dir, { 0: 10, 3: 7 });
  await writeCheckpoint(dir, { 0: 42, 1: 0, 3: 9 });
  assert.deepEqual(await readCheckpoint(dir), { ok: true, found: true, offsets: { 0: 42, 1: 0, 3: 9 } });
  assert.deepEqual(await readdir(dir), ['.checkpoint']);
});

test('the file is byte-identical for equal offsets, whatever their insertion order', () => {
  assert.deepEqual(formatCheckpoint({ 2: 5, 10: 1, 0: 3 }), formatCheckpoint({ 0: 3, 2: 5, 10: 1 }));
});

test('a flipped byte anywhere is detected, never trusted', async () => {
  await writeCheckpoint(dir, { 0: 123456, 1: 99 });
  const good = await readFile(checkpointPath(dir));
  for (let i = 0; i < good.length; i++) {
    const bad = Buffer.from(good);
    bad[i] = bad[i]! ^ 0x01;
    const read = parseCheckpoint(bad);
    assert.equal(read.ok, false, `flipping byte ${i} went unnoticed`);
  }
  const flipped = Buffer.from(good);
  flipped[good.length - 4] = flipped[good.length - 4]! ^ 0x01; // a digit of the last offset
  await writeFile(checkpointPath(dir), flipped);
  const read = await readCheckpoint(dir);
  assert.equal(read.ok, false);
  assert.match(read.ok ? '' : read.reason, /checksum/);
});

test('a truncated checkpoint is detected at every length', async () => {
  const good = formatCheckpoint({ 0: 5, 7: 1_000_000 });
  for (let length = 0; length < good.length; length++) {
    assert.equal(parseCheckpoint(good.subarray(0, length)).ok, false, `truncated to ${length} bytes went unnoticed`);
  }
  await writeFile(checkpointPath(dir), good.subarray(0, good.length - 3));
  assert.equal((await readCheckpoint(dir)).ok, false);
});

test('a well-checksummed body that is not offsets is refused', () => {
  const forge = (body: string) => {
    const hash = createHash('sha256').update(body).digest('hex');
    return Buffer.from(`parley-checkpoint 1 sha256:${hash}\n${body}`);
  };
  assert.equal(parseCheckpoint(forge('{"offsets":{"0":5}}\n')).ok, true, 'the forging itself is right');
  for (const body of [
    'not json',
    '{"offsets":[1]}',
    '{"offsets":{"0":-1}}',
    '{"offsets":{"x":1}}',
    '{"offsets":{"0":1.5}}',
    'null',
  ]) {
    assert.equal(parseCheckpoint(forge(body)).ok, false, body);
  }
  assert.throws(() => formatCheckpoint({ 0: -1 }), RangeError);
});

test('property: any offsets round-trip through the file format', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.nat({ max: 1000 }).map(String), fc.nat()), (raw) => {
      const offsets = Object.fromEntries(Object.entries(raw).map(([p, o]) => [Number(p), o]));
      assert.deepEqual(parseCheckpoint(formatCheckpoint(offsets)), { ok: true, found: true, offsets });
    }),
  );
});
