/**
 * Baseline (a) of the consensus benchmark: a decision as an etcd transaction. Per decision, read every key
 * (linearizable gets, in parallel), then one transaction that compares each key's mod revision with what was
 * read (0 for a key not written yet) and puts the decision's value under every key; a failed compare (another
 * client wrote one of the keys in between) reads again and retries. One etcd3 client for all C clients, on all
 * of the cluster's members, like the guardrail's.
 */
import { Etcd3 } from 'etcd3';

export interface EtcdCas {
  /** Resolves with the number of failed compares before the transaction went through. */
  decide(keys: string[], value: string): Promise<number>;
  /** Deletes every key under the prefix (this run's). */
  cleanup(): Promise<void>;
  /** Deletes every key under another prefix of this run (the guardrail cluster of its replicas). */
  deletePrefix(prefix: string): Promise<void>;
  /** A read with a short deadline: throws when no member answers. */
  ping(): Promise<void>;
  close(): void;
}

export function etcdCas(endpoints: string[], prefix: string): EtcdCas {
  const client = new Etcd3({
    hosts: endpoints,
    dialTimeout: 3000,
    // Every unary call has a deadline, so a stuck member fails the decision instead of hanging the run.
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + 10_000 }),
  });
  return {
    async decide(keys, value) {
      const names = keys.map((k) => `${prefix}${k}`);
      for (let failed = 0; ; failed++) {
        const reads = await Promise.all(names.map((name) => client.get(name).exec()));
        const revisions = reads.map((r) => r.kvs[0]?.mod_revision ?? '0');
        let txn = client.if(names[0]!, 'Mod', '==', revisions[0]!);
        for (let i = 1; i < names.length; i++) txn = txn.and(names[i]!, 'Mod', '==', revisions[i]!);
        const res = await txn.then(...names.map((name) => client.put(name).value(value))).commit();
        if (res.succeeded) return failed;
        if (failed >= 100_000) throw new Error(`etcd: ${names.join(',')} still contended after ${failed} compares`);
      }
    },
    async cleanup() {
      await client.delete().prefix(prefix).exec();
    },
    async deletePrefix(other) {
      await client.delete().prefix(other).exec();
    },
    async ping() {
      await client
        .get(`${prefix}ping`)
        .options({ deadline: Date.now() + 5000 })
        .exec();
    },
    close: () => client.close(),
  };
}
