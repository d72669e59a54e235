/**
 * The task store against a deliberately naive oracle (STYLE.md §10): two Maps, committed and dirty, and a
 * range that filters and sorts everything. Random sequences of put/delete/flush/discard (including writes
 * made while a flush runs) must give the same get and range answers, over both BytesStores.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { MemoryBytesStore } from './memory-bytes-store.ts';
import { openRocksDbStore } from './rocksdb-bytes-store.ts';
import { TaskStore } from './task-store.ts';
import type { BytesStore, KeyValue, RangeQuery } from './types.ts';

// A small alphabet with the byte-order edge cases (0x00, the 0x7f/0x80 sign boundary, 0xff) and short keys
// (21 in all, the empty key among them), so prefixes, overwrites and deletes of committed keys are frequent.
const key = fc.array(fc.constantFrom(0x00, 0x7f, 0x80, 0xff), { maxLength: 2 }).map((bytes) => Buffer.from(bytes));
const value = fc.uint8Array({ maxLength: 2 }).map((bytes) => Buffer.from(bytes));
// Each bound or limit is absent half of the time: unbounded scans with a limit are where deletes must not
// eat into the limit.
const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined, freq: 2 });
const query: fc.Arbitrary<RangeQuery<Buffer>> = fc.record({
  from: optional(key),
  to: optional(key),
  reverse: fc.boolean(),
  limit: optional(fc.nat({ max: 6 })),
});
type Write = { type: 'put'; key: Buffer; value: Buffer } | { type: 'delete'; key: Buffer };
const write: fc.Arbitrary<Write> = fc.oneof(
  fc.record({ type: fc.constant('put' as const), key, value }),
  fc.record({ type: fc.constant('delete' as const), key }),
);
type Command =
  | Write
  | { type: 'flush' }
  | { type: 'discard' }
  | { type: 'get'; key: Buffer }
  | { type: 'range'; query: RangeQuery<Buffer> }
  | { type: 'flushRacing'; writes: Write[]; query: RangeQuery<Buffer> };
const command: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: write, weight: 6 },
  { arbitrary: fc.constant({ type: 'flush' as const }), weight: 1 },
  { arbitrary: fc.constant({ type: 'discard' as const }), weight: 1 },
  { arbitrary: fc.record({ type: fc.constant('get' as const), key }), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('range' as const), query }), weight: 2 },
  {
    arbitrary: fc.record({
      type: fc.constant('flushRacing' as const),
      writes: fc.array(write, { maxLength: 4 }),
      query,
    }),
    weight: 1,
  },
);

class Oracle {
  committed = new Map<string, Buffer>();
  dirty = new Map<string, Buffer | null>();
  apply(w: Write): void {
    this.dirty.set(w.key.toString('hex'), w.type === 'put' ? w.value : null);
  }
  commit(): void {
    for (const [k, v] of this.dirty) {
      if (v === null) this.committed.delete(k);
      else this.committed.set(k, v);
    }
    this.dirty.clear();
  }
  get(k: Buffer): Buffer | undefined {
    const hex = k.toString('hex');
    const pending = this.dirty.get(hex);
    return pending === undefined ? this.committed.get(hex) : (pending ?? undefined);
  }
  range(q: RangeQuery<Buffer>): string[] {
    const all = new Set([...this.committed.keys(), ...this.dirty.keys()]);
    const rows = [...all]
      .map((hex) => Buffer.from(hex, 'hex'))
      .filter((k) => this.get(k) !== undefined)
      .filter(
        (k) =>
          (q.from === undefined || Buffer.compare(k, q.from) >= 0) &&
          (q.to === undefined || Buffer.compare(k, q.to) < 0),
      )
      .sort(Buffer.compare);
    if (q.reverse) rows.reverse();
    return rows.slice(0, q.limit ?? rows.length).map((k) => `${k.toString('hex')}=${this.get(k)!.toString('hex')}`);
  }
}

/**
 * Holds writes back while closed, so a test can look at the task store while a flushed batch is on its way
 * (both real BytesStores apply a batch before their write promise even settles, hiding that window).
 */
