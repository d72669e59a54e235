/**
 * Chaos (issue #7): network delay with jitter between one replica process and the stack while the consensus
 * workload runs. replica-1 runs in a network namespace of its own (integration/harness/netns.ts); all its traffic
 * to Kafka, the registry and etcd crosses a veth pair to the root namespace, and so does the test's scrape of its
 * /metrics. The workload must end with 0 lost and 0 duplicated decisions and both agents in agreement
 * (runConsensusScenario checks that), and no process may fail because of the latency.
 *
 * - `tc netem` (network-netem.test.ts): delay and jitter on both ends of the veth pair. Where the host kernel has no
 *   sch_netem (netemUnavailable() tries it in a throwaway namespace first), the same netem runs in a User-mode Linux
 *   guest that routes between the namespace and the root one (harness/netem-router.ts); where neither can, the
 *   test is skipped with both reasons.
 * - userspace (network-userspace.test.ts, by default where netem cannot run): the same namespace and path, the delay and jitter
 *   applied by the namespace's TCP forwarder; it needs no kernel support.
 *
 * Needs root and iproute2 (`ip netns`, `tc`). Before the workload, the delay is checked: a request across the
 * path must take at least the round trip the fault promises. PARLEY_CHAOS_DELAY_MS / PARLEY_CHAOS_JITTER_MS
 * (default 25 / 10, each way) change it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { TestContext } from 'node:test';
import { runConsensusScenario } from '../harness/consensus-run.ts';
import { testStack } from '../harness/index.ts';
import { applyNetem, isolateProcess, serviceAddresses, type IsolatedPlacement } from '../harness/netns.ts';
import type { Latency } from '../harness/tcp-proxy.ts';
import { Timeline } from './timeline.ts';

// Fewer than the other chaos tests' 1500: the delayed replica's transactions each pay several round trips, so its
// share of the workload sets the pace, and the file must fit the runner's 300 s beside another file in CI (600: a
// 63 s workload alone, once a stopping task no longer worked through its whole buffer first).
const total = Number(process.env['PARLEY_CHAOS_DELAY_PROPOSALS'] ?? process.env['PARLEY_CHAOS_PROPOSALS'] ?? 600);
const latency: Latency = {
  delayMs: Number(process.env['PARLEY_CHAOS_DELAY_MS'] ?? 25),
  jitterMs: Number(process.env['PARLEY_CHAOS_JITTER_MS'] ?? 10),
};
const delayed = 'replica-1';

/** Milliseconds of each of `n` HTTP requests from inside the namespace to `url`. */
function timeFromInside(placement: IsolatedPlacement, url: string, n: number): Promise<number[]> {
  const script = `
    const times = [];
    for (let i = 0; i < ${n}; i++) {
      const t = performance.now();
      const r = await fetch(${JSON.stringify(url)});
      await r.text();
      times.push(Math.round(performance.now() - t));
    }
    console.log(JSON.stringify(times));`;
  return new Promise((resolve, reject) => {
    const [command, ...args] = [...placement.prefix, process.execPath, '--input-type=module', '-e', script];
    const child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as number[]) : reject(new Error(`probe exited ${code}: ${out}`)),
    );
  });
}

/**
 * `netem`: the host kernel's, on both ends of a veth pair; `netem-guest`: a User-mode Linux guest's, on both of
 * its interfaces, routing between the namespaces (harness/netem-router.ts); `userspace`: the forwarder's.
 */
export type DelayMode = 'netem' | 'netem-guest' | 'userspace';

export async function delayedReplica(t: TestContext, mode: DelayMode): Promise<void> {
  const stack = await testStack();
  const placement = await isolateProcess({
    services: serviceAddresses(stack),
    ...(mode === 'userspace' ? { latency } : {}),
    ...(mode === 'netem-guest' ? { netemRouter: latency } : {}),
  });
  try {
    if (mode === 'netem') applyNetem(placement.link, latency);
    // The path is in place and slow: each request pays at least one round trip of 2 × (delay − jitter).
    const floor = 2 * (latency.delayMs - latency.jitterMs);
    const probe = await timeFromInside(placement, `${stack.schemaRegistryUrl}/subjects`, 5);
    t.diagnostic(
      `${mode}: ${latency.delayMs} ± ${latency.jitterMs} ms each way; requests from the namespace: ${probe.join(', ')} ms`,
    );
    assert.ok(Math.min(...probe) >= floor, `every request across the path takes >= ${floor} ms: ${probe.join(', ')}`);

    const timeline = new Timeline([/ failed: |dead-lettered|running on kafka/]);
    const started = Date.now();
    try {
      await runConsensusScenario({
        replicas: 3,
        conflict: 0.02,
        total,
        attemptTimeoutMs: 15_000,
        // Fail within the file's 5-minute budget, with the diagnostics, rather than be cancelled without them.
        settleTimeoutMs: 90_000,
        // A proposal that times out while its replica's requests crawl is proposed again under its id, as an
        // application keeping the client's contract would (the broker tests do the same).
        repropose: { attempts: 10, backoffMs: 2_000 },
        onOutput: timeline.onOutput,
        placement: (instance) => (instance === delayed ? { prefix: placement.prefix, env: placement.env } : undefined),
      });
    } finally {
      t.diagnostic(`workload ran ${Date.now() - started} ms`);
      const path = mode === 'netem-guest' ? 'the guest router' : 'the veth pair';
      t.diagnostic(`connections from ${delayed} across ${path}: ${JSON.stringify(placement.connections())}`);
      for (const line of timeline.matching(/ failed: |dead-lettered/)) t.diagnostic(line);
    }
    const kafka = `${stack.kafkaBrokers[0]}`;
    assert.ok((placement.connections()[kafka] ?? 0) > 0, `${delayed} reached Kafka through the namespace's path`);
    assert.ok(timeline.matching(new RegExp(`\\[${delayed}\\] .*running on kafka`)).length > 0, `${delayed} ran`);
    // Latency is no reason to crash: a process that failed (and was started again by the harness) fails the test.
    assert.deepEqual(timeline.matching(/ failed: |dead-lettered/), [], 'no process reported a failure');
  } finally {
    await placement.close();
  }
}
