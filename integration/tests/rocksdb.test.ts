/**
 * The RocksDB binding Parley's state stores are built on (@nxtedition/rocksdb; the `rocksdb` package is
 * archived): put/get, atomic batches, ordered range scans, and durability across close and reopen.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { RocksLevel } from '@nxtedition/rocksdb';

const dir = mkdtempSync(join(tmpdir(), 'parley-rocksdb-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function scan(db: RocksLevel, gte: string, lt: string): Promise<[string, string][]> {
  const rows: [string, string][] = [];
  for await (const row of db.iterator({ gte, lt })) rows.push(row);
  return rows;
}

test('put, get, batch, range scan in key order, and reopen keeps the data', async () => {
  const location = join(dir, 'store');
  const db = new RocksLevel(location);
  await db.open({ createIfMissing: true });
  // Written out of order on purpose: the scan must return RocksDB's byte order, not insertion order.
  await db.put('account/0003', 'c');
  await db.put('account/0001', 'a');
  await db.batch([
    { type: 'put', key: 'account/0002', value: 'b' },
    { type: 'put', key: 'account/0004', value: 'd' },
    { type: 'put', key: 'route/0001', value: 'r' },
    { type: 'del', key: 'account/0004' },
  ]);
  assert.equal(await db.get('account/0001'), 'a');
  // abstract-level 1 reports a missing key as an error with a code, not as undefined.
  await assert.rejects(db.get('account/0004'), { code: 'LEVEL_NOT_FOUND' }, 'a delete in a batch wins over its put');

  assert.deepEqual(await scan(db, 'account/', 'account/\xff'), [
    ['account/0001', 'a'],
    ['account/0002', 'b'],
    ['account/0003', 'c'],
  ]);
  assert.deepEqual(await scan(db, 'account/0002', 'account/0003'), [['account/0002', 'b']], 'lt is exclusive');
  await db.close();

  const reopened = new RocksLevel(location);
  await reopened.open({ createIfMissing: false });
  assert.deepEqual(await scan(reopened, '', '\xff'), [
    ['account/0001', 'a'],
    ['account/0002', 'b'],
    ['account/0003', 'c'],
    ['route/0001', 'r'],
  ]);
  await reopened.close();
});

test('opening a missing store without createIfMissing fails and names the location', async () => {
  const db = new RocksLevel(join(dir, 'absent'));
  await assert.rejects(db.open({ createIfMissing: false }), (error: Error) => {
    assert.match(`${error.message} ${String((error as { cause?: unknown }).cause)}`, /absent|does not exist/);
    return true;
  });
});
