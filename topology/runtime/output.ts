/**
 * How a task's results leave it. exactly_once: outputs, changelog records and input offsets in one
 * transaction of the task's own transactional producer (`<application>-<taskId>`: kafkajs has no KIP-447
 * fencing, so each input partition gets its producer and a zombie is fenced by the id). at_least_once: send,
 * then commit the offsets through the group.
 */
import type {
  GroupMember,
  OutgoingRecord,
  PartitionOffset,
  Producer,
  TransactionalProducer,
} from '../backend/types.ts';

export interface TaskOutput {
  commit(records: OutgoingRecord[], offsets: PartitionOffset[]): Promise<void>;
  close(): Promise<void>;
}

export function exactlyOnceOutput(producer: TransactionalProducer, groupId: string): TaskOutput {
  return {
    async commit(records, offsets) {
      const debug = process.env['PARLEY_DEBUG_GROUP']
        ? (step: string) => console.error(`txn ${producer.transactionalId} ${step} ${Date.now()}`)
        : () => {};
      debug('begin');
      await producer.begin();
      try {
        if (records.length > 0) await producer.send(records);
        debug('sent');
        if (offsets.length > 0) await producer.sendOffsets(groupId, offsets);
        debug('offsets');
        await producer.commit();
        debug('committed');
      } catch (error) {
        // A fenced producer cannot abort; anything else leaves nothing half-visible.
        await producer.abort().catch(() => undefined);
        throw error;
      }
    },
    close: () => producer.close(),
  };
}

export function atLeastOnceOutput(producer: Producer, member: () => GroupMember): TaskOutput {
  return {
    async commit(records, offsets) {
      if (records.length > 0) await producer.send(records);
      if (offsets.length > 0) await member().commitOffsets(offsets);
    },
    close: async () => {},
  };
}
