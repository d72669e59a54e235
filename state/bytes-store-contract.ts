/**
 * The contract every BytesStore passes, written once and run for each implementation
 * (memory-bytes-store.test.ts, rocksdb-bytes-store.test.ts), so the two cannot drift apart.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BytesStore, KeyValue, RangeQuery } from './types.ts';

export interface ContractSubject {
  store: BytesStore;
  /** Closes the store if still open and removes whatever it left on disk. */
  dispose(): Promise<void>;
}

const b = (...bytes: number[]): Buffer => Buffer.from(bytes);
const s = (text: string): Buffer => Buffer.from(text, 'utf8');

async function collect(store: BytesStore, query: RangeQuery<Buffer> = {}): Promise<KeyValue<Buffer, Buffer>[]> {
  const rows: KeyValue<Buffer, Buffer>[] = [];
  for await (const row of store.range(query)) rows.push(row);
  return rows;
}

const keysOf = (rows: KeyValue<Buffer, Buffer>[]): string[] => rows.map((row) => row.key.toString('hex'));
const hex = (keys: Buffer[]): string[] => keys.map((key) => key.toString('hex'));

/** Keys chosen so that byte order differs from string, length and insertion order. */
const orderedKeys = [b(), b(0x00), b(0x00, 0x00), b(0x00, 0xff), b(0x01), b(0x7f), b(0x80), b(0xff), b(0xff, 0x00)];

async function withSubject(open: () => Promise<ContractSubject>, body: (store: BytesStore) => Promise<void>) {
  const subject = await open();
  try {
    await body(subject.store);
  } finally {
    await subject.dispose();
  }
}

