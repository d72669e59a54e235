/**
 * The EPaxos stage: one task per replica (the task's partition of `proposals` and `protocol` is the replica's
 * index), driving the pure core. Every Ready is applied inside the task's transaction: the instance records go to
 * the store (and so its changelog), the messages to the protocol topic, the commits to `committed` — persisted and
 * sent together, with the input offsets (DESIGN.md §3, persist before send).
 */
import type { KeyValueStore } from '../../state/types.ts';
import type { Processor, ProcessorContext, StreamRecord } from '../../topology/processor.ts';
import { clusterLink, type ClusterLink, type Leadership } from '../cluster-link.ts';
import { resolveLimits, type ConsensusLimits } from '../limits.ts';
import { observer } from '../observer.ts';
import type { Proposal } from '../proposal/processor.ts';
import { committedToAvro, messageFromAvro, messageToAvro, recordFromJson, recordToJson } from './codec.ts';
import { Replica } from './core/replica.ts';
import type { Ready } from './core/state.ts';
import { instanceKey, type Command, type InstanceRecord } from './core/types.ts';
import { replicaId } from './ids.ts';

export { replicaId } from './ids.ts';
const nextSlotKey = 'meta/nextSlot';
const recordPrefix = 'instance/';

export interface EpaxosConfig {
  replicas: number;
  epoch?: number;
  mode?: 'fast' | 'slow';
  protocolSink?: string;
  committedSink?: string;
}

export class EpaxosProcessor implements Processor<string, Proposal | { message: Record<string, unknown> }> {
  #context!: ProcessorContext<string, unknown>;
  #store!: KeyValueStore<string, unknown>;
  #replica!: Replica;
  #limits!: ConsensusLimits;
  #config!: Required<EpaxosConfig>;
  #batch: Command[] = [];
  /** Proposal timestamps of commands this replica leads, until they commit (for commit latency). */
  readonly #proposedAt = new Map<string, number>();
  #members: string[] = [];
  /** With a guardrail: the link, this replica's lease, and the members seen live at the last tick. */
  #link: ClusterLink | undefined;
  #lease: Leadership | undefined;
  #live = new Set<string>();
  #holding = false;

