/**
 * The Kafka side of the benchmarks: the broker address, a reachability check with a clear message, run-unique
 * topics (deleted at the end, since the broker is shared), and input production. Client settings that the
 * raw baselines share with topology/backend/kafka.ts are here, so a baseline differs from the engine only in
 * what the comparison is about.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';

export const defaultBrokers = '127.0.0.1:19092';

export function brokerList(): string[] {
  return (process.env.PARLEY_KAFKA_BROKERS || defaultBrokers).split(',').map((b) => b.trim());
}

/** A short random id: every topic, group and transactional id of one run carries it. */
export function runId(): string {
  return randomBytes(4).toString('hex');
}

/**
 * What topology/backend/kafka.ts gives its consumers and producers (fetch wait, heartbeat, session; idempotent
 * producers with one request in flight, retried after 20 ms rather than kafkajs's 300 ms). The raw loops use
 * the same, so a transactional baseline is not slowed by kafkajs's default retry delay on
 * CONCURRENT_TRANSACTIONS while the engine is not.
 */
export const consumerParity = { maxWaitTimeInMs: 500, heartbeatInterval: 1000, sessionTimeout: 30_000 };
export const producerParity = {
  idempotent: true,
  maxInFlightRequests: 1,
  retry: { retries: 30, initialRetryTime: 20, maxRetryTime: 1000, multiplier: 2, factor: 0.2 },
};

export function kafkaClient(clientId: string): Kafka {
  return new Kafka({ clientId, brokers: brokerList(), logLevel: logLevel.NOTHING });
}

/** Connects an admin client, failing within seconds and saying where it looked if no broker answers. */
export async function connectAdmin(clientId: string): Promise<{ kafka: Kafka; admin: Admin }> {
  const brokers = brokerList();
  const probe = new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries: 1 },
  });
  const admin = probe.admin();
  try {
    await admin.connect();
    await admin.listTopics();
  } catch (error) {
    await admin.disconnect().catch(() => undefined);
    throw new Error(
      `Kafka broker at ${brokers.join(',')} is unreachable (${(error as Error).message}). Set PARLEY_KAFKA_BROKERS ` +
        `(default ${defaultBrokers}), e.g. \`source /work/devstack/stack.env\`, or start a stack with \`npm run stack:up\`.`,
    );
  }
  return { kafka: kafkaClient(clientId), admin };
}

export async function createTopics(admin: Admin, names: string[], partitions: number): Promise<void> {
  await admin.createTopics({
    waitForLeaders: true,
    topics: names.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
  });
}

/** Deletes what this run created (its names carry the run id); the broker is shared with other work. */
export async function deleteRunTopics(admin: Admin, id: string): Promise<number> {
  const mine = (await admin.listTopics()).filter((t) => t.includes(id));
  if (mine.length > 0) await admin.deleteTopics({ topics: mine, timeout: 30_000 }).catch(() => undefined);
  const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.includes(id));
  if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
  return mine.length;
}

export async function plainProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer(producerParity);
  await producer.connect();
  return producer;
}

/** Produces `count` records made by `make(i)` in batches of `batch`, reporting progress every 10 batches. */
export async function produceInput(
  producer: Producer,
  topic: string,
  count: number,
  make: (i: number) => { key: string; value: string },
  onProgress: (done: number) => void,
  batch = 2000,
): Promise<void> {
  for (let from = 0, n = 0; from < count; from += batch, n++) {
    const messages = [];
    for (let i = from; i < Math.min(count, from + batch); i++) messages.push(make(i));
    await producer.send({ topic, acks: -1, messages });
    if (n % 10 === 9) onProgress(Math.min(count, from + batch));
  }
  onProgress(count);
}

/** Rejects after `ms` with `what` in the message; every wait of the benchmarks is bounded by one. */
export function deadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
