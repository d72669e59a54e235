/**
 * The client against the consensus topology on the memory backend (auto mode, real clock): proposals resolve with
 * their positions, conflicting ones get distinct positions on their shared key, a refused one rejects with the
 * reason, and proposing an id again is answered once, never applied twice.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MemoryRegistryClient } from '../../schemas/index.ts';
import { MemoryBackend } from '../../topology/backend/memory/backend.ts';
import { createApp, loadEngine, serdeFactory } from '../../topology/engine.ts';
import type { StreamsApp } from '../../topology/runtime/app.ts';
import { topicSerdes } from '../../topology/runtime/serdes.ts';
import { consensusTopologyFile } from '../index.ts';
import { ParleyClient, ProposalRejectedError } from './client.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'parley-client-'));
const backend = new MemoryBackend({ mode: 'auto' });
const registry = new MemoryRegistryClient();
let app: StreamsApp;
let client: ParleyClient;

before(async () => {
  const engine = await loadEngine(consensusTopologyFile, {});
  app = createApp({ engine, backend, schemaRegistry: registry, stateDir, tickMs: 5 });
  await app.start();
  const serdes = topicSerdes(engine.topology, serdeFactory(engine.schemasDir, registry));
  client = await ParleyClient.connect({ backend, serdes, replicas: 3, attemptTimeoutMs: 2_000 });
});

after(async () => {
  await client.close();
  await app.stop();
  await backend.close();
  rmSync(stateDir, { recursive: true, force: true });
});

test('concurrent conflicting proposals resolve with distinct positions on their shared key', async () => {
  const decided = await Promise.all(
    Array.from({ length: 12 }, (_, i) => client.propose(['seat:12A', `user:${i}`], JSON.stringify({ user: i }))),
  );
  const positions = decided.map((d) => d.positions['seat:12A']).sort((a, b) => a! - b!);
  assert.deepEqual(
    positions,
    Array.from({ length: 12 }, (_, i) => i + 1),
  );
  assert.ok(decided.every((d) => d.positions[`user:${decided.indexOf(d)}`] === 1));
});

test('a proposal without keys is rejected with the reason', async () => {
  await assert.rejects(client.propose([], 'x'), (error: Error) => {
    assert.ok(error instanceof ProposalRejectedError);
    assert.match(error.message, /has no keys/);
    return true;
  });
});

test('proposing the same id again is answered with the first decision and applied once', async () => {
  const first = await client.propose(['route:7'], 'reserve', { id: 'idempotent-1' });
  const again = await client.propose(['route:7'], 'reserve', { id: 'idempotent-1' });
  assert.deepEqual(again.positions, first.positions);
  const next = await client.propose(['route:7'], 'reserve-2');
  assert.equal(next.positions['route:7'], first.positions['route:7']! + 1, 'the retry took no position');
});

test('a send that fails (a broker restarting) is one failed attempt: the next attempt sends again', async () => {
  const engine = await loadEngine(consensusTopologyFile, {});
  const serdes = topicSerdes(engine.topology, serdeFactory(engine.schemasDir, registry));
  let failures = 0;
  const flaky = new Proxy(backend, {
    get(target, name) {
      // Bound to the real objects: their private fields do not answer through a proxy.
      const bind = (o: object, n: string | symbol) => {
        const v = Reflect.get(o, n) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(o) : v;
      };
      if (name !== 'producer') return bind(target, name);
      return async () => {
        const producer = await target.producer();
        return new Proxy(producer, {
          get(p, n) {
            if (n !== 'send') return bind(p, n);
            return async (...args: Parameters<typeof producer.send>) => {
              if (failures++ === 0) throw new Error('connect ECONNREFUSED 127.0.0.1:9092');
              return p.send(...args);
            };
          },
        });
      };
    },
  });
  const retrying = await ParleyClient.connect({ backend: flaky, serdes, replicas: 3, attemptTimeoutMs: 300 });
  try {
    const decided = await retrying.propose(['flaky:1'], 'x');
    assert.equal(failures, 2, 'the first send failed, the second went through');
    assert.equal(decided.attempts, 2);
    assert.equal(decided.positions['flaky:1'], 1);
  } finally {
    await retrying.close();
  }
});
