/**
 * Fleet coordination on the memory backend: vehicles race for the same slots through the client; both agents
 * agree on every slot's holder, and exactly one reservation per slot is granted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ParleyClient } from '../../processors/client/client.ts';
import { consensusTopologyFile } from '../../processors/index.ts';
import { MemoryRegistryClient } from '../../schemas/index.ts';
import { MemoryBackend } from '../../topology/backend/memory/backend.ts';
import { createApp, loadEngine, serdeFactory } from '../../topology/engine.ts';
import { topicSerdes } from '../../topology/runtime/serdes.ts';

test('racing reservations: one winner per slot, the same for both agents', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'parley-fleet-'));
  const backend = new MemoryBackend({ mode: 'auto' });
  const registry = new MemoryRegistryClient();
  const consensus = await loadEngine(consensusTopologyFile, {});
  const apps = [createApp({ engine: consensus, backend, schemaRegistry: registry, stateDir, tickMs: 5 })];
  for (const agent of ['fleet-a', 'fleet-b']) {
    const engine = await loadEngine(join(import.meta.dirname, 'agents.yaml'), { PARLEY_AGENT_ID: agent });
    apps.push(createApp({ engine, backend, schemaRegistry: registry, stateDir, tickMs: 5 }));
  }
  for (const app of apps) await app.start();
  const serdes = topicSerdes(consensus.topology, serdeFactory(consensus.schemasDir, registry));
  const client = await ParleyClient.connect({ backend, serdes, replicas: 3 });
  try {
    const slots = ['slot:r1:0900', 'slot:r1:0905', 'slot:r2:0900'];
    const vehicles = ['v1', 'v2', 'v3', 'v4'];
    const requests = slots.flatMap((slot) => vehicles.map((vehicle) => ({ slot, vehicle })));
    const decided = await Promise.all(
      requests.map((r) => client.propose([r.slot, `vehicle:${r.vehicle}`], JSON.stringify(r))),
    );
    // The winner of a slot is the reservation at position 1 of the slot's order.
    const winners = new Map(
      requests.flatMap((r, i) => (decided[i]!.positions[r.slot] === 1 ? [[r.slot, r.vehicle] as const] : [])),
    );
    assert.equal(winners.size, slots.length, 'one winner per slot');
    // Agents apply after the order exists: wait (bounded) until both applied all 2 x 2 x 12 decisions.
    const applied = () =>
      backend.logs('agent-applied').reduce((n, log) => n + log.read(0, Infinity, true, 1e9).records.length, 0);
    for (const deadline = Date.now() + 20_000; applied() < 2 * 2 * requests.length;) {
      assert.ok(Date.now() < deadline, `agents applied ${applied()} of ${4 * requests.length} decisions`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const actions = backend
      .logs('fleet-actions')
      .flatMap((log) => log.read(0, Infinity, true, 1e9).records)
      .map((r) => JSON.parse(r.value!.toString()) as { action: string; slot: string; vehicle: string });
    for (const slot of slots) {
      const granted = actions.filter((a) => a.slot === slot && a.action === 'granted').map((a) => a.vehicle);
      assert.deepEqual(
        granted,
        [winners.get(slot), winners.get(slot)],
        `${slot}: both agents granted the same vehicle once`,
      );
      assert.equal(actions.filter((a) => a.slot === slot && a.action === 'rejected').length, 2 * (vehicles.length - 1));
    }
  } finally {
    await client.close();
    for (const app of apps) await app.stop();
    await backend.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
});
