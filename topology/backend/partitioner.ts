/**
 * The default partitioner both backends share, so a keyed record lands in the same partition on `memory` as on
 * `kafka` (and as with Kafka's Java client): murmur2 of the key bytes, made positive with `& 0x7fffffff`, modulo
 * the partition count. This is Kafka's `Utils.murmur2` / `Utils.toPositive` and kafkajs's DefaultPartitioner
 * (src/producer/partitioners/default/murmur2.js, legacy/partitioner.js); integration/tests/kafka-backend.test.ts
 * checks it against kafkajs for many keys.
 *
 * Keyless records: kafkajs starts its round-robin at a random partition and Java's client is "sticky", neither of
 * which a deterministic simulation can reproduce. Here a keyless record goes to `nullKeySequence % partitions`; a
 * producer passes a per-topic counter to spread keyless records round-robin, or nothing to send them to 0.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 (32-bit), over the bytes of `data`. Math.imul keeps Java's int overflow semantics. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // Java's switch falls through: 3 trailing bytes mix all three, then multiply once.
  const tail = length & 3;
  if (tail >= 3) h ^= data[whole + 2]! << 16;
  if (tail >= 2) h ^= data[whole + 1]! << 8;
  if (tail >= 1) {
    h ^= data[whole]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not Math.abs, which differs for negative values). */
export function toPositive(value: number): number {
  return value & 0x7fffffff;
}

/** The partition Kafka's default partitioner picks for `key` among `partitions` partitions. */
export function defaultPartition(key: Buffer | null, partitions: number, nullKeySequence = 0): number {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new RangeError(`defaultPartition: partitions must be a positive integer, got ${partitions}`);
  }
  if (key === null) return toPositive(nullKeySequence) % partitions;
  return toPositive(murmur2(key)) % partitions;
}
