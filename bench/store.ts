/**
 * Store get/put through the full layered store (metered(typed(task store(RocksDB))), as openStore builds it)
 * against raw @nxtedition/rocksdb put/get, side by side in one run, several rounds. Not a test: it asserts
 * nothing and prints tables for BENCHMARKS.md.
 *
 *   node --import tsx bench/store.ts [--ops 50000] [--rounds 5] [--commit-every 1000]
 *
 * Side by side means interleaved: each round works through the records in chunks of `commit-every`, and every
 * chunk runs on every side in a rotating order. Load from other processes on a small machine then lands on
 * all sides alike instead of on whichever ran during the spike.
 *
 * What is compared:
 * - put, raw: `await db.put(k, v)` one at a time (no fsync), as a store without buffering would write.
 * - put, raw batched: the same chunk in one `db.batch` (no fsync): the floor for any batching store.
 * - put, layered: `store.put(k, v)` (synchronous, into the dirty map), timed alone ("per op"), and end to end
 *   with what the runtime does at each commit: `pendingChangelog()` then `flush(offsets)` (one RocksDB batch,
 *   then the checkpoint file written and fsynced). End to end with RocksDB sync off (like raw) and on (the
 *   production default: one WAL fsync per flush).
 * - get, raw: `await db.get(k)`; get, layered: `await store.get(k)` once everything is flushed, so every
 *   lookup misses the dirty map and goes down to RocksDB (the layered path's worst case).
 * Keys are 16 bytes, values 100 bytes. The layered store uses identity bytes serdes, so serdes cost nothing
 * and the comparison measures the layers themselves. Gets read all keys in a fixed scrambled order.
 *
 * RocksDB's own cost (a thread-pool round trip per get) is large and noisy on a shared 2-core machine, so
 * the run ends with the layers alone: the same layered get/put over an inner store that answers at once,
 * against that inner store called directly. The difference is what the layers add per operation.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { RocksLevel } from '@nxtedition/rocksdb';
import type { Serde } from '../schemas/serde.ts';
import { openStore, type StoreMetrics, type TaskKeyValueStore } from '../state/index.ts';
import { MeteredStore, TaskStore, TypedStore, type BytesStore } from '../state/index.ts';
import type { StoreSpec } from '../topology/model.ts';

const { values: args } = parseArgs({
  options: {
    ops: { type: 'string', default: '50000' },
    rounds: { type: 'string', default: '7' },
    'commit-every': { type: 'string', default: '1000' },
  },
});
const ops = Number(args.ops);
const rounds = Number(args.rounds);
const commitEvery = Number(args['commit-every']);

const bytes: Serde<Buffer> = { serialize: (_t, v) => v, deserialize: (_t, b) => b! };
let metricCalls = 0;
const metrics: StoreMetrics = { record: () => void metricCalls++ };
const spec: StoreSpec = {
  name: 'bench',
  kind: 'rocksdb',
  changelog: true,
  key: { type: 'bytes' },
  value: { type: 'bytes' },
};

type Db = RocksLevel<Buffer, Buffer>;
/** Seconds spent per measure in one round. */
type Round = Map<string, number>;

async function openRaw(dir: string): Promise<Db> {
  const db = new RocksLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open({ createIfMissing: true });
  return db;
}

async function openLayered(dir: string, sync: boolean): Promise<TaskKeyValueStore<Buffer, Buffer>> {
  const opened = await openStore(spec, {
    dir,
    application: 'bench',
    taskId: '0_0',
    keySerde: bytes,
    valueSerde: bytes,
    metrics,
    sync,
  });
  return opened.store;
}

async function timed(round: Round, label: string, fn: () => unknown): Promise<void> {
  const start = performance.now();
  await fn();
  round.set(label, (round.get(label) ?? 0) + (performance.now() - start) / 1000);
}

/** Runs the steps in an order rotated by `chunk`, so no side always goes first. */
async function rotated(chunk: number, steps: (() => Promise<void>)[]): Promise<void> {
  for (let i = 0; i < steps.length; i++) await steps[(chunk + i) % steps.length]!();
}

async function layeredPuts(round: Round, store: TaskKeyValueStore<Buffer, Buffer>, chunk: Data, label: string) {
  const start = performance.now();
  await timed(round, `${label} put (per op)`, () => {
    for (let i = 0; i < chunk.keys.length; i++) store.put(chunk.keys[i]!, chunk.values[i]!);
  });
  // The runtime sends these inside the Kafka transaction; here they are only gathered.
  if (store.pendingChangelog().length !== chunk.keys.length) throw new Error('pending writes went missing');
  await store.flush({ 0: chunk.end });
  round.set(`${label} put+flush`, (round.get(`${label} put+flush`) ?? 0) + (performance.now() - start) / 1000);
}

interface Data {
  keys: Buffer[];
  values: Buffer[];
  end: number;
}

