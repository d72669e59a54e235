/**
 * `parley propose --keys a,b [--payload text] [--id id]`: proposes one decision through the running consensus
 * topology on the real stack (PARLEY_KAFKA_BROKERS, PARLEY_SCHEMA_REGISTRY_URL) and prints where it was ordered.
 */
import { Command } from 'commander';
import { ParleyClient } from '../processors/client/client.ts';
import { consensusTopologyFile } from '../processors/index.ts';
import { ConfluentRegistryClient } from '../schemas/index.ts';
import { createKafkaBackend } from '../topology/backend/kafka.ts';
import { loadEngine, serdeFactory } from '../topology/engine.ts';
import { topicSerdes } from '../topology/runtime/serdes.ts';

interface ProposeOptions {
  keys: string;
  payload: string;
  id?: string;
  timeoutMs: string;
  config?: string;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (\`npm run stack:up\` prints it)`);
  return value;
}

export function proposeCommand(): Command {
  return (
    new Command('propose')
      .description('propose a decision and wait until it is ordered')
      .requiredOption('--keys <keys>', 'comma-separated conflict keys')
      .option('--payload <text>', 'the decision payload (JSON or text)', '{}')
      .option('--id <id>', 'proposal id (a retry with the same id is applied once)')
      .option('--timeout-ms <ms>', 'per-attempt timeout', '10000')
      // The default is resolved at run time: a default value would print this checkout's absolute path in --help.
      .option('--config <file>', 'the consensus topology (default: the one Parley ships, processors/consensus.yaml)')
      .action(async (options: ProposeOptions) => {
        const engine = await loadEngine(options.config ?? consensusTopologyFile);
        const registry = new ConfluentRegistryClient({ url: required('PARLEY_SCHEMA_REGISTRY_URL') });
        const backend = await createKafkaBackend({
          brokers: required('PARLEY_KAFKA_BROKERS').split(','),
          clientId: 'parley-propose',
        });
        const replicas = engine.topology.spec.topics.find((t) => t.name === 'proposals')?.partitions ?? 3;
        const client = await ParleyClient.connect({
          backend,
          serdes: topicSerdes(engine.topology, serdeFactory(engine.schemasDir, registry)),
          replicas,
          attemptTimeoutMs: Number(options.timeoutMs),
        });
        try {
          const keys = options.keys
            .split(',')
            .map((k) => k.trim())
            .filter(Boolean);
          const decided = await client.propose(keys, options.payload, options.id ? { id: options.id } : {});
          console.log(JSON.stringify(decided, null, 2));
        } finally {
          await client.close();
          await backend.close();
        }
      })
  );
}
