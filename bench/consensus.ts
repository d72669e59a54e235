/**
 * Parley's decisions on the real stack against the two ways one would order decisions without it, side by side
 * in one run (issue #9, step 1). Not a test: it asserts nothing and prints tables for BENCHMARKS.md.
 *
 *   npm run -s bench -- consensus [--concurrency 1,32,512] [--replicas 3] [--keys 10000]
 *        [--conflict uniform|hot|2%|zipf] [--multi-key 0.3] [--zipf 1.1] [--seconds 10] [--warmup 3]
 *        [--rounds 2] [--prime 10] [--sides parley,etcd,kafka] [--payload-bytes 100] [--parley-clients 1]
 *        [--json out.json]
 *
 * The sides, each one client object in this process shared by C closed-loop clients:
 * - parley: N replica processes (`parley run` of processors/consensus.yaml, exactly_once, guardrail in etcd)
 *   and a ParleyClient (or `--parley-clients` of them, the C clients spread over them); a decision is
 *   `propose(keys, payload)`, done once it is ordered (bench/lib/parley-cluster.ts).
 * - etcd: per decision a linearizable read of its keys, then one transaction comparing their mod revisions and
 *   putting the value under each; a failed compare reads again and retries (bench/lib/etcd-cas.ts).
 * - kafka: one single-partition topic as the total order: an idempotent producer (acks=all) that gathers the
 *   records sent while a request is out into the next one, and one reader; a decision is done once the reader
 *   read it back (bench/lib/kafka-order.ts).
 *
 * Every decision carries a `--payload-bytes` value and touches one key, or two for a `--multi-key` share (zipf:
 * 30 % by default), drawn from `--keys` keys: uniformly, from a Zipf law (s = `--zipf`), or with a share of
 * decisions on one hot key (`hot` = all of them, `2%`). Each client of each side draws the same key sequence.
 *
 * Method: each side first runs `--prime` seconds at the highest C, unmeasured (the broker's JIT, caches, a
 * fresh cluster's first transactions). A measurement is a `--warmup` warm-up, then a `--seconds` window:
 * decisions completed inside it are counted, each with its latency from the first attempt to completion
 * (retries included). The replica processes run only during Parley's measurements: each round starts a fresh
 * cluster (new topics), primes it and runs its windows for every C, then stops it; the baselines run without it
 * (idle, it still costs CPU: see the idle table), the two blocks alternating which goes first per round.
 *
 * Over each window: the machine's busy CPU time (/proc/stat), and the CPU time of this process, the replica
 * processes (with their descendants), the broker, the etcd members and the registry (/proc/<pid>/stat); a
 * side's CPU per decision is the machine's busy time divided by its decisions. Kafka bytes per decision are
 * the bytes appended to the log segments of the side's own topics and of the broker's transaction and offset
 * topics, from the sizes of the `*.log` files under the broker's log.dirs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { endpointsFromEnv } from '../integration/harness/resolve.ts';
import { endpointsOf, loadStackConfig } from '../integration/stack/config.ts';
import { closedLoopWindow, keyChooser, parseKeyMix, type Decide, type WindowResult } from './lib/closed-loop.ts';
import { etcdCas } from './lib/etcd-cas.ts';
import { connectAdmin, createTopics, deleteRunTopics, runId } from './lib/kafka.ts';
import { startKafkaOrder, type KafkaOrder } from './lib/kafka-order.ts';
import { startParleyCluster, type ParleyCluster } from './lib/parley-cluster.ts';
import { bytesAppended, findStackProcesses, kernelThreadTicks, logSegmentSizes, machineBusyTicks } from './lib/proc.ts';
import { processTable, ticksToMs, treeTicks } from './lib/proc.ts';
import { fixed, int, interrupted, median, progress, rotate, table } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '1,32,512' },
    replicas: { type: 'string', default: '3' },
    keys: { type: 'string', default: '10000' },
    conflict: { type: 'string', default: 'uniform' },
    'multi-key': { type: 'string' },
    zipf: { type: 'string', default: '1.1' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '2' },
    sides: { type: 'string', default: 'parley,etcd,kafka' },
    'payload-bytes': { type: 'string', default: '100' },
    'start-timeout': { type: 'string', default: '240' },
    /** Before the first round (per N): each side runs this long at the highest C, unmeasured (JIT, caches). */
    prime: { type: 'string', default: '10' },
    /** ParleyClient objects the C clients share (bench/lib/parley-cluster.ts). */
    'parley-clients': { type: 'string', default: '1' },
    json: { type: 'string' },
  },
});

