/**
 * `npm start`: the fraud-detection engine embedded in one process on the memory backend — 3 replicas (the consensus
 * topology's replica tasks), the resolution task, 2 agents — driven by a workload generator, with live progress
 * (decisions/s, fast-path ratio, commit latency p50/p99) and, at the end, a check that both agents applied every
 * decision of every key in the same order as the execution order, exactly once.
 *   npm start -- [--proposals 5000] [--clients 3] [--conflict 0.02] [--replicas 3] [--seed 1] [--timeout-s 300]
 * (args.ts: `--help`, and one line naming the flag for a bad value)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGuardrailLink } from '../../cli/guardrail-link.ts';
import { InProcessGuardrail } from '../../guardrail/index.ts';
import { createMetrics } from '../../monitoring/index.ts';
import { consensusTopologyFile, replicaId } from '../../processors/index.ts';
import { setConsensusObserver } from '../../processors/observer.ts';
import { MemoryRegistryClient } from '../../schemas/index.ts';
import { MemoryBackend } from '../../topology/backend/memory/backend.ts';
import { createApp, loadEngine, serdeFactory } from '../../topology/engine.ts';
import { topicSerdes } from '../../topology/runtime/serdes.ts';
import { parseStartArgs, StartArgsError, usage, type StartArgs } from './args.ts';
import { checkAgreement, Progress } from './report.ts';
import { proposals } from './workload.ts';

let args: StartArgs;
try {
  const parsed = parseStartArgs(process.argv.slice(2));
  if (parsed === 'help') {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  args = parsed;
} catch (error) {
  if (!(error instanceof StartArgsError)) throw error;
  process.stderr.write(`npm start: ${error.message} (npm start -- --help lists the options)\n`);
  process.exit(2);
}
const total = args.proposals;
const replicas = args.replicas;
const agents = ['risk-agent-1', 'risk-agent-2'];

const stateDir = mkdtempSync(join(tmpdir(), 'parley-start-'));
const progress = new Progress(total, agents);
// The guardrail, in process: the replicas take their epoch and mode from it, each holds a lease, and the mode
// controller samples the fast-path outcomes (DESIGN.md §4).
const guardrail = new InProcessGuardrail({ cluster: 'fraud-detection' });
const guarded = await startGuardrailLink({
  guardrail,
  replicas,
  metrics: createMetrics(),
  actor: 'npm start',
  log: (line) => process.stderr.write(`${line}\n`),
});
setConsensusObserver({
  ...progress.observer,
  committed: (replica, fast, commands, latencies, eligible) => {
    progress.observer.committed?.(replica, fast, commands, latencies, eligible);
    guarded.committed(fast, eligible ?? fast);
  },
});
const backend = new MemoryBackend({ mode: 'auto' });
const registry = new MemoryRegistryClient();
const env = { PARLEY_REPLICAS: String(replicas) };
const consensus = await loadEngine(consensusTopologyFile, env);
const apps = [createApp({ engine: consensus, backend, schemaRegistry: registry, stateDir, tickMs: 5 })];
for (const agent of agents) {
  const engine = await loadEngine(join(import.meta.dirname, 'agents.yaml'), { PARLEY_AGENT_ID: agent });
  apps.push(createApp({ engine, backend, schemaRegistry: registry, stateDir, tickMs: 5 }));
}
for (const app of apps) await app.start();
process.stderr.write(
  `parley: fraud detection, embedded: ${replicas} replicas (${Array.from({ length: replicas }, (_, i) => replicaId(i)).join(', ')}), ` +
    `${agents.length} agents, ${total} proposals from ${args.clients} clients at ${args.conflict * 100}% conflict\n`,
);

// Produce the workload: proposals round-robin over the replicas' partitions, in small batches like clients would.
const serdes = topicSerdes(consensus.topology, serdeFactory(consensus.schemasDir, registry));
const producer = await backend.producer();
const workload = [
  ...proposals({
    proposals: total,
    clients: args.clients,
    conflict: args.conflict,
    seed: args.seed,
  }),
];
const ticker = setInterval(() => progress.print(), 1_000);
for (let i = 0; i < workload.length; i += 50) {
  const chunk = workload.slice(i, i + 50);
  await producer.send(
    await Promise.all(
      chunk.map(async (p, j) => ({
        topic: 'proposals',
        partition: (i + j) % replicas,
        key: await serdes.topic('proposals').key.serialize('proposals', p.id),
        value: await serdes.topic('proposals').value.serialize('proposals', { ...p, timestamp: Date.now() }),
      })),
    ),
  );
  progress.sent += chunk.length;
  await new Promise((resolve) => setImmediate(resolve)); // let the replicas work while clients send
}

const deadline = Date.now() + args.timeoutS * 1000;
const failed = apps.find((a) => a.error);
while (!progress.finished() && Date.now() < deadline && !apps.some((a) => a.error)) {
  await new Promise((resolve) => setTimeout(resolve, 50));
}
clearInterval(ticker);
progress.print(true);
const error = failed?.error ?? apps.find((a) => a.error)?.error;
await guarded.pause();
for (const app of apps) await app.stop();
const { mode, epoch } = guarded.link.config();
await guarded.stop();
await backend.close();
rmSync(stateDir, { recursive: true, force: true });
const verdict = error ? [`an application failed: ${error.message}`] : checkAgreement(progress, workload);
if (verdict.length > 0) {
  for (const line of verdict) console.error(`✖ ${line}`);
  process.exit(1);
}
console.log(progress.summary());
console.log(`guardrail (in process): mode ${mode}, epoch ${epoch}`);
