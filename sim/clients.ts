/**
 * The clients' side of a run, checked for linearizability one key at a time (linearizability.ts, a list of
 * appended values per key). A client sends a command to one replica and hears back when that replica, the
 * command's leader, executes it: a write learns its position on each of its keys, a read the writes before it on
 * each of its keys — what the replica's state machine holds at that point of its execution order. A client that
 * has not heard back after `timeout` gives up and its command is indeterminate (it may still take effect, at any
 * point after it was sent); so is a command whose replica lost its state before executing it, or whose instance
 * recovery committed as a no-op.
 */
import { instanceKey } from '../processors/epaxos/core/types.ts';
import type { Violation } from './checkers.ts';
import type { Cluster } from './cluster.ts';
import {
  checkLinearizable,
  listAppendFor,
  type AppendInput,
  type AppendOutput,
  type Operation,
  unobservedAppendsAlike,
} from './linearizability.ts';

export interface ClientOp {
  id: string;
  /** Distinct (a command appends once to each of its keys). */
  keys: string[];
  read: boolean;
  /** When the client sent it (cluster time), held by its replica or not. */
  call: number;
}

/** Reads and writes are told apart by their ids (the simulator's commands carry no payload). */
export const isRead = (commandId: string): boolean => commandId.startsWith('read-');

interface Answer {
  /** When the command's leader executed it. */
  time: number;
  /** What it returned on each of its keys. */
  output: Map<string, AppendOutput>;
}

/**
 * What each command's leader answered, and when: each replica's state machine run along its execution log, the
 * answers taken from the instances it leads. The client's replica is its command's leader (held proposals move
 * with a replacement, and the replacement leads them).
 */
function answers(c: Cluster): Map<string, Answer> {
  const out = new Map<string, Answer>();
  for (const r of c.allIds) {
    const executedAt = c.executedAt.get(r)!;
    const lists = new Map<string, string[]>();
    for (const record of c.executed.get(r)!) {
      const own = record.id.replica === r;
      const time = own ? executedAt.get(instanceKey(record.id))! : 0;
      for (const command of record.commands) {
        // Only the leader's answers are kept; the other replicas' logs only advance their lists (this runs for
        // every command on every replica of every seed).
        const output = own ? new Map<string, AppendOutput>() : undefined;
        const read = isRead(command.id);
        for (const key of command.keys) {
          let list = lists.get(key);
          if (!list) lists.set(key, (list = []));
          if (read) output?.set(key, [...list]);
          else {
            list.push(command.id);
            output?.set(key, list.length - 1);
          }
        }
        if (output) out.set(command.id, { time, output });
      }
    }
  }
  return out;
}

export function checkClients(c: Cluster, ops: readonly ClientOp[], timeout: number): Violation[] {
  const answered = answers(c);
  const perKey = new Map<string, Operation<AppendInput, AppendOutput>[]>();
  for (const op of ops) {
    const answer = answered.get(op.id);
    const inTime = answer !== undefined && answer.time - op.call <= timeout;
    for (const key of op.keys) {
      const input: AppendInput = op.read ? { kind: 'read' } : { kind: 'append', value: op.id };
      const ret = inTime ? { ret: { time: answer.time, output: answer.output.get(key)! } } : {};
      let list = perKey.get(key);
      if (!list) perKey.set(key, (list = []));
      list.push({ id: op.id, input, call: op.call, ...ret });
    }
  }
  const violations: Violation[] = [];
  for (const [key, history] of [...perKey].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const alike = unobservedAppendsAlike(history);
    const result = checkLinearizable(listAppendFor(alike), alike);
    if (result.ok) continue;
    const indeterminate = history.filter((o) => !o.ret).length;
    violations.push({
      invariant: 'linearizability',
      detail:
        `key ${key}: no order of its ${history.length} operations (${indeterminate} indeterminate) explains what ` +
        `the clients saw: ${history.map(describe).join(', ')}; the longest explainable order: ${result.longest.join(' ')}`,
    });
  }
  return violations;
}

function describe(op: Operation<AppendInput, AppendOutput>): string {
  const output = op.ret ? (Array.isArray(op.ret.output) ? `[${op.ret.output.join(' ')}]` : `#${op.ret.output}`) : '?';
  return `${op.id}@${op.call}${op.ret ? `-${op.ret.time}` : '-'}${output}`;
}
