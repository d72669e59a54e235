/**
 * Latency of one hop on the real Kafka broker: a record produced to topic A, passed through by a
 * one-processor topology, seen on topic B by a read_committed consumer, against raw kafkajs hops (a plain and
 * a transactional consume→produce loop, bench/lib/raw-loop.ts), side by side in one run (issue #3). Not a
 * test: it asserts nothing and prints tables for BENCHMARKS.md.
 *
 *   node --import tsx bench/hop-latency.ts [--samples 3000] [--warmup 300] [--block 100] [--partitions 1]
 *        [--max-minutes 20] [--suite hop | two-inputs] [--side-interval 50] [--side-open 0] [--side-writers 1]
 *
 * Closed loop: one record in flight; the next is produced once the previous arrived on B. The time is taken in
 * this process from just before the produce call to the moment the receiving consumer's eachBatch sees the
 * record (one clock). Every hop and its receiver run from the start; samples are taken in blocks of `--block`
 * per side, the sides rotating per block, after `--warmup` discarded samples per side.
 *
 * Where the time goes: the engine's Backend is wrapped (bench/lib/trace.ts) and the raw loops report their
 * steps, so each sample is split at the same points on every side: the batch reaching the hop, its output
 * sent, the offsets sent, the transaction committed, the record reaching the reader.
 *
 * `--suite two-inputs` measures the exactly_once pass-through when its task reads a second input topic (its
 * records are dropped) that `--side-writers` producers write throughout: each write, once transactional (it
 * ends with a commit marker, as EPaxos's topics will) and once plain, stays open `--side-open` ms before its
 * commit and is followed by a `--side-interval` ms pause; against the one-input hop. The tables add, per side,
 * the samples over 50 ms and the step that held them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { MemoryRegistryClient, schemasDir } from '../schemas/index.ts';
import { createKafkaBackend } from '../topology/backend/kafka.ts';
import { TopologyBuilder } from '../topology/builder.ts';
import { createApp, type Engine } from '../topology/engine.ts';
import type { ProcessingGuarantee } from '../topology/model.ts';
import type { Processor, ProcessorContext, StreamRecord } from '../topology/processor.ts';
import { ProcessorRegistry } from '../topology/registry.ts';
import { internalTopics } from '../topology/validate.ts';
import { offsetCommitTimes, sample, startReceiver, startSideWriter, type Hop } from './lib/hop.ts';
import { brokerList, connectAdmin, createTopics, deleteRunTopics, kafkaClient } from './lib/kafka.ts';
import { plainProducer, runId } from './lib/kafka.ts';
import { startRawLoop, type RawMode } from './lib/raw-loop.ts';
import { fixed, interrupted, median, percentile, progress, rotate, table } from './lib/stats.ts';
import { Marks, traced } from './lib/trace.ts';

const { values: args } = parseArgs({
  options: {
    samples: { type: 'string', default: '3000' },
    warmup: { type: 'string', default: '300' },
    block: { type: 'string', default: '100' },
    partitions: { type: 'string', default: '1' },
    'max-minutes': { type: 'string', default: '20' },
    suite: { type: 'string', default: 'hop' },
    'side-interval': { type: 'string', default: '50' },
    'side-open': { type: 'string', default: '0' },
    'side-writers': { type: 'string', default: '1' },
  },
});
const samples = Number(args.samples);
const warmup = Number(args.warmup);
const block = Number(args.block);
const partitions = Number(args.partitions);
const sideIntervalMs = Number(args['side-interval']);
const sideOpenMs = Number(args['side-open']);
const sideWriters = Number(args['side-writers']);
const deadlineAt = performance.now() + Number(args['max-minutes']) * 60_000;
// Bounds: a closed loop of 20,000 samples at ~10 ms is already minutes per side.
if (!(samples >= 100 && samples <= 20_000)) throw new Error('--samples must be within 100..20000');
if (!(block >= 10 && block <= samples)) throw new Error('--block must be within 10..samples');
if (!(sideWriters >= 1 && sideWriters <= 8)) throw new Error('--side-writers must be within 1..8');
if (args.suite !== 'hop' && args.suite !== 'two-inputs') throw new Error('--suite must be hop or two-inputs');

/** Forwards records of its first input; drops those of any other (the two-input suite's busy second input). */
class PassThrough implements Processor<Buffer, Buffer, Buffer, Buffer> {
  #context!: ProcessorContext<Buffer, Buffer>;
  constructor(readonly input: string) {}
  init(context: ProcessorContext<Buffer, Buffer>): void {
    this.#context = context;
  }
  process(record: StreamRecord<Buffer, Buffer>): void {
    if (this.#context.recordMetadata?.topic === this.input) this.#context.forward(record);
  }
}

const registry = new ProcessorRegistry().register('bench-pass', (config) => new PassThrough(String(config.input)));

function engineFor(application: string, inputs: string[], output: string, guarantee: ProcessingGuarantee): Engine {
  const builder = new TopologyBuilder(application).guarantee(guarantee);
  for (const name of [...inputs, output]) builder.topic({ name, partitions });
  const topology = builder
    .source('in', inputs) // one source over both inputs: one task reads partition p of each
    .processor('pass', { processor: 'bench-pass', parents: ['in'], config: { input: inputs[0] } })
    .sink('out', { topic: output, parents: ['pass'] })
    .build({ registry });
  return { file: 'bench/hop-latency.ts', topology, registry, schemasDir };
}

interface Side {
  name: string;
  engine?: ProcessingGuarantee;
  raw?: RawMode;
  /** A second input topic written every --side-interval ms, transactionally or plainly. */
  secondInput?: 'transactional' | 'plain';
}

const eos: Side = { name: 'topology exactly_once', engine: 'exactly_once' };
const suites: Record<string, Side[]> = {
  hop: [
    eos,
    { name: 'raw transactional', raw: 'transactional' },
    { name: 'raw plain', raw: 'plain' },
    { name: 'topology at_least_once', engine: 'at_least_once' },
  ],
  'two-inputs': [
    eos,
    { name: 'topology exactly_once, 2nd input transactional', engine: 'exactly_once', secondInput: 'transactional' },
    { name: 'topology exactly_once, 2nd input plain', engine: 'exactly_once', secondInput: 'plain' },
  ],
};
const sides = suites[args.suite]!;
const transactionalSide = (side: Side) => side.engine === 'exactly_once' || side.raw === 'transactional';
const stagesOf = (side: Side) =>
  transactionalSide(side) ? ['delivered', 'send', 'sendOffsets', 'commit'] : ['delivered', 'send'];

interface Run {
  id: string;
  kafka: Kafka;
  admin: Admin;
  stateRoot: string;
}

async function startEngineHop(run: Run, side: Side, tag: string, inputs: string[], output: string) {
  const marks = new Marks();
  const engine = engineFor(`bench-hop-${run.id}-${tag}`, inputs, output, side.engine!);
  const clientId = `bench-hop-${run.id}-${tag}`;
  const inner = await createKafkaBackend({ brokers: brokerList(), clientId, logLevel: 'nothing' });
  await inner.createTopics(internalTopics(engine.topology));
  const schemaRegistry = new MemoryRegistryClient();
  const stateDir = mkdtempSync(join(run.stateRoot, `${tag}-`));
  const app = createApp({ engine, backend: traced(inner, marks, inputs[0]), schemaRegistry, stateDir });
  const writers: { stop(): Promise<void> }[] = [];
  for (let w = 0; side.secondInput && w < sideWriters; w++) {
    const transactional = side.secondInput === 'transactional';
    const startDelayMs = Math.round((w * (sideIntervalMs + sideOpenMs)) / sideWriters); // staggered
    const options = { transactional, intervalMs: sideIntervalMs, openMs: sideOpenMs, name: `w${w}`, startDelayMs };
    writers.push(await startSideWriter(run.kafka, inputs[1]!, options));
  }
  await app.start();
  const stop = async () => {
    await Promise.all(writers.map((writer) => writer.stop()));
    await app.stop();
    await inner.close();
  };
  return { marks, whenFailed: app.whenFailed(), stop };
}

async function startHop(run: Run, side: Side): Promise<Hop> {
  const tag = side.name.replace(/[^a-z0-9]+/g, '-');
  const [input, second, output] = ['a', 'a2', 'b'].map((t) => `bench-hop-${run.id}-${tag}-${t}`) as [
    string,
    string,
    string,
  ];
  const inputs = side.secondInput ? [input, second] : [input];
  await createTopics(run.admin, [...inputs, output], partitions);
  const receiver = await startReceiver(run.kafka, output, `bench-hop-${run.id}-${tag}-reader`);
  const common = { name: side.name, input, stages: stagesOf(side), receiver };
  if (side.engine) return { ...common, ...(await startEngineHop(run, side, tag, inputs, output)) };
  const marks = new Marks();
  const onStep = (step: string) => marks.mark(step);
  const loop = await startRawLoop(run.kafka, {
    groupId: `bench-hop-${run.id}-${tag}`,
    input,
    output,
    mode: side.raw!,
    onStep,
  });
  return { ...common, marks, whenFailed: loop.whenFailed, stop: () => loop.stop() };
}

/** Per side, per block, per sample: [total, ...split] (ms). */
type Results = Map<string, number[][][]>;

function latencyTable(results: Results): string {
  const rows = sides.map((side) => {
    const all = results
      .get(side.name)!
      .flat()
      .map((s) => s[0]!);
    const p = (q: number) => fixed(percentile(all, q), 1);
    const mean = all.reduce((a, b) => a + b, 0) / all.length;
    const slow = all.filter((ms) => ms > 50).length;
    return [side.name, `**${p(50)}**`, p(90), `**${p(99)}**`, fixed(mean, 1), p(100), String(all.length), String(slow)];
  });
  const headers = ['side', '>p50 ms', '>p90 ms', '>p99 ms', '>mean ms', '>max ms', '>samples', '>over 50 ms'];
  return table(headers, rows);
}

function ratioTable(results: Results): string {
  const totals = (name: string) => results.get(name)!.map((blk) => blk.map((s) => s[0]!));
  const row = (a: string, b: string, goal: string) => {
    const [x, y] = [totals(a), totals(b)];
    const at = (q: number) => percentile(x.flat(), q) / percentile(y.flat(), q);
    const perBlock = x.map((blk, i) => percentile(blk, 50) / percentile(y[i]!, 50));
    const spread = `${fixed(Math.min(...perBlock))}–${fixed(Math.max(...perBlock))}`;
    return [`${a} / ${b}`, `**${fixed(at(50))}**`, spread, fixed(at(99)), goal];
  };
  const rows =
    args.suite === 'hop'
      ? [
          row('topology exactly_once', 'raw transactional', '≤ 2 (p50)'),
          row('topology exactly_once', 'raw plain', '≤ 2 (p50)'),
          row('topology at_least_once', 'raw plain', ''),
        ]
      : sides.slice(1).map((side) => row(side.name, eos.name, ''));
  return table(['latency ratio', '>p50', '>p50 per block (min–max)', '>p99', 'goal'], rows);
}

function breakdownTable(results: Results): string {
  const names = ['to hop', 'process + send', 'sendOffsets', 'commit', 'to reader'];
  const row = (side: Side, label: string, samples: number[][]) => {
    // Indexes into a sample ([total, ...split]); plain sides have no offsets or commit step.
    const columns = transactionalSide(side) ? [1, 2, 3, 4, 5] : [1, 2, -1, -1, 3];
    const cells = columns.map((i) => {
      if (i < 0) return '–';
      const values = samples.map((s) => s[i]!).filter((v) => Number.isFinite(v));
      return `${fixed(median(values), 1)} / ${fixed(percentile(values, 99), 1)}`;
    });
    return [label, ...cells];
  };
  const rows = sides.flatMap((side) => {
    const all = results.get(side.name)!.flat();
    // The slow samples on their own: which step held them.
    const slow = all.filter((s) => s[0]! > 50);
    const extra = slow.length > 0 ? [row(side, `${side.name}: the ${slow.length} over 50 ms`, slow)] : [];
    return [row(side, side.name, all), ...extra];
  });
  return table(['median / p99 ms', ...names.map((n) => `>${n}`)], rows);
}

async function measureAll(producer: Producer, hops: Hop[]): Promise<Results> {
  const results: Results = new Map(sides.map((s) => [s.name, []]));
  let seq = 0;
  for (const hop of hops) {
    progress(`warm-up: ${hop.name}, ${warmup} samples`);
    for (let i = 0; i < warmup && !interrupted(); i++) await sample(producer, hop, seq++, 60_000);
  }
  const blocks = Math.ceil(samples / block);
  for (let b = 0; b < blocks; b++) {
    if (interrupted()) break;
    if (performance.now() > deadlineAt) {
      progress(`--max-minutes reached: stopping after ${b} blocks per side`);
      break;
    }
    for (const hop of rotate(hops, b)) {
      const taken: number[][] = [];
      for (let i = 0; i < block; i++) taken.push(await sample(producer, hop, seq++, 10_000));
      results.get(hop.name)!.push(taken);
    }
    const p50 = (name: string) =>
      fixed(
        median(
          results
            .get(name)!
            .at(-1)!
            .map((s) => s[0]!),
        ),
        1,
      );
    progress(`block ${b + 1}/${blocks}: p50 ms ${sides.map((s) => `${s.name} ${p50(s.name)}`).join(', ')}`);
  }
  return results;
}

async function main(): Promise<void> {
  const cpu = cpus();
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  console.log(`# hop latency (suite ${args.suite}), ${new Date().toISOString()}`);
  console.log(`# ${cpu.length} x ${cpu[0]?.model ?? 'unknown cpu'}, Node ${process.version}, load ${load()}`);
  console.log(
    `# brokers ${brokerList().join(',')}; ${samples} samples per side after ${warmup} warm-up, blocks of ${block}, ${partitions} partition(s)`,
  );
  const id = runId();
  const { admin } = await connectAdmin(`bench-hop-${id}`);
  const run: Run = {
    id,
    admin,
    kafka: kafkaClient(`bench-hop-${id}`),
    stateRoot: mkdtempSync(join(tmpdir(), 'parley-bench-hop-')),
  };
  const hops: Hop[] = [];
  let producer: Producer | undefined;
  try {
    for (const side of sides) {
      progress(`starting ${side.name}`);
      hops.push(await startHop(run, side));
    }
    producer = await plainProducer(run.kafka);
    const results = await measureAll(producer, hops);
    if (interrupted()) return;
    console.log(`\n${latencyTable(results)}\n\n${ratioTable(results)}\n\n${breakdownTable(results)}`);
    const commits = await offsetCommitTimes(run.kafka, hops[0]!.input, `bench-hop-${id}-offset-commits`);
    const ms = (q: number) => fixed(percentile(commits, q), 1);
    console.log(
      `\n# a plain OffsetCommit on this broker: p50 ${ms(50)} ms, min ${ms(0)}, p90 ${ms(90)} (${commits.length} in a row)`,
    );
    console.log(`\n# load after the run: ${load()}`);
  } finally {
    await producer?.disconnect();
    for (const hop of hops) await Promise.allSettled([hop.stop(), hop.receiver.stop()]);
    const deleted = await deleteRunTopics(admin, id).catch(() => 0);
    progress(`cleanup: deleted ${deleted} topics of run ${id}`);
    await admin.disconnect();
    rmSync(run.stateRoot, { recursive: true, force: true });
  }
}

await main().catch((error: unknown) => {
  process.stderr.write(`hop-latency: ${(error as Error).message ?? error}\n`);
  process.exitCode = 1;
});
