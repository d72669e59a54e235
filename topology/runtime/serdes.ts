/**
 * Serdes per topic and per store, built once from the topology's formats by a factory (schemas/ provides the
 * real one; the factory is injected so the runtime does not depend on how Avro reaches its registry).
 */
import type { Serde } from '../../schemas/serde.ts';
import type { Format, Topology } from '../model.ts';

export type SerdeFactory = (format: Format, options: { isKey: boolean }) => Serde<unknown>;

export interface KeyValueSerdes {
  key: Serde<unknown>;
  value: Serde<unknown>;
}

export interface TopicSerdes {
  topic(name: string): KeyValueSerdes;
  store(name: string): KeyValueSerdes;
}

export function topicSerdes(topology: Topology, factory: SerdeFactory): TopicSerdes {
  const make = (what: string, spec: { key: Format; value: Format } | undefined, name: string): KeyValueSerdes => {
    if (!spec) throw new Error(`no ${what} named ${name} in topology ${topology.spec.application}`);
    return { key: factory(spec.key, { isKey: true }), value: factory(spec.value, { isKey: false }) };
  };
  const topics = new Map<string, KeyValueSerdes>();
  const stores = new Map<string, KeyValueSerdes>();
  return {
    topic(name) {
      let serdes = topics.get(name);
      if (!serdes) {
        serdes = make(
          'topic',
          topology.spec.topics.find((t) => t.name === name),
          name,
        );
        topics.set(name, serdes);
      }
      return serdes;
    },
    store(name) {
      let serdes = stores.get(name);
      if (!serdes) {
        serdes = make(
          'store',
          topology.spec.stores.find((s) => s.name === name),
          name,
        );
        stores.set(name, serdes);
      }
      return serdes;
    },
  };
}