const list = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const concurrencies = list(args.concurrency).map(Number);
const replicaCounts = list(args.replicas).map(Number);
const keyCount = Number(args.keys);
const mix = parseKeyMix(
  args.conflict,
  keyCount,
  args['multi-key'] === undefined ? undefined : Number(args['multi-key']),
  Number(args.zipf),
);
const windowMs = Number(args.seconds) * 1000;
const warmupMs = Number(args.warmup) * 1000;
const rounds = Number(args.rounds);
type Side = 'parley' | 'etcd' | 'kafka';
const allSides: Side[] = ['parley', 'etcd', 'kafka'];
const sides = list(args.sides) as Side[];
const payloadBytes = Number(args['payload-bytes']);
const startTimeoutMs = Number(args['start-timeout']) * 1000;
const primeMs = Number(args.prime) * 1000;
const parleyClients = Number(args['parley-clients']);

// Bounds: a run is minutes, not an accident that fills the shared broker or etcd.
if (!concurrencies.every((c) => Number.isInteger(c) && c >= 1 && c <= 4096)) {
  throw new Error('--concurrency: comma-separated integers within 1..4096');
}
if (!replicaCounts.every((n) => n === 3 || n === 5)) throw new Error('--replicas: 3, 5 or 3,5');
if (!(Number.isInteger(keyCount) && keyCount >= 1 && keyCount <= 1_000_000)) throw new Error('--keys: 1..1000000');
if (!(windowMs >= 1000 && windowMs <= 600_000)) throw new Error('--seconds: 1..600');
if (!(warmupMs >= 0 && warmupMs <= 600_000)) throw new Error('--warmup: 0..600');
if (!(primeMs >= 0 && primeMs <= 600_000)) throw new Error('--prime: 0..600');
if (!(Number.isInteger(parleyClients) && parleyClients >= 1 && parleyClients <= 64)) {
  throw new Error('--parley-clients: 1..64');
}
if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 20)) throw new Error('--rounds: 1..20');
if (sides.length === 0 || !sides.every((s) => allSides.includes(s))) throw new Error('--sides: of parley,etcd,kafka');
if (!(payloadBytes >= 1 && payloadBytes <= 100_000)) throw new Error('--payload-bytes: 1..100000');
if (!(mix.multiKey >= 0 && mix.multiKey <= 1)) throw new Error('--multi-key: a share within 0..1');

const payload = 'x'.repeat(payloadBytes);

// ---- what one window measures ----------------------------------------------------------------------------------

interface CpuMs {
  machine: number;
  bench: number;
  parley: number;
  kafka: number;
  etcd: number;
  registry: number;
  /** The kernel's threads (I/O completion, the journal: etcd's fsyncs, say). */
  kernel: number;
  /** machine − all of the above: other work on the shared machine, and interrupts not charged to a process. */
  other: number;
  /** Everything but `other`: what the sides and the stack they run on cost. */
  attributed: number;
}

interface Sample {
  side: Side;
  replicas: number;
  concurrency: number;
  round: number;
  decisions: number;
  seconds: number;
  rate: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  retriesPerDecision: number;
  errors: number;
  /** Replica processes that exited on an error and were started again during the measurement. */
  restarts?: string[];
  firstError?: string;
  warmupDecisions: number;
  /** CPU ms over the window, per process group. */
  cpuMs: CpuMs;
  /** CPU ms per decision of the side and the stack (cpuMs.attributed / decisions). */
  cpuMsPerDecision: number;
  /** Bytes appended to the broker's log segments over the window; undefined if they cannot be read. */
  kafkaBytes?: { own: number; internal: number; all: number };
  /** Kafka side: produce requests and records in them over the window. */
  produce?: { requests: number; records: number };
}

const groupNames = ['parley', 'etcd', 'kafka', 'registry'] as const;
type Group = (typeof groupNames)[number];