export function bytesStoreContract(label: string, open: () => Promise<ContractSubject>): void {
  const it = (name: string, body: (store: BytesStore) => Promise<void>) => test(name, () => withSubject(open, body));

  describe(`BytesStore contract: ${label}`, () => {
    it('get returns what write stored, undefined for a missing key; empty keys and values are values', async (store) => {
      assert.equal(await store.get(s('a')), undefined);
      await store.write([
        { key: s('a'), value: s('1') },
        { key: b(), value: s('empty key') },
        { key: s('e'), value: b() },
      ]);
      assert.deepEqual(await store.get(s('a')), s('1'));
      assert.deepEqual(await store.get(b()), s('empty key'));
      assert.deepEqual(await store.get(s('e')), b());
      assert.equal(await store.get(s('b')), undefined);
    });

    it('a batch applies in order: the later write to a key wins, null deletes', async (store) => {
      await store.write([{ key: s('gone'), value: s('x') }]);
      await store.write([
        { key: s('k'), value: s('1') },
        { key: s('k'), value: null },
        { key: s('back'), value: null },
        { key: s('back'), value: s('2') },
        { key: s('gone'), value: null },
        { key: s('twice'), value: s('old') },
        { key: s('twice'), value: s('new') },
      ]);
      assert.equal(await store.get(s('k')), undefined);
      assert.deepEqual(await store.get(s('back')), s('2'));
      assert.equal(await store.get(s('gone')), undefined);
      assert.deepEqual(await store.get(s('twice')), s('new'));
      assert.deepEqual(keysOf(await collect(store)), hex([s('back'), s('twice')]));
    });

    it('a batch with an invalid entry changes nothing', async (store) => {
      await store.write([{ key: s('kept'), value: s('old') }]);
      const invalid = { key: undefined as unknown as Buffer, value: s('x') };
      await assert.rejects(
        store.write([{ key: s('kept'), value: s('new') }, { key: s('added'), value: s('y') }, invalid]),
      );
      assert.deepEqual(await store.get(s('kept')), s('old'));
      assert.equal(await store.get(s('added')), undefined);
    });

    it('range returns entries in byte order (Buffer.compare), not insertion order', async (store) => {
      const shuffled = [...orderedKeys].reverse();
      shuffled.push(shuffled.shift()!);
      await store.write(shuffled.map((key, i) => ({ key, value: b(i) })));
      const rows = await collect(store);
      assert.deepEqual(keysOf(rows), hex([...orderedKeys].sort(Buffer.compare)));
      assert.deepEqual(keysOf(rows), hex(orderedKeys), 'the fixture is itself in byte order');
      assert.deepEqual(keysOf(await collect(store, { reverse: true })), hex([...orderedKeys].reverse()));
      for (const row of rows) assert.deepEqual(await store.get(row.key), row.value);
    });

    it('range honours from (inclusive), to (exclusive), reverse and limit', async (store) => {
      await store.write(orderedKeys.map((key) => ({ key, value: s('v') })));
      const between = (from: number, to: number) => hex(orderedKeys.slice(from, to));
      assert.deepEqual(keysOf(await collect(store, { from: b(0x00, 0x00), to: b(0x7f) })), between(2, 5));
      assert.deepEqual(keysOf(await collect(store, { from: b(0x00, 0x01) })), between(3, 9), 'from between keys');
      assert.deepEqual(keysOf(await collect(store, { to: b(0x01) })), between(0, 4));
      assert.deepEqual(
        keysOf(await collect(store, { from: b(0x00), to: b(0x80), reverse: true })),
        between(1, 6).reverse(),
      );
      assert.deepEqual(keysOf(await collect(store, { limit: 3 })), between(0, 3));
      assert.deepEqual(keysOf(await collect(store, { to: b(0xff), reverse: true, limit: 2 })), between(5, 7).reverse());
      assert.deepEqual(await collect(store, { limit: 0 }), []);
      assert.deepEqual(await collect(store, { from: b(0x80), to: b(0x01) }), [], 'from after to is empty');
      assert.deepEqual(await collect(store, { from: b(0x01), to: b(0x01) }), [], 'from equal to to is empty');
    });

    it('rejects a negative or fractional limit', async (store) => {
      await assert.rejects(collect(store, { limit: -1 }), RangeError);
      await assert.rejects(collect(store, { limit: 1.5 }), RangeError);
    });

    it('a scan left early releases its resources; a scan does not see writes made after it started', async (store) => {
      await store.write(['a', 'b', 'c'].map((k) => ({ key: s(k), value: s(k) })));
      for await (const row of store.range({})) {
        assert.deepEqual(row.key, s('a'));
        break;
      }
      const seen: string[] = [];
      for await (const row of store.range({})) {
        seen.push(row.key.toString());
        if (seen.length === 1) await store.write([{ key: s('bb'), value: s('new') }]);
      }
      assert.deepEqual(seen, ['a', 'b', 'c']);
      assert.deepEqual(keysOf(await collect(store)), hex([s('a'), s('b'), s('bb'), s('c')]));
    });

    it('keeps its own copy of written bytes', async (store) => {
      const key = s('key');
      const value = s('value');
      await store.write([{ key, value }]);
      key.fill(0x21);
      value.fill(0x21);
      assert.deepEqual(await store.get(s('key')), s('value'));
      assert.equal(await store.get(key), undefined);
    });

    it('approximateSize counts entries', async (store) => {
      assert.equal(await store.approximateSize(), 0);
      await store.write(Array.from({ length: 50 }, (_, i) => ({ key: s(`k${i}`), value: s('v') })));
      const size = await store.approximateSize();
      assert.ok(size >= 25 && size <= 100, `50 entries estimated as ${size}`);
    });

    it('refuses every operation once closed', async (store) => {
      await store.close();
      await assert.rejects(store.get(s('a')), { code: 'STORE_CLOSED' });
      await assert.rejects(store.write([{ key: s('a'), value: s('1') }]), { code: 'STORE_CLOSED' });
      await assert.rejects(collect(store), { code: 'STORE_CLOSED' });
      await assert.rejects(store.approximateSize(), { code: 'STORE_CLOSED' });
      await store.close();
    });
  });
}
