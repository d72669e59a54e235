/**
 * The consensus topology end to end on the TopologyTestDriver (memory backend, manual clock): proposals at every
 * replica come out of `ordered` once each, with contiguous per-key positions, and bad proposals are rejected.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MemoryRegistryClient } from '../schemas/index.ts';
import { defaultStoreOpener, loadEngine, serdeFactory } from '../topology/engine.ts';
import { TopologyTestDriver } from '../topology/test-driver.ts';
import { consensusTopologyFile, type OrderedDecision } from './index.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'parley-consensus-'));
after(() => rmSync(stateDir, { recursive: true, force: true }));

async function driver(name: string): Promise<TopologyTestDriver> {
  const engine = await loadEngine(consensusTopologyFile, {});
  const serdes = serdeFactory(engine.schemasDir, new MemoryRegistryClient());
  return TopologyTestDriver.create(engine.topology, {
    registry: engine.registry,
    serdes,
    openStore: defaultStoreOpener({ topology: engine.topology, serdes, stateDir: join(stateDir, name) }),
  });
}

const proposal = (id: string, keys: string[], partition: number) => ({
  key: id,
  value: { id, clientId: 'test', keys, payload: Buffer.from(JSON.stringify({ id })), timestamp: 0 },
  partition,
  timestamp: 1,
});

test('proposals at three replicas are ordered once each, per-key positions 1..n', async () => {
  const d = await driver('ordered');
  const inputs = Array.from({ length: 30 }, (_, i) =>
    proposal(`p${i}`, i % 4 === 0 ? ['acct-1', 'acct-2'] : [`acct-${i % 3}`], i % 3),
  );
  await d.pipeInputs('proposals', inputs);
  for (let i = 0; i < 20; i++) await d.advanceWallClockTime(10);
  const ordered = await d.readOutput<string, OrderedDecision>('ordered');
  const ids = new Set(ordered.map((r) => r.value.proposalId));
  assert.equal(ids.size, 30, 'every proposal ordered');
  const byKey = new Map<string, number[]>();
  for (const r of ordered) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r.value.position]);
  for (const [key, positions] of byKey) {
    assert.deepEqual(
      [...positions].sort((a, b) => a - b),
      positions.map((_, i) => i + 1),
      `positions of ${key}`,
    );
  }
  const multi = ordered.filter((r) => r.value.keys.length === 2);
  assert.equal(multi.length, 2 * 8, 'a two-key decision appears under both keys');
  await d.close();
});

test('a proposal without keys or with an oversized payload is rejected with a reason, never dropped', async () => {
  const d = await driver('rejected');
  await d.pipeInputs('proposals', [
    proposal('no-keys', [], 0),
    { ...proposal('huge', ['k'], 1), value: { ...proposal('huge', ['k'], 1).value, payload: Buffer.alloc(70_000) } },
    proposal('fine', ['k'], 2),
  ]);
  for (let i = 0; i < 10; i++) await d.advanceWallClockTime(10);
  const rejections = await d.readOutput<string, { proposalId: string; reason: string }>('rejections');
  assert.deepEqual(rejections.map((r) => r.value.proposalId).sort(), ['huge', 'no-keys']);
  assert.match(rejections.find((r) => r.value.proposalId === 'no-keys')!.value.reason, /has no keys/);
  assert.match(rejections.find((r) => r.value.proposalId === 'huge')!.value.reason, /payloadBytesMax/);
  const ordered = await d.readOutput<string, OrderedDecision>('ordered');
  assert.deepEqual(
    ordered.map((r) => r.value.proposalId),
    ['fine'],
  );
  await d.close();
});