async function runRound(dir: string, keys: Buffer[], values: Buffer[], order: number[]): Promise<Round> {
  const round: Round = new Map();
  const raw = await openRaw(join(dir, 'raw'));
  const rawBatch = await openRaw(join(dir, 'raw-batch'));
  const layered = await openLayered(join(dir, 'layered'), false);
  const layeredSync = await openLayered(join(dir, 'layered-sync'), true);
  for (let from = 0, chunk = 0; from < ops; from += commitEvery, chunk++) {
    const end = Math.min(ops, from + commitEvery);
    const data = { keys: keys.slice(from, end), values: values.slice(from, end), end };
    await rotated(chunk, [
      () =>
        timed(round, 'raw put', async () => {
          for (let i = 0; i < data.keys.length; i++) await raw.put(data.keys[i]!, data.values[i]!);
        }),
      () =>
        timed(round, 'raw batch put', () =>
          rawBatch.batch(data.keys.map((key, i) => ({ type: 'put' as const, key, value: data.values[i]! }))),
        ),
      () => layeredPuts(round, layered, data, 'layered'),
      () => layeredPuts(round, layeredSync, data, 'layered fsync'),
    ]);
  }
  for (let from = 0, chunk = 0; from < ops; from += commitEvery, chunk++) {
    const slice = order.slice(from, from + commitEvery).map((i) => keys[i]!);
    await rotated(chunk, [
      () =>
        timed(round, 'raw get', async () => {
          for (const key of slice) await raw.get(key);
        }),
      () =>
        timed(round, 'layered get', async () => {
          for (const key of slice) await layered.get(key);
        }),
    ]);
  }
  await Promise.all([raw.close(), rawBatch.close(), layered.close(), layeredSync.close()]);
  return round;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function report(results: Round[]): void {
  const seconds = (label: string) => results.map((round) => round.get(label)!);
  const labels = [...results[0]!.keys()].sort();
  console.log(`\n| measure | ops/s (median of rounds) | ms per round |\n|---|---:|---|`);
  for (const label of labels) {
    const rate = Math.round(ops / median(seconds(label))).toLocaleString('en-US');
    console.log(
      `| ${label} | ${rate} | ${seconds(label)
        .map((s) => (s * 1000).toFixed(0))
        .join(' ')} |`,
    );
  }
  // The ratio is taken per round (both sides saw the same machine), then the median across rounds.
  const ratio = (a: string, b: string) => {
    const perRound = results.map((round) => round.get(a)! / round.get(b)!);
    return `${median(perRound).toFixed(2)} | ${perRound.map((r) => r.toFixed(2)).join(' ')}`;
  };
  console.log(`\n| time ratio, layered / raw | median | per round |\n|---|---:|---|`);
  console.log(`| get | ${ratio('layered get', 'raw get')} |`);
  console.log(`| put, per op, vs raw one at a time | ${ratio('layered put (per op)', 'raw put')} |`);
  console.log(`| put + flush (end to end), vs raw one at a time | ${ratio('layered put+flush', 'raw put')} |`);
  console.log(`| put + flush (end to end), vs raw batched | ${ratio('layered put+flush', 'raw batch put')} |`);
  console.log(`| put + flush with fsync, vs raw one at a time | ${ratio('layered fsync put+flush', 'raw put')} |`);
}

/** Microseconds per get and per put that the layers add over an inner store that answers at once. */
async function layerOverhead(): Promise<void> {
  const value = Buffer.alloc(100);
  const instant = {
    name: 'instant',
    get: () => Promise.resolve(value),
    write: () => Promise.resolve(),
  } as unknown as BytesStore;
  const task = new TaskStore(instant);
  const store = new MeteredStore(new TypedStore(task, bytes, bytes, 'bench-changelog'), metrics);
  const keys = Array.from({ length: commitEvery }, (_, i) => Buffer.from(`key-${String(i).padStart(12, '0')}`));
  const n = 200_000;
  const perOp = async (fn: (key: Buffer) => unknown) => {
    const start = performance.now();
    for (let i = 0; i < n; i++) await fn(keys[i % keys.length]!);
    return ((performance.now() - start) * 1000) / n;
  };
  console.log(
    `\n| layers alone (µs per op, ${n} ops, median of 5) | inner directly | layered | added |\n|---|---:|---:|---:|`,
  );
  const rows: [string, number[], number[]][] = [
    ['get (dirty-map miss)', [], []],
    ['put (into the dirty map; no flush)', [], []],
  ];
  for (let r = 0; r < 5; r++) {
    rows[0]![1].push(await perOp((key) => instant.get(key)));
    rows[0]![2].push(await perOp((key) => store.get(key)));
    rows[1]![1].push(await perOp(() => undefined));
    rows[1]![2].push(await perOp((key) => store.put(key, value)));
    task.discard();
  }
  for (const [label, inner, layered] of rows) {
    const [a, b] = [median(inner), median(layered)];
    console.log(`| ${label} | ${a.toFixed(3)} | ${b.toFixed(3)} | ${(b - a).toFixed(3)} |`);
  }
}

async function main(): Promise<void> {
  const cpu = cpus();
  console.log(`# store get/put vs raw RocksDB, ${new Date().toISOString()}`);
  console.log(`# ${cpu.length} x ${cpu[0]?.model ?? 'unknown cpu'}, Node ${process.version}, ${process.platform}`);
  console.log(`# ops ${ops} per round, rounds ${rounds}, commit every ${commitEvery}, keys 16 B, values 100 B`);
  const keys = Array.from({ length: ops }, (_, i) => Buffer.from(`key-${String(i).padStart(12, '0')}`));
  const values = Array.from({ length: ops }, () => randomBytes(100));
  const order = Array.from({ length: ops }, (_, i) => (i * 7919) % ops); // 7919 is prime: a permutation
  if (new Set(order).size !== ops) throw new Error('choose an --ops that 7919 does not divide');
  const results: Round[] = [];
  for (let r = 0; r < rounds; r++) {
    const dir = await mkdtemp(join(tmpdir(), 'parley-bench-store-'));
    try {
      results.push(await runRound(dir, keys, values, order));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    console.log(`# round ${r + 1}/${rounds} done`);
  }
  report(results);
  await layerOverhead();
  console.log(`\n# metered-layer calls recorded: ${metricCalls}`);
}

await main();
