/**
 * The consensus topology end to end on the TopologyTestDriver (memory backend, manual clock): proposals at every
 * replica come out of `ordered` once each, with contiguous per-key positions, and bad proposals are rejected.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { InMemoryEtcd, InProcessGuardrail, ManualClock, setMode } from '../guardrail/index.ts';
import { MemoryRegistryClient } from '../schemas/index.ts';
import { defaultStoreOpener, loadEngine, serdeFactory } from '../topology/engine.ts';
import { TopologyTestDriver } from '../topology/test-driver.ts';
import { ClusterLink, setClusterLink } from './cluster-link.ts';
import { consensusTopologyFile, type OrderedDecision } from './index.ts';
import { setConsensusObserver } from './observer.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'parley-consensus-'));
after(() => rmSync(stateDir, { recursive: true, force: true }));

async function driver(name: string, env: Record<string, string> = {}): Promise<TopologyTestDriver> {
  const engine = await loadEngine(consensusTopologyFile, env);
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
  const executed = new Map<string, number>();
  setConsensusObserver({ executed: (instance, ms) => void executed.set(instance, ms) });
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
  assert.deepEqual(
    [...executed.keys()].sort(),
    [...new Set(ordered.map((r) => r.value.instance))].sort(),
    'each executed instance reports its execution latency once',
  );
  assert.ok([...executed.values()].every((ms) => ms >= 0));
  // Every slot of every replica executed: the watermarks hold them all, no executed instance is kept one by one.
  const store = d.store<string, unknown>('resolution', 0);
  const kept = async (prefix: string) => {
    const keys: string[] = [];
    for await (const { key } of store.range({ from: prefix, to: `${prefix}\uffff` })) keys.push(key);
    return keys;
  };
  assert.deepEqual(await kept('executed/'), []);
  assert.deepEqual((await kept('watermark/')).sort(), ['watermark/r0', 'watermark/r1', 'watermark/r2']);
  setConsensusObserver({});
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

test('with a guardrail: its mode applies from the next tick, and a replica without its lease holds its proposals', async () => {
  const clock = new ManualClock(0);
  const store = new InMemoryEtcd(clock);
  const open = () => new InProcessGuardrail({ store, cluster: 'consensus-test' });
  // r1 is still leased by a crashed owner: this process may not lead with it until that lease expires.
  const crashed = open();
  const zombie = await ClusterLink.connect({ guardrail: crashed, replicas: 3, log: () => undefined, ttlS: 2 });
  const zombieLease = zombie.lead('r1');
  for (let i = 0; i < 100 && !zombieLease.canLead; i++) await new Promise((resolve) => setTimeout(resolve, 1));
  await crashed.close();
  const link = await ClusterLink.connect({ guardrail: open(), replicas: 3, log: () => undefined, registerRetryMs: 1 });
  setClusterLink(link);
  const commits: { replica: string; fast: boolean; eligible: boolean | undefined }[] = [];
  const proposedBy = new Map<string, number[]>();
  setConsensusObserver({
    committed: (replica, fast, _n, _l, eligible) => commits.push({ replica, fast, eligible }),
    proposed: (replica, n) => proposedBy.set(replica, [...(proposedBy.get(replica) ?? []), n]),
  });
  // Two commands per instance at most: what r1 holds meanwhile is more than one instance's worth.
  const d = await driver('guarded', { PARLEY_BATCH_COMMANDS_MAX: '2' });
  try {
    const run = async (ticks: number) => {
      for (let i = 0; i < ticks; i++) await d.advanceWallClockTime(10);
    };
    const held = ['b1', 'b1x', 'b1y', 'b1z', 'b1w'];
    await d.pipeInputs('proposals', [
      proposal('a0', ['a'], 0),
      ...held.map((id) => proposal(id, ['b'], 1)),
      proposal('c2', ['c'], 2),
    ]);
    await run(20);
    const firstIds = (await d.readOutput<string, OrderedDecision>('ordered')).map((r) => r.value.proposalId);
    assert.deepEqual(firstIds.sort(), ['a0', 'c2'], 'r1 holds b1…: no lease of its own yet');
    assert.equal(proposedBy.get('r1'), undefined, 'r1 proposed nothing while it held');
    assert.ok(commits.length > 0 && commits.every((c) => c.fast), 'fast mode: lone commands commit fast');

    clock.advance(2_001); // the crashed owner's lease expires; r1 registers and proposes what it held
    const later: string[] = [];
    for (let i = 0; i < 500 && later.length < held.length; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1)); // the registration retry runs on real timers
      await run(1);
      later.push(...(await d.readOutput<string, OrderedDecision>('ordered')).map((r) => r.value.proposalId));
    }
    assert.deepEqual(later, held, 'what r1 held, in order');
    assert.deepEqual(proposedBy.get('r1'), [2, 2, 1], 'proposed in instances of at most batchCommandsMax');

    await setMode(open(), 'slow', { reason: 'test' });
    for (let i = 0; i < 100 && link.config().mode !== 'slow'; i++)
      await new Promise((resolve) => setTimeout(resolve, 1));
    commits.length = 0;
    await run(10); // a tick applies the switch
    await d.pipeInputs('proposals', [proposal('d0', ['d'], 0), proposal('e2', ['e'], 2)]);
    await run(20);
    assert.equal((await d.readOutput<string, OrderedDecision>('ordered')).length, 2);
    assert.ok(commits.length > 0, 'the replicas led commits in slow mode');
    assert.ok(
      commits.every((c) => !c.fast && c.eligible === true),
      `slow mode: no fast commit, each reported as fast-eligible (${JSON.stringify(commits)})`,
    );
  } finally {
    await d.close();
    setConsensusObserver({});
    setClusterLink(undefined);
    await link.close();
    await zombie.close().catch(() => undefined);
  }
});

test('a retried proposal id executes once within the dedup retention; the ids are forgotten after it', async () => {
  const d = await driver('dedup', { PARLEY_DEDUP_RETENTION_MS: '60000' });
  const ordered = async () => (await d.readOutput<string, OrderedDecision>('ordered')).map((r) => r.value.proposalId);
  const settle = async () => {
    for (let i = 0; i < 20; i++) await d.advanceWallClockTime(10);
  };
  await d.pipeInputs('proposals', [proposal('p1', ['k'], 0)]);
  await settle();
  assert.deepEqual(await ordered(), ['p1']);
  await d.pipeInputs('proposals', [proposal('p1', ['k'], 1)]); // the client's retry, through another replica
  await settle();
  assert.deepEqual(await ordered(), [], 'the retry committed again but executes once');
  const store = d.store<string, unknown>('resolution', 0);
  assert.notEqual(await store.get('proposal/p1'), undefined);
  await d.advanceWallClockTime(61_000); // a punctuation after the retention
  await settle();
  assert.equal(await store.get('proposal/p1'), undefined, 'forgotten: the store stays bounded');
  const index: string[] = [];
  for await (const { key } of store.range({ from: 'proposalAt/', to: 'proposalAt/\uffff' })) index.push(key);
  assert.deepEqual(index, [], 'and its expiry index entry with it');
});
