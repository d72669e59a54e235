/**
 * Every protocol message survives the trip through its Avro schema (schemas/ProtocolMessage.avsc) unchanged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryRegistryClient, schemasDir, serdeFor } from '../../schemas/index.ts';
import { Cluster, command } from '../../sim/cluster.ts';
import {
  committedFromAvro,
  committedToAvro,
  messageFromAvro,
  messageToAvro,
  recordFromJson,
  recordToJson,
} from './codec.ts';
import type { Message } from './core/messages.ts';

const registry = new MemoryRegistryClient();
const serde = (schema: string) => serdeFor({ type: 'avro', schema }, { registry, schemasDir, isKey: false });

test('every message type of a run with recovery round-trips through Avro', async () => {
  const protocol = serde('ProtocolMessage');
  const committedSerde = serde('Committed');
  await protocol.prepare('protocol');
  await committedSerde.prepare('committed');
  const c = new Cluster({ n: 5 });
  const seen = new Map<string, Message>();
  const record = (): void => c.pool.forEach((f) => seen.set(f.message.type, f.message));
  c.propose('r0', [command('a', 'k', 'j')]);
  c.propose('r1', [command('b', 'k')]);
  record();
  c.deliverWhere((m) => m.type === 'PreAccept' && m.to === 'r2');
  record();
  c.crash('r0');
  c.step('r2', { type: 'recover', instance: { replica: 'r0', slot: 0 } });
  for (let i = 0; i < 200 && c.deliverable().length > 0; i++) {
    record();
    c.deliver(c.deliverable()[0]!);
  }
  assert.ok(seen.size >= 8, `saw ${[...seen.keys()].join(', ')}`);
  for (const message of seen.values()) {
    const bytes = protocol.serializeSync('protocol', messageToAvro(message));
    assert.deepEqual(messageFromAvro((await protocol.deserialize('protocol', bytes)) as never), message, message.type);
  }
  const committed = c.replica('r1').state.record('r1.0')!;
  const bytes = committedSerde.serializeSync('committed', committedToAvro(committed));
  const back = committedFromAvro((await committedSerde.deserialize('committed', bytes)) as never);
  assert.deepEqual(back.commands, committed.commands);
  assert.deepEqual(back.attributes, committed.attributes);
  assert.deepEqual(recordFromJson(JSON.parse(JSON.stringify(recordToJson(committed)))), committed);
});

test('the join messages (§4.7) round-trip through Avro, awaiting or not', async () => {
  const protocol = serde('ProtocolMessage');
  await protocol.prepare('protocol');
  const base = { from: 'r1', to: 'r0.e2', epoch: 2 };
  const messages: Message[] = [
    { type: 'Join', ...base },
    { type: 'Join', ...base, awaiting: ['r0.3', 'r1.0'] },
    {
      type: 'JoinReply',
      ...base,
      full: true,
      committed: [
        {
          instance: { replica: 'r2', slot: 7 },
          commands: [command('a', 'k', 'j')],
          attributes: { seq: 3, deps: ['r1.0'] },
          ballot: { epoch: 1, round: 2, replica: 'r1' },
        },
      ],
      pending: ['r0.3'],
      unknown: [],
    },
    { type: 'JoinReply', ...base, full: false, committed: [], pending: [], unknown: ['r0.3'] },
  ];
  for (const message of messages) {
    const bytes = protocol.serializeSync('protocol', messageToAvro(message));
    assert.deepEqual(messageFromAvro((await protocol.deserialize('protocol', bytes)) as never), message, message.type);
  }
});
