/**
 * The resolution stage: turns the commit log into the execution order. One task sees the whole committed graph
 * (the `committed` topic has one partition): DESIGN.md §3 forbids resolving on per-key subgraphs, because
 * multi-key decisions can chain keys into cycles no per-key resolver sees. It emits one `ordered` record per key
 * of each executed decision, with a per-key position agents use to apply each decision exactly once; a proposal
 * id committed twice (a client retry) is executed once.
 *
 * Proposal ids are remembered for `dedupRetentionMs` (default 1 h) after their execution, then forgotten by a
 * wall-clock punctuation: a client retries for seconds to minutes (attempt timeout × attempts), so an hour covers
 * every retry with a wide margin while the store stays bounded by the traffic of one retention period.
 */
import type { KeyValueStore } from '../../state/types.ts';
import type { Processor, ProcessorContext, StreamRecord } from '../../topology/processor.ts';
import { committedFromAvro, recordFromJson, recordToJson } from '../epaxos/codec.ts';
import { Executor } from '../epaxos/core/execution.ts';
import { instanceKey, type InstanceRecord } from '../epaxos/core/types.ts';
import { observer } from '../observer.ts';

export interface OrderedDecision {
  key: string;
  position: number;
  instance: string;
  proposalId: string;
  keys: string[];
  payload: Buffer;
}

const pendingPrefix = 'pending/';
/** Executed instances above their replica's watermark; `watermark/<replica>` = every slot below it executed. */
const executedPrefix = 'executed/';
const watermarkPrefix = 'watermark/';
const proposalPrefix = 'proposal/';
const positionPrefix = 'position/';
/** `proposalAt/<execution time, zero-padded>/<proposal id>`: the expiry index of `proposal/<id>`, in time order. */
const proposalAtPrefix = 'proposalAt/';
const timeKey = (ms: number) => String(Math.max(0, Math.floor(ms))).padStart(15, '0');

export class ResolutionProcessor implements Processor<string, Record<string, unknown>, string, OrderedDecision> {
  #context!: ProcessorContext<string, OrderedDecision>;
  #store!: KeyValueStore<string, unknown>;
  #executor!: Executor;
  /** When each pending instance was committed (its record's timestamp), for the execution latency. */
  readonly #committedAt = new Map<string, number>();

  async init(context: ProcessorContext<string, OrderedDecision>): Promise<void> {
    this.#context = context;
    this.#store = context.getStateStore('resolution');
    const executed: string[] = [];
    const watermarks: [string, number][] = [];
    const pending: InstanceRecord[] = [];
    for await (const { key, value } of this.#store.range()) {
      if (key.startsWith(executedPrefix)) executed.push(key.slice(executedPrefix.length));
      else if (key.startsWith(watermarkPrefix)) watermarks.push([key.slice(watermarkPrefix.length), value as number]);
      else if (key.startsWith(pendingPrefix)) pending.push(recordFromJson(value));
    }
    this.#executor = new Executor(executed, watermarks);
    for (const record of pending) this.#executor.add(record);
    const retention = Number(context.config['dedupRetentionMs'] ?? 3_600_000);
    if (!Number.isFinite(retention) || retention <= 0) {
      throw new RangeError(`processor ${context.processorName}: config.dedupRetentionMs must be > 0, got ${retention}`);
    }
    context.schedule(Math.min(60_000, retention / 4), 'wall', (now) => this.#expire(now - retention));
  }

  /** Forgets the proposal ids executed before `before`, oldest first. */
  async #expire(before: number): Promise<void> {
    const due: string[] = [];
    for await (const { key } of this.#store.range({
      from: proposalAtPrefix,
      to: `${proposalAtPrefix}${timeKey(before)}`,
    })) {
      if (key.startsWith(proposalAtPrefix)) due.push(key);
    }
    for (const key of due) {
      this.#store.delete(key);
      this.#store.delete(`${proposalPrefix}${key.slice(key.indexOf('/', proposalAtPrefix.length) + 1)}`);
    }
  }

  async process(record: StreamRecord<string, Record<string, unknown>>): Promise<void> {
    const committed = committedFromAvro(record.value);
    const key = instanceKey(committed.id);
    if (this.#executor.isExecuted(key) || (await this.#store.get(`${pendingPrefix}${key}`)) !== undefined) return;
    this.#store.put(`${pendingPrefix}${key}`, recordToJson(committed));
    this.#executor.add(committed);
    this.#committedAt.set(key, record.timestamp);
    const before = new Map(this.#executor.watermarksOf());
    const { executed, watermarks } = this.#executor.run();
    const now = Date.now();
    for (const instance of executed) {
      const id = instanceKey(instance.id);
      // Pending since before a restart: the commit time is unknown here, so no sample rather than a wrong one.
      const at = this.#committedAt.get(id);
      this.#committedAt.delete(id);
      if (at !== undefined) observer().executed?.(id, Math.max(0, now - at));
      await this.#emit(instance, record.timestamp);
    }
    // The executed set stays bounded: what a watermark now covers leaves the store one by one.
    for (const { replica, below } of watermarks) {
      this.#store.put(`${watermarkPrefix}${replica}`, below);
      for (let slot = before.get(replica) ?? 0; slot < below; slot++)
        this.#store.delete(`${executedPrefix}${replica}.${slot}`);
    }
  }

  async #emit(instance: InstanceRecord, timestamp: number): Promise<void> {
    const key = instanceKey(instance.id);
    this.#store.delete(`${pendingPrefix}${key}`);
    this.#store.put(`${executedPrefix}${key}`, 1);
    for (const command of instance.commands) {
      if ((await this.#store.get(`${proposalPrefix}${command.id}`)) !== undefined) continue; // a retry: once
      this.#store.put(`${proposalPrefix}${command.id}`, key);
      this.#store.put(`${proposalAtPrefix}${timeKey(this.#context.currentWallClockTime())}/${command.id}`, 1);
      for (const conflictKey of [...new Set(command.keys)].sort()) {
        const position = (((await this.#store.get(`${positionPrefix}${conflictKey}`)) as number | undefined) ?? 0) + 1;
        this.#store.put(`${positionPrefix}${conflictKey}`, position);
        observer().ordered?.(conflictKey, position, command.id);
        this.#context.forward({
          key: conflictKey,
          value: {
            key: conflictKey,
            position,
            instance: key,
            proposalId: command.id,
            keys: command.keys,
            payload: Buffer.from(command.payload),
          },
          timestamp,
          headers: {},
        });
      }
    }
  }
}
