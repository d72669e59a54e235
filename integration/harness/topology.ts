/**
 * Test helpers for running topologies on the shared broker: run-unique topic names, and reading a topic to a
 * target count with read_committed.
 */
import type { Kafka } from 'kafkajs';
import type { Engine } from '../../topology/engine.ts';
import { buildTopology } from '../../topology/validate.ts';
import type { TopologySpec } from '../../topology/model.ts';
import { uniqueName } from './index.ts';

/** Renames the application and every user topic with `suffix`, so runs on one broker never share data. */
export function withSuffix(engine: Engine, suffix: string): Engine {
  const rename = (topic: string): string => `${topic}-${suffix}`;
  const spec: TopologySpec = {
    ...engine.topology.spec,
    application: `${engine.topology.spec.application}-${suffix}`,
    deadLetterTopic: rename(engine.topology.spec.deadLetterTopic),
    topics: engine.topology.spec.topics.map((t) => ({ ...t, name: rename(t.name) })),
    nodes: engine.topology.spec.nodes.map((n) =>
      n.kind === 'source'
        ? { ...n, topics: n.topics.map(rename) }
        : n.kind === 'sink'
          ? { ...n, topic: rename(n.topic) }
          : n,
    ),
  };
  return { ...engine, topology: buildTopology(spec, { registry: engine.registry }) };
}

/**
 * Collects a topic's committed records from the beginning (read_committed) in the background. `until(n)`
 * resolves when at least n arrived; `stop()` ends the reader. Each record (partition, offset) is kept once: a
 * reader whose consumer crashed and restarted (a broker restart) is sent again what it had not committed.
 */
export async function committedReader(kafka: Kafka, topic: string) {
  const consumer = kafka.consumer({ groupId: uniqueName('reader'), readUncommitted: false });
  const records: { key: string; value: Buffer; partition: number; offset: number }[] = [];
  const seen = new Set<string>();
  const waiters: { n: number; resolve: () => void }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      const at = `${partition}:${message.offset}`;
      if (seen.has(at)) return;
      seen.add(at);
      records.push({ key: message.key!.toString(), value: message.value!, partition, offset: Number(message.offset) });
      for (const w of waiters.filter((w) => records.length >= w.n)) w.resolve();
    },
  });
  return {
    records,
    until: (n: number, timeoutMs = 120_000) =>
      new Promise<void>((resolve, reject) => {
        if (records.length >= n) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`${topic}: ${records.length} of ${n} records after ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      }),
    stop: () => consumer.disconnect(),
  };
}