interface Counters {
  at: number;
  machine: number;
  kernel: number;
  bench: number;
  /** CPU ticks per watched process, by group. */
  pids: Record<Group, Map<number, number>>;
  segments?: Map<string, number>;
}

interface Run {
  id: string;
  stack: ReturnType<typeof findStackProcesses>;
  parley?: ParleyCluster;
  parleySuffix?: string;
  kafkaTopic: string;
  kafkaOrder?: KafkaOrder;
  etcd: ReturnType<typeof etcdCas>;
}

function read(run: Run): Counters {
  const processes = processTable();
  // A replica's CPU includes what it started (tsx's esbuild service).
  const watched: Record<Group, number[]> = {
    parley: run.parley?.pids() ?? [],
    etcd: run.stack.etcd,
    kafka: run.stack.kafka ? [run.stack.kafka] : [],
    registry: run.stack.registry ? [run.stack.registry] : [],
  };
  const pids = {} as Record<Group, Map<number, number>>;
  for (const group of groupNames) {
    pids[group] = new Map();
    for (const pid of watched[group]) pids[group].set(pid, treeTicks(processes, pid) ?? Number.NaN);
  }
  const usage = process.cpuUsage();
  return {
    at: performance.now(),
    machine: machineBusyTicks(),
    kernel: kernelThreadTicks(processes),
    bench: (usage.user + usage.system) / 1000,
    pids,
    ...(run.stack.kafkaLogDirs ? { segments: logSegmentSizes(run.stack.kafkaLogDirs) } : {}),
  };
}

function cpuOver(a: Counters, b: Counters): CpuMs {
  // A process started during the window (a restarted replica) counts whole; one that ended in it is lost (its
  // time shows under `other`).
  const of = (group: Group) =>
    [...b.pids[group]].reduce((sum, [pid, ticks]) => sum + ticksToMs(ticks - (a.pids[group].get(pid) ?? 0)), 0);
  const cpu = {
    machine: ticksToMs(b.machine - a.machine),
    bench: b.bench - a.bench,
    parley: of('parley'),
    kafka: of('kafka'),
    etcd: of('etcd'),
    registry: of('registry'),
    kernel: ticksToMs(b.kernel - a.kernel),
  };
  const attributed = cpu.bench + cpu.parley + cpu.kafka + cpu.etcd + cpu.registry + cpu.kernel;
  return { ...cpu, attributed, other: cpu.machine - attributed };
}

const isInternal = (dir: string) => dir.startsWith('__consumer_offsets-') || dir.startsWith('__transaction_state-');

