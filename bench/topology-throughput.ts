/**
 * Records per second through a 3-processor stateful topology on the real Kafka broker, against raw kafkajs
 * consume→produce loops reading the same input topic, side by side in one run (issue #3). Not a test: it
 * asserts nothing and prints tables for BENCHMARKS.md.
 *
 *   node --import tsx bench/topology-throughput.ts [--records 100000] [--rounds 7] [--partitions 3] [--keys 1000]
 *        [--value-bytes 100] [--timeout 300] [--only exactly_once,transactional]
 *
 * The topology: source (string key, string value holding JSON) → parse (JSON.parse, enrich) → aggregate
 * (running count and total per key in a RocksDB store with a changelog) → format (a filter that drops nothing,
 * then a one-line string) → sink (bench/lib/payments.ts). Under exactly_once and under at_least_once, through
 * TopologyBuilder, ProcessorRegistry, createApp's wiring (serdeFactory with a MemoryRegistryClient,
 * defaultStoreOpener with store metrics, StreamsApp) and createKafkaBackend.
 *
 * The baselines (bench/lib/raw-loop.ts) copy every record to the output with no other work: a plain loop and a
 * transactional loop (one transaction with sendOffsets per batch). So the ratio prices the whole engine: JSON
 * parsing, store reads and writes, changelog records (one per key changed per commit), serdes, and commits.
 *
 * Method: the input (`--records` records of about `--value-bytes` bytes, `--keys` distinct keys) is produced
 * once before any clock starts. Each round runs every side once, in an order rotated per round, each with a
 * fresh group, output topic (created beforehand) and state directory. A side's clock starts before it connects
 * or joins its group and stops when a read_committed reader (bench/lib/output-counter.ts, in a worker thread,
 * joined before the clock starts) has seen all records on the output topic.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Admin } from 'kafkajs';
import { MemoryRegistryClient } from '../schemas/index.ts';
import { createKafkaBackend } from '../topology/backend/kafka.ts';
import type { StoreMetrics } from '../state/index.ts';
import { defaultStoreOpener, serdeFactory } from '../topology/engine.ts';
import { StreamsApp } from '../topology/runtime/app.ts';
import type { ProcessingGuarantee } from '../topology/model.ts';
import { internalTopics } from '../topology/validate.ts';
import { brokerList, connectAdmin, createTopics, deadline, deleteRunTopics, kafkaClient } from './lib/kafka.ts';
import { plainProducer, produceInput, runId } from './lib/kafka.ts';
import { absoluteNow, startOutputCounter } from './lib/output-counter.ts';
import { paymentRecord, paymentsEngine, processorNodes } from './lib/payments.ts';
import { startRawLoop, type RawMode } from './lib/raw-loop.ts';
import { fixed, int, interrupted, median, progress, rotate, table } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '7' },
    partitions: { type: 'string', default: '3' },
    keys: { type: 'string', default: '1000' },
    'value-bytes': { type: 'string', default: '100' },
    timeout: { type: 'string', default: '300' },
    /** Only the sides whose names contain one of these comma-separated words (e.g. to profile one side). */
    only: { type: 'string' },
  },
});
const records = Number(args.records);
const rounds = Number(args.rounds);
const partitions = Number(args.partitions);
const keyCount = Number(args.keys);
const valueBytes = Number(args['value-bytes']);
const timeoutMs = Number(args.timeout) * 1000;
// Bounds: a run is a few minutes, not an accident that fills the shared broker.
if (!(records >= 1000 && records <= 1_000_000)) throw new Error('--records must be within 1000..1000000');
if (!(rounds >= 1 && rounds <= 20)) throw new Error('--rounds must be within 1..20');

// ---- one side of one round --------------------------------------------------------------------------------

type Side = 'topology exactly_once' | 'topology at_least_once' | 'raw transactional' | 'raw plain';
const sides = (['topology exactly_once', 'raw transactional', 'topology at_least_once', 'raw plain'] as Side[]).filter(
  (side) => !args.only || args.only.split(',').some((word) => side.includes(word.trim())),
);

interface Result {
  seconds: number;
  firstOutputMs: number;
  /** Seconds from the first output record to the last. */
  flowSeconds: number;
  work: Work;
}

/** What a side reports about its own work: commits made, seconds inside them and inside processors. */
interface Work {
  /** Transactions (exactly_once, raw transactional) or send + offset-commit rounds. */
  commits: number;
  /** Engine: the `committed` event's time (send, offsets, commit, store flush). Raw: send/sendOffsets/commit. */
  commitSeconds: number;
  /** Engine only: time inside the processors' process() calls (the `processed` event), per node. */
  processSeconds: Record<string, number>;
  /** Engine only: store gets slower than slowGetSeconds (they reached RocksDB), and commit-time flushes. */
  slowGets: number;
  slowGetSeconds: number;
  flushSeconds: number;
}

const newWork = (): Work => ({
  commits: 0,
  commitSeconds: 0,
  processSeconds: {},
  slowGets: 0,
  slowGetSeconds: 0,
  flushSeconds: 0,
});
/** A get answered from the task's dirty map takes a few µs; one that goes to RocksDB, tens (bench/store.ts). */
const slowGetSeconds = 20e-6;

