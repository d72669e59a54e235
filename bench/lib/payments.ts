/**
 * The throughput benchmark's topology: payments (string key = account, string value = JSON of ~100 bytes) →
 * parse (JSON.parse, enrich) → aggregate (running count and total per account in a RocksDB store with a
 * changelog) → format (a filter that keeps every record, then a one-line string) → sink.
 */
import { schemasDir } from '../../schemas/index.ts';
import type { KeyValueStore } from '../../state/types.ts';
import { TopologyBuilder } from '../../topology/builder.ts';
import type { Engine } from '../../topology/engine.ts';
import type { ProcessingGuarantee } from '../../topology/model.ts';
import type { Processor, ProcessorContext, StreamRecord } from '../../topology/processor.ts';
import { ProcessorRegistry } from '../../topology/registry.ts';

interface Payment {
  id: string;
  account: string;
  amount: number;
  currency: string;
}
interface Enriched extends Payment {
  cents: number;
  large: boolean;
}
interface Totals {
  count: number;
  cents: number;
  large: number;
}
interface Status extends Totals {
  account: string;
  last: string;
}

class Parse implements Processor<string, string, string, Enriched> {
  #context!: ProcessorContext<string, Enriched>;
  init(context: ProcessorContext<string, Enriched>): void {
    this.#context = context;
  }
  process(record: StreamRecord<string, string>): void {
    const payment = JSON.parse(record.value) as Payment;
    const value = { ...payment, cents: Math.round(payment.amount * 100), large: payment.amount >= 50 };
    this.#context.forward({ ...record, value });
  }
}

class Aggregate implements Processor<string, Enriched, string, Status> {
  #context!: ProcessorContext<string, Status>;
  #totals!: KeyValueStore<string, Totals>;
  init(context: ProcessorContext<string, Status>): void {
    this.#context = context;
    this.#totals = context.getStateStore('totals');
  }
  async process(record: StreamRecord<string, Enriched>): Promise<void> {
    const previous = (await this.#totals.get(record.key)) ?? { count: 0, cents: 0, large: 0 };
    const next = {
      count: previous.count + 1,
      cents: previous.cents + record.value.cents,
      large: previous.large + (record.value.large ? 1 : 0),
    };
    this.#totals.put(record.key, next);
    this.#context.forward({ ...record, value: { account: record.key, last: record.value.id, ...next } });
  }
}

class Format implements Processor<string, Status, string, string> {
  #context!: ProcessorContext<string, string>;
  init(context: ProcessorContext<string, string>): void {
    this.#context = context;
  }
  process(record: StreamRecord<string, Status>): void {
    const s = record.value;
    // The filter keeps every record (counts start at 1), so the output holds as many records as the input.
    if (s.count < 1) return;
    const line = `${s.account} n=${s.count} total=${(s.cents / 100).toFixed(2)} large=${s.large} last=${s.last}`;
    this.#context.forward({ ...record, value: line });
  }
}

const registry = new ProcessorRegistry()
  .register('bench-parse', () => new Parse())
  .register('bench-aggregate', () => new Aggregate())
  .register('bench-format', () => new Format());

export const processorNodes = ['parse', 'aggregate', 'format'];

export function paymentsEngine(
  application: string,
  topics: { input: string; output: string; partitions: number },
  guarantee: ProcessingGuarantee,
): Engine {
  const { input, output, partitions } = topics;
  const topology = new TopologyBuilder(application)
    .guarantee(guarantee)
    .topic({ name: input, partitions, key: 'string', value: 'string' })
    .topic({ name: output, partitions, key: 'string', value: 'string' })
    .store({ name: 'totals', key: 'string', value: 'json' })
    .source('payments', [input])
    .processor('parse', { processor: 'bench-parse', parents: ['payments'] })
    .processor('aggregate', { processor: 'bench-aggregate', parents: ['parse'], stores: ['totals'] })
    .processor('format', { processor: 'bench-format', parents: ['aggregate'] })
    .sink('statuses', { topic: output, parents: ['format'] })
    .build({ registry });
  return { file: 'bench/topology-throughput.ts', topology, registry, schemasDir };
}

/** Input record `i`: `keys` accounts in turn, a JSON value padded to about `valueBytes`. */
export function paymentRecord(i: number, keyCount: number, valueBytes: number): { key: string; value: string } {
  const account = `acct-${String(i % keyCount).padStart(5, '0')}`;
  const amount = ((i * 7919) % 10_000) / 100;
  const base = { id: `p-${String(i).padStart(8, '0')}`, account, amount, currency: 'EUR', note: '' };
  const note = 'x'.repeat(Math.max(0, valueBytes - JSON.stringify(base).length));
  return { key: account, value: JSON.stringify({ ...base, note }) };
}