async function measure(
  run: Run,
  side: Side,
  replicas: number,
  concurrency: number,
  round: number,
  prime = false,
): Promise<Sample> {
  let decide: Decide;
  const restartsBefore = run.parley?.restarts().length ?? 0;
  if (side === 'parley') {
    const cluster = run.parley!;
    const failed = cluster.whenFailed.then((message) => Promise.reject(new Error(message)));
    failed.catch(() => undefined);
    decide = async (keys, c) => {
      const client = cluster.clients[c % cluster.clients.length]!;
      const decided = await Promise.race([client.propose(keys, payload), failed]);
      return decided.attempts - 1;
    };
  } else if (side === 'etcd') {
    decide = (keys) => run.etcd.decide(keys, payload);
  } else {
    decide = (keys) => run.kafkaOrder!.decide(keys, payload);
  }
  let before: Counters | undefined;
  let after: Counters | undefined;
  let produceBefore = run.kafkaOrder?.requests();
  const label = `N=${replicas} C=${concurrency} ${prime ? 'priming' : `round ${round + 1}`} ${side}`;
  const result: WindowResult = await closedLoopWindow({
    label,
    concurrency,
    warmupMs: prime ? primeMs : warmupMs,
    windowMs: prime ? 1000 : windowMs,
    chooser: (client) => keyChooser(mix, 1 + client + 100_003 * round),
    decide,
    onWindowStart: () => ((before = read(run)), (produceBefore = run.kafkaOrder?.requests())),
    onWindowEnd: () => void (after = read(run)),
    drainTimeoutMs: 120_000,
  });
  if (!before || !after) throw new Error(`${label}: interrupted`);
  const cpuMs = cpuOver(before, after);
  const own =
    side === 'parley'
      ? (dir: string) => dir.includes(run.parleySuffix!)
      : side === 'kafka'
        ? (dir: string) => dir.includes(run.kafkaTopic)
        : () => false;
  const kafkaBytes =
    before.segments && after.segments
      ? {
          own: bytesAppended(before.segments, after.segments, own),
          internal: bytesAppended(before.segments, after.segments, isInternal),
          all: bytesAppended(before.segments, after.segments, () => true),
        }
      : undefined;
  const produceAfter = run.kafkaOrder?.requests();
  const restarts = run.parley?.restarts().slice(restartsBefore) ?? [];
  // Sorted once: a window at C=512 holds hundreds of thousands (too many to spread into Math.max).
  const l = Float64Array.from(result.latencies).sort();
  const rank = (p: number) => (l.length ? l[Math.max(1, Math.ceil((p / 100) * l.length)) - 1]! : Number.NaN);
  return {
    side,
    replicas,
    concurrency,
    round,
    decisions: result.decisions,
    seconds: result.seconds,
    rate: result.decisions / result.seconds,
    p50: rank(50), // nearest rank, as percentile() in lib/stats.ts
    p90: rank(90),
    p99: rank(99),
    max: rank(100),
    retriesPerDecision: result.decisions ? result.retries / result.decisions : Number.NaN,
    errors: result.errors,
    ...(restarts.length > 0 ? { restarts } : {}),
    ...(result.firstError ? { firstError: result.firstError } : {}),
    warmupDecisions: result.warmupDecisions,
    cpuMs,
    cpuMsPerDecision: cpuMs.attributed / result.decisions,
    ...(kafkaBytes ? { kafkaBytes } : {}),
    ...(side === 'kafka' && produceBefore && produceAfter
      ? {
          produce: {
            requests: produceAfter.requests - produceBefore.requests,
            records: produceAfter.records - produceBefore.records,
          },
        }
      : {}),
  };
}

interface Idle {
  what: string;
  seconds: number;
  /** CPU cores busy on average over the idle window, per process group. */
  cores: CpuMs;
}

const idleSeconds = 5;

/** What the machine spends while no side has work: the stack alone, or the stack with the replicas up. */
async function idleCpu(run: Run, what: string): Promise<Idle> {
  progress(`idle ${idleSeconds} s: ${what}`);
  const before = read(run);
  await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
  const after = read(run);
  const seconds = (after.at - before.at) / 1000;
  const cpu = cpuOver(before, after);
  const cores = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v / 1000 / seconds])) as unknown as CpuMs;
  return { what, seconds, cores };
}

function idleTable(idle: Idle[]): string {
  const groups: (keyof CpuMs)[] = ['bench', 'parley', 'kafka', 'etcd', 'registry', 'kernel', 'other', 'machine'];
  return table(
    [
      'idle, CPU cores busy',
      '>this process',
      '>replicas',
      '>broker',
      '>etcd',
      '>registry',
      '>kernel',
      '>other',
      '>machine',
    ],
    idle.map((i) => [i.what, ...groups.map((g) => fixed(i.cores[g], 2))]),
  );
}

// ---- report ---------------------------------------------------------------------------------------------------

const med = (samples: Sample[], f: (s: Sample) => number) => median(samples.map(f));
const ms = (x: number) => (x >= 100 ? int(x) : fixed(x, x >= 10 ? 1 : 2));

function restartNote(samples: Sample[]): string {
  const n = samples.reduce((sum, x) => sum + (x.restarts?.length ?? 0), 0);
  return n === 0 ? '' : ` (${n} replica restart${n > 1 ? 's' : ''})`;
}

