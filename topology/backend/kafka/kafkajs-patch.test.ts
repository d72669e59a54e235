/**
 * The patch of kafkajs's aborted-record filter (patches/kafkajs+2.2.4.patch, applied by `npm ci`'s postinstall) is
 * in place: starting inside two interleaved aborted transactions, none of their records passes. The real broker
 * shows the same in integration/tests/kafka-transactions.test.ts; this fails at once, without one, when the patch
 * did not apply.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

type Message = { offset: string; key: Buffer | null; isControlRecord?: boolean; batchContext: object };
const filter = createRequire(import.meta.url)('kafkajs/src/consumer/filterAbortedMessages.js') as (input: {
  messages: Message[];
  abortedTransactions: { firstOffset: string; producerId: string }[];
}) => Message[];

const record = (offset: number, producerId: string): Message => ({
  offset: String(offset),
  key: Buffer.from('k'),
  batchContext: { producerId, inTransaction: true },
});
const abortMarker = (offset: number, producerId: string): Message => ({
  offset: String(offset),
  key: Buffer.from([0, 0, 0, 0]),
  isControlRecord: true,
  batchContext: { producerId, inTransaction: true },
});

test('kafkajs, patched: a fetch from inside two interleaved aborted transactions filters both', () => {
  // Offsets 0-3: producers 1 and 2 interleaved, both aborted (markers 4, 5); 6: producer 3, committed. A fetch
  // from offset 1 gets both aborted transactions, the one that began before it included.
  const messages = [record(1, '2'), record(2, '1'), record(3, '2'), abortMarker(4, '1'), abortMarker(5, '2')];
  const committed = { ...record(6, '3'), batchContext: { producerId: '3', inTransaction: true } };
  const kept = filter({
    messages: [...messages, committed],
    abortedTransactions: [
      { firstOffset: '0', producerId: '1' },
      { firstOffset: '1', producerId: '2' },
    ],
  });
  assert.deepEqual(
    kept.filter((m) => !m.isControlRecord).map((m) => m.offset),
    ['6'],
  );
});