class GatedStore implements BytesStore {
  private opened: Promise<void> | undefined;
  private open: (() => void) | undefined;
  constructor(private readonly inner: BytesStore) {}
  get name(): string {
    return this.inner.name;
  }
  hold(): void {
    this.opened = new Promise((resolve) => (this.open = resolve));
  }
  release(): void {
    this.open?.();
    this.opened = undefined;
  }
  async write(batch: readonly { key: Buffer; value: Buffer | null }[]): Promise<void> {
    await this.opened;
    await this.inner.write(batch);
  }
  get = (k: Buffer) => this.inner.get(k);
  range = (q: RangeQuery<Buffer>) => this.inner.range(q);
  approximateSize = () => this.inner.approximateSize();
  close = () => this.inner.close();
}

async function rangeOf(store: TaskStore, q: RangeQuery<Buffer>): Promise<string[]> {
  const rows: string[] = [];
  for await (const row of store.range(q) as AsyncIterable<KeyValue<Buffer, Buffer>>) {
    rows.push(`${row.key.toString('hex')}=${row.value.toString('hex')}`);
  }
  return rows;
}

function applyWrite(store: TaskStore, w: Write): void {
  if (w.type === 'put') store.put(w.key, w.value);
  else store.delete(w.key);
}

async function run(commands: Command[], inner: BytesStore): Promise<void> {
  const gated = new GatedStore(inner);
  const store = new TaskStore(gated);
  const oracle = new Oracle();
  let offset = 0;
  for (const c of commands) {
    switch (c.type) {
      case 'put':
      case 'delete':
        applyWrite(store, c);
        oracle.apply(c);
        break;
      case 'flush':
        await store.flush({ 0: ++offset });
        oracle.commit();
        break;
      case 'discard':
        store.discard();
        oracle.dirty.clear();
        break;
      case 'get':
        assert.deepEqual(await store.get(c.key), oracle.get(c.key));
        break;
      case 'range':
        assert.deepEqual(await rangeOf(store, c.query), oracle.range(c.query));
        break;
      case 'flushRacing': {
        // The flush takes the batch at once; writes made before it resolves belong to the next commit.
        gated.hold();
        const flushed = store.flush({ 0: ++offset });
        oracle.commit();
        for (const w of c.writes) {
          applyWrite(store, w);
          oracle.apply(w);
        }
        // Both read calls start synchronously, while the flushed batch is still on its way to the inner store.
        const probes = [...c.writes.map((w) => w.key), ...(c.query.from === undefined ? [] : [c.query.from])];
        const gets = probes.map((k) => store.get(k));
        const ranged = rangeOf(store, c.query);
        assert.deepEqual(
          await Promise.all(gets),
          probes.map((k) => oracle.get(k)),
          'get during a flush',
        );
        assert.deepEqual(await ranged, oracle.range(c.query), 'range during a flush');
        gated.release();
        await flushed;
        break;
      }
    }
  }
  // Whatever is pending is exactly the oracle's dirty map, and the final state agrees everywhere.
  const pending = store.pendingChangelog().map((r) => `${r.key.toString('hex')}=${r.value?.toString('hex') ?? 'null'}`);
  const expected = [...oracle.dirty].map(([k, v]) => `${k}=${v?.toString('hex') ?? 'null'}`);
  assert.deepEqual(pending.sort(), expected.sort());
  assert.deepEqual(await rangeOf(store, {}), oracle.range({}));
  await store.flush({ 0: ++offset });
  oracle.commit();
  const committed: string[] = [];
  for await (const row of inner.range({})) committed.push(`${row.key.toString('hex')}=${row.value.toString('hex')}`);
  assert.deepEqual(committed, oracle.range({}), 'the inner store holds exactly the committed state');
  await store.close();
}

const commands = fc.array(command, { maxLength: 80, size: 'medium' });

test('property: task store over memory agrees with a Map oracle', async () => {
  await fc.assert(
    fc.asyncProperty(commands, (cs) => run(cs, new MemoryBytesStore('oracle'))),
    { numRuns: 400 },
  );
});

test('property: task store over RocksDB agrees with a Map oracle', async () => {
  const root = await mkdtemp(join(tmpdir(), 'parley-task-property-'));
  let n = 0;
  try {
    await fc.assert(
      fc.asyncProperty(commands, async (cs) => {
        const dir = join(root, String(n++));
        await run(cs, await openRocksDbStore(dir, 'oracle', { sync: false }));
        await rm(dir, { recursive: true, force: true });
      }),
      { numRuns: 60 },
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