function sideTable(samples: Sample[]): string {
  const rows: string[][] = [];
  for (const c of concurrencies) {
    for (const side of sides) {
      const s = samples.filter((x) => x.concurrency === c && x.side === side);
      if (s.length === 0) continue;
      const bytes = s.every((x) => x.kafkaBytes)
        ? side === 'etcd'
          ? '–'
          : int(med(s, (x) => (x.kafkaBytes!.own + x.kafkaBytes!.internal) / x.decisions))
        : 'n/a';
      rows.push([
        String(c),
        side,
        `**${int(med(s, (x) => x.rate))}**`,
        `${int(Math.min(...s.map((x) => x.rate)))}–${int(Math.max(...s.map((x) => x.rate)))}`,
        ms(med(s, (x) => x.p50)),
        ms(med(s, (x) => x.p99)),
        fixed(
          med(s, (x) => x.cpuMsPerDecision),
          3,
        ),
        bytes,
        side === 'kafka'
          ? '–'
          : fixed(
              med(s, (x) => x.retriesPerDecision),
              2,
            ),
        String(s.reduce((n, x) => n + x.errors, 0)) + restartNote(s),
      ]);
    }
  }
  return table(
    [
      '>C',
      'side',
      '>decisions/s (median)',
      '>min–max',
      '>p50 ms',
      '>p99 ms',
      '>CPU ms/decision',
      '>Kafka B/decision',
      '>retries/decision',
      '>errors',
    ],
    rows,
  );
}

function ratioTable(samples: Sample[]): string {
  const pick = (side: Side, c: number, round: number) =>
    samples.find((x) => x.side === side && x.concurrency === c && x.round === round);
  const rows: string[][] = [];
  for (const c of concurrencies) {
    for (const other of ['etcd', 'kafka'] as Side[]) {
      if (!sides.includes('parley') || !sides.includes(other)) continue;
      const pairs = Array.from({ length: rounds }, (_, r) => [pick('parley', c, r), pick(other, c, r)] as const).filter(
        (p): p is readonly [Sample, Sample] => p[0] !== undefined && p[1] !== undefined,
      );
      if (pairs.length === 0) continue;
      // Two significant digits below 0.1: Parley/Kafka throughput is in the hundredths.
      const show = (x: number) => (Number.isFinite(x) && x < 0.1 ? x.toPrecision(2) : fixed(x, x >= 10 ? 1 : 2));
      const ratio = (f: (s: Sample) => number) => {
        const per = pairs.map(([p, o]) => f(p) / f(o));
        return `${show(median(per))}${per.length > 1 ? ` (${per.map(show).join(' ')})` : ''}`;
      };
      rows.push([
        String(c),
        `parley / ${other}`,
        `**${ratio((s) => s.rate)}**`,
        ratio((s) => s.p50),
        ratio((s) => s.p99),
        ratio((s) => s.cpuMsPerDecision),
      ]);
    }
  }
  return table(
    ['>C', 'ratio (per round, median)', '>decisions/s', '>p50 latency', '>p99 latency', '>CPU per decision'],
    rows,
  );
}

