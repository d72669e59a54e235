/**
 * The TypeScript client: `propose(keys, payload)` resolves once the decision has its place in the execution
 * order (every key's position), rejects with a clear error when the proposal is refused, and retries a silent
 * proposal under the SAME id at another replica after a timeout — resolution applies an id once, so a retry can
 * never apply a decision twice (EPaxos paper §4.6: clients deduplicate by unique id).
 */
import { randomUUID } from 'node:crypto';
import type { Backend, GroupMember, Producer } from '../../topology/backend/types.ts';
import type { TopicSerdes } from '../../topology/runtime/serdes.ts';
import type { OrderedDecision } from '../resolution/processor.ts';

export interface ClientOptions {
  backend: Backend;
  serdes: TopicSerdes;
  replicas: number;
  clientId?: string;
  /** How long one attempt waits before retrying at the next replica. */
  attemptTimeoutMs?: number;
  attempts?: number;
  topics?: { proposals: string; ordered: string; rejections: string };
}

export interface Decided {
  proposalId: string;
  instance: string;
  /** The decision's position in each of its keys' order. */
  positions: Record<string, number>;
  attempts: number;
}

export class ProposalRejectedError extends Error {
  override name = 'ProposalRejectedError';
  readonly code = 'PROPOSAL_REJECTED';
  readonly retriable = false;
}

export class ProposalTimeoutError extends Error {
  override name = 'ProposalTimeoutError';
  readonly code = 'PROPOSAL_TIMEOUT';
  /** Retrying with the same id is safe: it is applied at most once. */
  readonly retriable = true;
}

interface Pending {
  keys: string[];
  positions: Record<string, number>;
  instance?: string;
  resolve(decided: Decided): void;
  reject(error: Error): void;
  attempts: number;
}

export class ParleyClient {
  readonly clientId: string;
  readonly #options: Required<Omit<ClientOptions, 'clientId'>>;
  readonly #pending = new Map<string, Pending>();
  /** Positions of decisions seen on `ordered`, so proposing an id again answers at once (bounded, oldest out). */
  readonly #decided = new Map<string, { instance: string; positions: Record<string, number> }>();
  #producer!: Producer;
  #members: GroupMember[] = [];
  #next = 0;

  private constructor(options: ClientOptions) {
    this.clientId = options.clientId ?? `client-${randomUUID().slice(0, 8)}`;
    this.#options = {
      attemptTimeoutMs: 10_000,
      attempts: 3,
      topics: { proposals: 'proposals', ordered: 'ordered', rejections: 'rejections' },
      ...options,
    };
  }

  static async connect(options: ClientOptions): Promise<ParleyClient> {
    const client = new ParleyClient(options);
    await client.#start();
    return client;
  }

  async #start(): Promise<void> {
    const { backend, topics, serdes } = this.#options;
    this.#producer = await backend.producer();
    const listen = async (topic: string, onValue: (value: unknown) => void): Promise<GroupMember> =>
      backend.joinGroup({
        // A group of its own per client: it sees every decision. It starts from the beginning so that nothing
        // ordered between connecting and the first fetch can be missed.
        groupId: `${this.clientId}-${topic}`,
        topics: [topic],
        readCommitted: true,
        fromBeginning: true,
        handler: {
          onAssigned: async () => {},
          onRevoked: async () => {},
          onBatch: async (batch) => {
            for (const r of batch.records) onValue(await serdes.topic(topic).value.deserialize(topic, r.value));
          },
        },
      });
    this.#members.push(await listen(topics.ordered, (v) => this.#onOrdered(v as OrderedDecision)));
    this.#members.push(
      await listen(topics.rejections, (v) => {
        const r = v as { proposalId: string; reason: string };
        this.#pending.get(r.proposalId)?.reject(new ProposalRejectedError(r.reason));
      }),
    );
  }

  #onOrdered(decision: OrderedDecision): void {
    const seen = this.#decided.get(decision.proposalId) ?? { instance: decision.instance, positions: {} };
    seen.positions[decision.key] = decision.position;
    this.#decided.set(decision.proposalId, seen);
    if (this.#decided.size > 100_000) this.#decided.delete(this.#decided.keys().next().value!);
    const pending = this.#pending.get(decision.proposalId);
    if (!pending) return;
    pending.positions[decision.key] = decision.position;
    pending.instance = decision.instance;
    if (pending.keys.every((k) => pending.positions[k] !== undefined)) {
      pending.resolve({
        proposalId: decision.proposalId,
        instance: decision.instance,
        positions: pending.positions,
        attempts: pending.attempts,
      });
    }
  }

  /** Proposes a decision on `keys`; resolves with its positions once it is ordered. */
  async propose(keys: string[], payload: Buffer | string, options: { id?: string } = {}): Promise<Decided> {
    const id = options.id ?? `${this.clientId}-${randomUUID()}`;
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const known = this.#decided.get(id);
    if (known && keys.every((k) => known.positions[k] !== undefined)) {
      return { proposalId: id, instance: known.instance, positions: { ...known.positions }, attempts: 0 };
    }
    return new Promise<Decided>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        this.#pending.delete(id);
      };
      const pending: Pending = {
        keys: [...new Set(keys)],
        positions: {},
        attempts: 0,
        resolve: (d) => (done(), resolve(d)),
        reject: (e) => (done(), reject(e)),
      };
      this.#pending.set(id, pending);
      let lastSendError: Error | undefined;
      const attempt = (): void => {
        if (pending.attempts >= this.#options.attempts) {
          const cause = lastSendError ? `; last send failed: ${lastSendError.message}` : '';
          pending.reject(
            new ProposalTimeoutError(`proposal ${id} not ordered after ${pending.attempts} attempts${cause}`),
          );
          return;
        }
        pending.attempts++;
        const replica = this.#next++ % this.#options.replicas;
        this.#encode(id, keys, bytes, replica).then(
          // A send that fails (a broker restarting, a lost connection) is one failed attempt: the next attempt
          // sends again, with the same id, which the engine executes once.
          (record) => this.#producer.send([record]).catch((error: Error) => void (lastSendError = error)),
          // A proposal that cannot be encoded (an unknown schema, say) will not encode at the next attempt either.
          (error: Error) => pending.reject(error),
        );
        timer = setTimeout(attempt, this.#options.attemptTimeoutMs);
      };
      attempt();
    });
  }

  async #encode(id: string, keys: string[], payload: Buffer, partition: number) {
    const topic = this.#options.topics.proposals;
    const serdes = this.#options.serdes.topic(topic);
    const value = { id, clientId: this.clientId, keys, payload, timestamp: Date.now() };
    return {
      topic,
      partition,
      key: await serdes.key.serialize(topic, id),
      value: await serdes.value.serialize(topic, value),
    };
  }

  async close(): Promise<void> {
    for (const p of this.#pending.values()) p.reject(new Error(`client ${this.clientId} closed`));
    for (const member of this.#members) await member.stop();
    await this.#producer.close();
  }
}