  async init(context: ProcessorContext<string, unknown>): Promise<void> {
    this.#context = context;
    const where = `processor ${context.processorName}`;
    this.#limits = resolveLimits(context.config, where);
    // YAML interpolation yields strings ("${PARLEY_REPLICAS:-3}"): numbers are read with Number().
    const config = { ...(context.config as unknown as EpaxosConfig) };
    config.replicas = Number(config.replicas);
    if (!Number.isInteger(config.replicas) || config.replicas < 1 || config.replicas % 2 === 0) {
      throw new RangeError(`${where}: config.replicas must be an odd positive integer, got ${config.replicas}`);
    }
    this.#config = {
      replicas: config.replicas,
      epoch: config.epoch ?? 1,
      mode: config.mode ?? 'fast',
      protocolSink: config.protocolSink ?? 'protocol-out',
      committedSink: config.committedSink ?? 'committed-out',
    };
    this.#store = context.getStateStore('epaxos-instances');
    const index = Number(context.taskId.split('_')[1]);
    if (index >= this.#config.replicas) {
      throw new RangeError(
        `${where}: task ${context.taskId} is partition ${index}, but there are ${config.replicas} replicas`,
      );
    }
    this.#members = Array.from({ length: this.#config.replicas }, (_, i) => replicaId(i));
    const records: InstanceRecord[] = [];
    for await (const { key, value } of this.#store.range({ from: recordPrefix, to: `${recordPrefix}\uffff` })) {
      if (key.startsWith(recordPrefix)) records.push(recordFromJson(value));
    }
    const nextSlot = ((await this.#store.get(nextSlotKey)) as number | undefined) ?? 0;
    // The guardrail, when the process has one, owns the epoch and the mode (DESIGN.md §4).
    this.#link = clusterLink();
    const guarded = this.#link?.config();
    if (guarded && guarded.n !== this.#config.replicas) {
      throw new RangeError(
        `${where}: guardrail cluster ${this.#link!.cluster} has ${guarded.n} members, the topology ${this.#config.replicas} replicas`,
      );
    }
    this.#replica = new Replica(
      {
        self: replicaId(index),
        members: this.#members,
        epoch: guarded?.epoch ?? this.#config.epoch,
        mode: guarded?.mode ?? this.#config.mode,
        recoveryTimeoutTicks: this.#limits.recoveryTimeoutTicks,
      },
      { records, nextSlot },
    );
    if (this.#link) {
      this.#lease = this.#link.lead(replicaId(index));
      this.#live = new Set(this.#members.filter((m) => this.#link!.isLive(m)));
    }
    context.schedule(this.#limits.tickMs, 'wall', (now) => {
      this.#followGuardrail(now);
      this.#apply(this.#replica.step({ type: 'tick' }), now);
    });
    // The batch window is this punctuation's period: a command waits at most one window for company.
    context.schedule(Math.max(1, this.#limits.batchWindowMs), 'wall', (now) => this.#flush(now));
  }

  process(record: StreamRecord<string, Proposal | { message: Record<string, unknown> }>): void {
    const value = record.value;
    if ('message' in value) {
      this.#apply(this.#replica.step({ type: 'message', message: messageFromAvro(value) }), record.timestamp);
      return;
    }
    this.#batch.push({ id: value.id, keys: [...value.keys], payload: new Uint8Array(value.payload) });
    this.#proposedAt.set(value.id, Number(value.timestamp));
    if (this.#batch.length >= this.#limits.batchCommandsMax) this.#flush(record.timestamp);
  }

  async close(): Promise<void> {
    await this.#lease?.release();
  }

  /**
   * Applies what the guardrail says: a new epoch or mode, and members whose lease is gone (their instances are
   * recovered without waiting for the timeouts). A member back up is only noted: it was never taken over.
   */
  #followGuardrail(now: number): void {
    if (!this.#link) return;
    const config = this.#link.config();
    const core = this.#replica.state.config;
    if (config.epoch > core.epoch || config.mode !== core.mode) {
      this.#apply(this.#replica.step({ type: 'configure', epoch: config.epoch, mode: config.mode }), now);
    }
    const self = this.#replica.state.self;
    for (const member of this.#members) {
      const live = this.#link.isLive(member);
      if (!live && this.#live.has(member) && member !== self) {
        this.#apply(this.#replica.step({ type: 'leaderDown', replica: member }), now);
      }
      if (live) this.#live.add(member);
      else this.#live.delete(member);
    }
  }

  /**
   * Proposes the batch when it is full or at the window's punctuation (§7.6 batching), in instances of at most
   * `batchCommandsMax` commands: a batch held while this replica had no lease grows past it, and was proposed as
   * one instance (issue #10), one record and one message as large as everything held.
   */
  #flush(now: number): void {
    if (this.#batch.length === 0) return;
    // Without a live lease this replica must not lead new instances (DESIGN.md §4): the batch waits, and the
    // clients' retries (same proposal ids) reach a replica that can.
    const holding = this.#lease !== undefined && !this.#lease.canLead;
    if (holding !== this.#holding) {
      this.#holding = holding;
      console.error(
        `replica ${this.#replica.state.self}: ${holding ? 'holds proposals: no live guardrail lease' : 'leads again'}`,
      );
    }
    if (holding) return;
    while (this.#batch.length > 0) {
      const commands = this.#batch.splice(0, this.#limits.batchCommandsMax);
      observer().proposed?.(this.#replica.state.self, commands.length);
      this.#apply(this.#replica.step({ type: 'propose', commands }), now);
    }
  }

  #apply(ready: Ready, timestamp: number): void {
    for (const record of ready.persist)
      this.#store.put(`${recordPrefix}${instanceKey(record.id)}`, recordToJson(record));
    this.#store.put(nextSlotKey, ready.nextSlot);
    for (const message of ready.send) {
      this.#context.forward(
        {
          key: message.to,
          value: messageToAvro(message),
          timestamp,
          headers: {},
          partition: this.#members.indexOf(message.to),
        },
        this.#config.protocolSink,
      );
    }
    const self = this.#replica.state.self;
    for (const record of ready.committed) {
      const fast = this.#replica.state.fastPath.get(instanceKey(record.id));
      if (record.id.replica === self && fast !== undefined) {
        this.#replica.state.fastPath.delete(instanceKey(record.id));
        const now = Date.now();
        const latencies = record.commands.map((c) => now - (this.#proposedAt.get(c.id) ?? now));
        for (const c of record.commands) this.#proposedAt.delete(c.id);
        const eligible = fast || this.#replica.state.fastEligible.delete(instanceKey(record.id));
        observer().committed?.(self, fast, record.commands.length, latencies, eligible);
      }
      // Only the replica that decided (leader or recoverer) reports it: its decision, its Commit messages and this
      // record commit in one transaction, so a decision that was lost with a crash was never seen by anyone and is
      // decided again by recovery, which reports it then. Two deciders of one instance (a leader and a recoverer)
      // report the same value twice; resolution deduplicates by instance.
      if (!this.#replica.state.decidedHere.delete(instanceKey(record.id))) continue;
      this.#context.forward(
        { key: instanceKey(record.id), value: committedToAvro(record), timestamp, headers: {}, partition: 0 },
        this.#config.committedSink,
      );
    }
  }
}