function cpuTable(samples: Sample[]): string {
  const rows: string[][] = [];
  const groups: (keyof CpuMs)[] = ['bench', 'parley', 'kafka', 'etcd', 'registry', 'kernel', 'other', 'machine'];
  for (const c of concurrencies) {
    for (const side of sides) {
      const s = samples.filter((x) => x.concurrency === c && x.side === side);
      if (s.length === 0) continue;
      rows.push([
        String(c),
        side,
        ...groups.map((g) =>
          fixed(
            med(s, (x) => x.cpuMs[g] / x.decisions),
            3,
          ),
        ),
        fixed(
          med(s, (x) => x.cpuMs.machine / x.seconds / 10),
          0,
        ),
      ]);
    }
  }
  return table(
    [
      '>C',
      'side',
      '>this process',
      '>replicas',
      '>broker',
      '>etcd',
      '>registry',
      '>kernel threads',
      '>other',
      '>machine',
      '>machine busy %',
    ],
    rows,
  );
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

async function main(): Promise<void> {
  const started = Date.now();
  const endpoints = endpointsFromEnv() ?? endpointsOf(loadStackConfig());
  const cpu = cpus();
  const header = [
    `# consensus: Parley vs an etcd read + CAS transaction vs one Kafka partition, ${new Date().toISOString()}`,
    `# ${cpu.length} x ${cpu[0]?.model ?? 'unknown cpu'}, Node ${process.version}, load ${load()}`,
    `# kafka ${endpoints.kafkaBrokers.join(',')}, etcd ${endpoints.etcdEndpoints.join(',')}, registry ${endpoints.schemaRegistryUrl}`,
    `# ${int(keyCount)} keys, ${mix.name}, ${fixed(mix.multiKey * 100, 0)}% two-key decisions, ${payloadBytes} B payload; ` +
      `C = ${concurrencies.join(', ')}; N = ${replicaCounts.join(', ')}; sides ${sides.join(', ')}; ` +
      `${primeMs / 1000} s priming per side, then ${warmupMs / 1000} s warm-up + ${windowMs / 1000} s window; ${rounds} round(s)`,
    `# command: npm run -s bench -- consensus ${process.argv.slice(2).join(' ')}`,
  ];
  console.log(header.join('\n'));
  const windows = replicaCounts.length * rounds * concurrencies.length * sides.length;
  progress(
    `${windows} windows of ${(warmupMs + windowMs) / 1000} s, about ${Math.ceil((windows * (warmupMs + windowMs + 3000)) / 60_000)} min plus start-up`,
  );

  const id = runId();
  const { kafka, admin } = await connectAdmin(`bench-consensus-${id}`);
  const stack = findStackProcesses(endpoints);
  const found = [
    `broker ${stack.kafka ?? 'not found'}`,
    `etcd ${stack.etcd.join(',') || 'not found'}`,
    `registry ${stack.registry ?? 'not found'}`,
  ];
  const bytesNote = stack.kafkaLogDirs
    ? `log dirs ${stack.kafkaLogDirs.join(',')}`
    : `Kafka bytes not measured: ${stack.logDirsProblem}`;
  console.log(`# stack processes: ${found.join('; ')}; ${bytesNote}`);
  const etcd = etcdCas(endpoints.etcdEndpoints, `/bench-consensus/${id}/`);
  const stateRoot = mkdtempSync(join(tmpdir(), 'parley-bench-consensus-'));
  const run: Run = { id, stack, kafkaTopic: `bench-consensus-${id}-order`, etcd };
  const samples: Sample[] = [];
  const guardrailPrefixes: string[] = [];
  const idle: Idle[] = [];
  try {
    await etcd.ping().catch((error: Error) => {
      throw new Error(`etcd at ${endpoints.etcdEndpoints.join(',')} does not answer: ${error.message}`);
    });
    if (sides.includes('kafka')) {
      await createTopics(admin, [run.kafkaTopic], 1);
      run.kafkaOrder = await startKafkaOrder(kafka, run.kafkaTopic, `bench-consensus-${id}-reader`);
    }
    const baselines = sides.filter((s) => s !== 'parley');
    let baselinesPrimed = false;
    const runBlock = async (replicas: number, round: number, block: Side[]): Promise<void> => {
      for (const [ci, concurrency] of concurrencies.entries()) {
        for (const side of rotate(block, round + ci)) {
          if (interrupted()) return;
          progress(`N=${replicas} round ${round + 1}/${rounds}, C=${concurrency}: ${side}`);
          const sample = await measure(run, side, replicas, concurrency, round);
          samples.push(sample);
          progress(
            `  ${side}: ${int(sample.rate)} decisions/s, p50 ${ms(sample.p50)} ms, p99 ${ms(sample.p99)} ms, ` +
              `${fixed(sample.cpuMsPerDecision, 3)} CPU ms/decision, ${sample.errors} errors` +
              (sample.firstError ? ` (first: ${sample.firstError})` : '') +
              (sample.restarts ? `; replicas started again: ${sample.restarts.join('; ')}` : ''),
          );
          if (side === 'parley' && sample.errors > 0) {
            const failed = await Promise.race([run.parley!.whenFailed, Promise.resolve(undefined)]);
            if (failed) throw new Error(`${failed}; the processes' output: ${run.parley!.dumpLogs()}`);
          }
          if (sample.restarts) progress(`  the processes' output so far: ${run.parley!.dumpLogs()}`);
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    };
    const prime = async (replicas: number, side: Side): Promise<void> => {
      if (primeMs === 0 || interrupted()) return;
      const top = Math.max(...concurrencies);
      progress(`N=${replicas} priming, C=${top}: ${side} for ${primeMs / 1000} s (not measured)`);
      const primed = await measure(run, side, replicas, top, 0, true);
      const restarted = primed.restarts ? `; replicas started again: ${primed.restarts.join('; ')}` : '';
      progress(`  ${side}: ${int(primed.rate)} decisions/s, ${primed.errors} errors${restarted}`);
    };
    // The Parley block runs with its replica processes up; the baselines' block without them (they would not
    // exist beside etcd or a plain topic, and idle they still take CPU: see the idle table). The two blocks
    // alternate which goes first per round; within a block the order of C is fixed and the sides rotate.
    const parleyBlock = async (replicas: number, round: number): Promise<void> => {
      run.parleySuffix = `bench-${id}-n${replicas}-r${round + 1}`;
      progress(`parley N=${replicas}: starting ${replicas} replica processes`);
      const t0 = performance.now();
      run.parley = await startParleyCluster({
        replicas,
        endpoints,
        suffix: run.parleySuffix,
        stateRoot: join(stateRoot, run.parleySuffix),
        startTimeoutMs,
        clients: parleyClients,
      });
      guardrailPrefixes.push(`/parley/${run.parley.application}/`);
      progress(`parley N=${replicas}: ready after ${fixed((performance.now() - t0) / 1000, 1)} s`);
      try {
        await prime(replicas, 'parley');
        if (!interrupted()) idle.push(await idleCpu(run, `N=${replicas} round ${round + 1}: stack + idle replicas`));
        await runBlock(replicas, round, ['parley']);
      } finally {
        progress(`parley N=${replicas}: stopping the replica processes`);
        await run.parley.stop();
        run.parley = undefined;
      }
    };
    const baselineBlock = async (replicas: number, round: number): Promise<void> => {
      if (baselines.length === 0) return;
      if (!baselinesPrimed) {
        baselinesPrimed = true;
        idle.push(await idleCpu(run, 'the stack alone'));
        for (const side of baselines) await prime(replicas, side);
      }
      await runBlock(replicas, round, baselines);
    };
    for (const replicas of replicaCounts) {
      for (let round = 0; round < rounds && !interrupted(); round++) {
        const blocks = [
          ...(sides.includes('parley') ? [() => parleyBlock(replicas, round)] : []),
          () => baselineBlock(replicas, round),
        ];
        for (const block of round % 2 === 0 ? blocks : blocks.reverse()) await block();
      }
      if (interrupted()) break;
      const mine = samples.filter((s) => s.replicas === replicas);
      console.log(`\n## N=${replicas}\n\n${sideTable(mine)}\n\n${ratioTable(mine)}\n\n${cpuTable(mine)}`);
    }
    if (idle.length > 0) console.log(`\n${idleTable(idle)}`);
    console.log(`\n# load after the run: ${load()}; ${fixed((Date.now() - started) / 60_000, 1)} min`);
    if (args.json) {
      const report = {
        command: `npm run -s bench -- consensus ${process.argv.slice(2).join(' ')}`,
        date: new Date(started).toISOString(),
        machine: { cpus: cpu.length, model: cpu[0]?.model, node: process.version, loadAfter: loadavg() },
        endpoints,
        stackProcesses: stack,
        config: { concurrencies, replicaCounts, keys: keyCount, mix, windowMs, warmupMs, rounds, sides, payloadBytes },
        samples,
        idle,
      };
      writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
      progress(`wrote ${args.json}`);
    }
  } finally {
    await run.parley?.stop().catch(() => undefined);
    await run.kafkaOrder?.stop().catch(() => undefined);
    await etcd.cleanup().catch(() => undefined);
    for (const prefix of guardrailPrefixes) await etcd.deletePrefix(prefix).catch(() => undefined);
    etcd.close();
    const deleted = await deleteRunTopics(admin, id).catch(() => 0);
    progress(`cleanup: deleted ${deleted} topics of run ${id}, its etcd keys and state directories`);
    await admin.disconnect();
    rmSync(stateRoot, { recursive: true, force: true });
  }
}

await main().catch((error: unknown) => {
  process.stderr.write(`consensus: ${(error as Error).message ?? error}\n`);
  process.exitCode = 1;
});
// Everything was stopped and cleaned up above. A run that failed half-way can leave a client library retrying
// in the background (kafkajs against deleted topics, say): do not let that keep the process, and the CPU, busy.
setTimeout(() => {
  progress('exiting: something still held the event loop 5 s after the cleanup');
  process.exit();
}, 5000).unref();
