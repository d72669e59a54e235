/**
 * Decoding `__consumer_offsets`, the log of every offset commit: what Burrow reads to get each commit with its
 * time (the admin API's OffsetFetch returns only the latest offset, no time, so a consumer re-committing the same
 * offset — STALL — would look exactly like one that stopped — STOP).
 *
 * Record formats (Kafka's group-coordinator OffsetCommitKey.json / OffsetCommitValue.json):
 *   key   int16 version; versions 0 and 1 are offset commits: group string, topic string, partition int32
 *         (2 is group metadata, 3 and up are the new consumer-group protocol's records: not commits)
 *   value int16 version, then offset int64, then
 *         v0: metadata string, commit_timestamp int64
 *         v1: metadata string, commit_timestamp int64, expire_timestamp int64
 *         v2: metadata string, commit_timestamp int64
 *         v3: leader_epoch int32, metadata string, commit_timestamp int64
 *         v4 (flexible; what Kafka 4.1 writes): leader_epoch int32, metadata compact string, commit_timestamp
 *            int64, then tagged fields (skipped)
 *   A null value is a tombstone: the offset was deleted (group expired or offsets deleted).
 * "string" is an int16 length + UTF-8; "compact string" an unsigned varint of length + 1.
 */

export interface OffsetCommitKey {
  group: string;
  topic: string;
  partition: number;
}

export interface OffsetCommit extends OffsetCommitKey {
  offset: number;
  /** Broker time (ms) the commit was written. */
  timestamp: number;
}

class Reader {
  #at = 0;
  constructor(private readonly buffer: Buffer) {}

  #need(bytes: number): void {
    if (this.#at + bytes > this.buffer.length) {
      throw new Error(
        `__consumer_offsets record truncated: need ${bytes} bytes at ${this.#at} of ${this.buffer.length}`,
      );
    }
  }

  int16(): number {
    this.#need(2);
    const value = this.buffer.readInt16BE(this.#at);
    this.#at += 2;
    return value;
  }

  int32(): number {
    this.#need(4);
    const value = this.buffer.readInt32BE(this.#at);
    this.#at += 4;
    return value;
  }

  int64(): number {
    this.#need(8);
    const value = this.buffer.readBigInt64BE(this.#at);
    this.#at += 8;
    return Number(value);
  }

  string(): string {
    const length = this.int16();
    if (length < 0) return '';
    return this.#utf8(length);
  }

  compactString(): string {
    const length = this.#uvarint() - 1;
    if (length < 0) return '';
    return this.#utf8(length);
  }

  #utf8(length: number): string {
    this.#need(length);
    const value = this.buffer.toString('utf8', this.#at, this.#at + length);
    this.#at += length;
    return value;
  }

  #uvarint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      this.#need(1);
      const byte = this.buffer[this.#at++]!;
      value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value >>> 0;
    }
    throw new Error('__consumer_offsets record: varint longer than 5 bytes');
  }
}

/** The commit's key, or undefined when the record is not an offset commit (group metadata, KIP-848 records). */
export function decodeOffsetKey(key: Buffer): OffsetCommitKey | undefined {
  const reader = new Reader(key);
  const version = reader.int16();
  if (version !== 0 && version !== 1) return undefined;
  return { group: reader.string(), topic: reader.string(), partition: reader.int32() };
}

/** The committed offset and commit time; undefined for a tombstone. Unknown versions are an error. */
export function decodeOffsetValue(value: Buffer | null): { offset: number; timestamp: number } | undefined {
  if (value === null) return undefined;
  const reader = new Reader(value);
  const version = reader.int16();
  const offset = reader.int64();
  switch (version) {
    case 0:
    case 1:
    case 2:
      reader.string();
      return { offset, timestamp: reader.int64() };
    case 3:
      reader.int32();
      reader.string();
      return { offset, timestamp: reader.int64() };
    case 4:
      reader.int32();
      reader.compactString();
      return { offset, timestamp: reader.int64() };
    default:
      throw new Error(`__consumer_offsets: unknown offset commit value version ${version}`);
  }
}

export function decodeOffsetCommit(key: Buffer | null, value: Buffer | null): OffsetCommit | undefined {
  if (!key) return undefined;
  const commitKey = decodeOffsetKey(key);
  if (!commitKey) return undefined;
  const commit = decodeOffsetValue(value);
  return commit && { ...commitKey, ...commit };
}

/** Java's String.hashCode over UTF-16 code units, as a signed 32-bit integer. */
export function javaStringHash(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return hash;
}

/** The `__consumer_offsets` partition of a group's commits: Utils.abs(groupId.hashCode()) % partitions. */
export function offsetsPartitionFor(group: string, partitions: number): number {
  const hash = javaStringHash(group);
  // Kafka's Utils.abs maps Integer.MIN_VALUE (whose Math.abs overflows) to 0.
  return (hash === -0x80000000 ? 0 : Math.abs(hash)) % partitions;
}