interface Running {
  whenFailed: Promise<Error>;
  work: Work;
  stop(): Promise<void>;
}

interface Run {
  id: string;
  input: string;
  stateRoot: string;
  admin: Admin;
}

async function startTopology(run: Run, side: Side, output: string, tag: string): Promise<() => Promise<Running>> {
  const guarantee: ProcessingGuarantee = side === 'topology exactly_once' ? 'exactly_once' : 'at_least_once';
  const engine = paymentsEngine(`bench-tp-${run.id}-${tag}`, { input: run.input, output, partitions }, guarantee);
  const backend = await createKafkaBackend({
    brokers: brokerList(),
    clientId: `bench-tp-${run.id}-${tag}`,
    logLevel: 'nothing',
  });
  // Every topic exists before the clock starts; app.start() then only checks them, like the raw loops.
  await backend.createTopics([...engine.topology.spec.topics, ...internalTopics(engine.topology)]);
  const stateDir = mkdtempSync(join(run.stateRoot, `${tag}-`));
  const work = newWork();
  // createApp's wiring, plus store metrics: how many gets reached RocksDB, and the time in commit-time flushes.
  const serdes = serdeFactory(engine.schemasDir, new MemoryRegistryClient());
  const metrics: StoreMetrics = {
    record: (operation, _store, seconds) => {
      if (operation === 'flush') work.flushSeconds += seconds;
      if (operation !== 'get' || seconds < slowGetSeconds) return;
      work.slowGets++;
      work.slowGetSeconds += seconds;
    },
  };
  const app = new StreamsApp({
    topology: engine.topology,
    registry: engine.registry,
    backend,
    serdes,
    openStore: defaultStoreOpener({ topology: engine.topology, serdes, stateDir, metrics }),
    events: {
      committed: (_task, _records, seconds) => void (work.commits++, (work.commitSeconds += seconds)),
      processed: (_task, node, seconds) =>
        void (work.processSeconds[node] = (work.processSeconds[node] ?? 0) + seconds),
    },
  });
  return async () => {
    await app.start();
    return {
      whenFailed: app.whenFailed(),
      work,
      stop: async () => {
        await app.stop();
        await backend.close();
      },
    };
  };
}

async function prepareRaw(run: Run, side: Side, output: string, tag: string): Promise<() => Promise<Running>> {
  const mode: RawMode = side === 'raw transactional' ? 'transactional' : 'plain';
  const kafka = kafkaClient(`bench-tp-${run.id}-${tag}`);
  const work = newWork();
  const onStep = (step: string, ms: number) => {
    if (step === 'batchDone') work.commits++;
    else if (step !== 'delivered') work.commitSeconds += ms / 1000;
  };
  return async () => {
    const loop = await startRawLoop(kafka, {
      groupId: `bench-tp-${run.id}-${tag}`,
      input: run.input,
      output,
      mode,
      onStep,
    });
    return { whenFailed: loop.whenFailed, work, stop: () => loop.stop() };
  };
}

async function measure(run: Run, side: Side, round: number): Promise<Result> {
  const tag = `${side.replace(/[^a-z]+/g, '-')}-r${round}`;
  const output = `bench-tp-${run.id}-out-${tag}`;
  const prepare = side.startsWith('topology') ? startTopology : prepareRaw;
  const start = await prepare(run, side, output, tag);
  await createTopics(run.admin, [output], partitions);
  const counter = startOutputCounter({
    brokers: brokerList(),
    topic: output,
    groupId: `bench-tp-${run.id}-reader-${tag}`,
    target: records,
  });
  await deadline(counter.ready, 60_000, `reader of ${output}`);
  const timer = setInterval(() => progress(`  ${side}: ${int(counter.counted())}/${int(records)} records out`), 2000);
  const t0 = absoluteNow();
  let running: Running | undefined;
  try {
    running = await start();
    const failed = running.whenFailed.then((error) => Promise.reject(error));
    const done = await deadline(Promise.race([counter.done, failed]), timeoutMs, `${side}, round ${round}`);
    return {
      seconds: (done.lastAt - t0) / 1000,
      firstOutputMs: done.firstAt - t0,
      flowSeconds: (done.lastAt - done.firstAt) / 1000,
      work: running.work,
    };
  } finally {
    clearInterval(timer);
    await running?.stop();
    const final = await counter.stop();
    if (final !== records) progress(`  ${side}: the output holds ${final} records, not ${records}`);
  }
}

// ---- report ---------------------------------------------------------------------------------------------------

function rateTable(results: Map<Side, Result[]>): string {
  const rate = (r: Result) => records / r.seconds;
  const rows = sides.map((side) => {
    const rs = results.get(side)!;
    return [
      side,
      `**${int(median(rs.map(rate)))}**`,
      `${int(Math.min(...rs.map(rate)))}–${int(Math.max(...rs.map(rate)))}`,
      rs.map((r) => fixed(r.seconds, 1)).join(' '),
      int(median(rs.map((r) => r.firstOutputMs))),
      int(median(rs.map((r) => records / r.flowSeconds))),
      int(median(rs.map((r) => r.work.commits))),
    ];
  });
  const headers = [
    'side',
    '>records/s (median)',
    '>min–max',
    's per round',
    '>first output (ms)',
    '>records/s after first output',
    '>commits',
  ];
  return table(headers, rows);
}

function ratioTable(results: Map<Side, Result[]>): string {
  const ratio = (a: Side, b: Side, goal: string) => {
    const perRound = results.get(a)!.map((r, i) => results.get(b)![i]!.seconds / r.seconds);
    const flow = results.get(a)!.map((r, i) => results.get(b)![i]!.flowSeconds / r.flowSeconds);
    return [
      `${a} / ${b}`,
      `**${fixed(median(perRound))}**`,
      perRound.map((x) => fixed(x)).join(' '),
      fixed(median(flow)),
      goal,
    ];
  };
  const pairs: [Side, Side, string][] = [
    ['topology exactly_once', 'raw transactional', '≥ 0.5'],
    ['topology exactly_once', 'raw plain', ''],
    ['topology at_least_once', 'raw plain', '≥ 0.5'],
  ];
  const ratioRows = pairs.filter(([a, b]) => sides.includes(a) && sides.includes(b)).map((p) => ratio(...p));
  const ratioHeaders = [
    'throughput ratio (per round, same round)',
    '>median',
    'per round',
    '>after first output',
    'goal',
  ];
  return table(ratioHeaders, ratioRows);
}

function workTable(results: Map<Side, Result[]>): string {
  const seconds = (rs: Result[], f: (r: Result) => number) => fixed(median(rs.map(f)), 2);
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const nodes = processorNodes;
  const workRows = sides.map((side) => {
    const rs = results.get(side)!;
    const engine = side.startsWith('topology');
    return [
      side,
      seconds(rs, (r) => r.seconds),
      seconds(rs, (r) => r.firstOutputMs / 1000),
      seconds(rs, (r) => r.work.commitSeconds),
      engine ? seconds(rs, (r) => sum(Object.values(r.work.processSeconds))) : '–',
      engine ? nodes.map((n) => seconds(rs, (r) => r.work.processSeconds[n] ?? 0)).join(' / ') : '–',
      engine ? `${int(median(rs.map((r) => r.work.slowGets)))} / ${seconds(rs, (r) => r.work.slowGetSeconds)}` : '–',
      engine ? seconds(rs, (r) => r.work.flushSeconds) : '–',
    ];
  });
  const workHeaders = [
    'where the time went (median s per round)',
    '>total',
    '>to first output',
    '>in commits',
    '>in process()',
    `>${nodes.join(' / ')}`,
    '>RocksDB gets (n / s)',
    '>store flushes',
  ];
  return table(workHeaders, workRows);
}

async function main(): Promise<void> {
  const cpu = cpus();
  console.log(`# topology throughput vs raw kafkajs loops, ${new Date().toISOString()}`);
  console.log(
    `# ${cpu.length} x ${cpu[0]?.model ?? 'unknown cpu'}, Node ${process.version}, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(
    `# brokers ${brokerList().join(',')}; ${int(records)} records of ~${valueBytes} B, ${keyCount} keys, ${partitions} partitions, ${rounds} rounds`,
  );
  const id = runId();
  const { kafka, admin } = await connectAdmin(`bench-tp-${id}`);
  const stateRoot = mkdtempSync(join(tmpdir(), 'parley-bench-tp-'));
  const run: Run = { id, input: `bench-tp-${id}-in`, stateRoot, admin };
  try {
    await createTopics(admin, [run.input], partitions);
    const producer = await plainProducer(kafka);
    await produceInput(
      producer,
      run.input,
      records,
      (i) => paymentRecord(i, keyCount, valueBytes),
      (n) => progress(`input: ${int(n)}/${int(records)} produced`),
    );
    await producer.disconnect();
    const results = new Map<Side, Result[]>(sides.map((s) => [s, []]));
    for (let round = 0; round < rounds && !interrupted(); round++) {
      for (const side of rotate(sides, round)) {
        if (interrupted()) break;
        progress(`round ${round + 1}/${rounds}: ${side}`);
        const result = await measure(run, side, round);
        progress(`  ${side}: ${fixed(result.seconds, 2)} s, ${int(records / result.seconds)} records/s`);
        results.get(side)!.push(result);
      }
    }
    if (interrupted()) return;
    console.log(`\n${rateTable(results)}\n\n${ratioTable(results)}\n\n${workTable(results)}`);
    console.log(
      `\n# load after the run: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
  } finally {
    const deleted = await deleteRunTopics(admin, id).catch(() => 0);
    progress(`cleanup: deleted ${deleted} topics of run ${id}`);
    await admin.disconnect();
    rmSync(run.stateRoot, { recursive: true, force: true });
  }
}

await main().catch((error: unknown) => {
  process.stderr.write(`topology-throughput: ${(error as Error).message ?? error}\n`);
  process.exitCode = 1;
});
