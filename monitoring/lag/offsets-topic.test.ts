/**
 * `__consumer_offsets` records, built byte by byte after Kafka's OffsetCommitKey/OffsetCommitValue schemas. The
 * v4 value is the exact bytes a Kafka 4.1.1 broker wrote for a commit of offset 5 (seen on the dev stack);
 * integration/tests/lag-monitor.test.ts reads real ones end to end.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeOffsetCommit,
  decodeOffsetKey,
  decodeOffsetValue,
  javaStringHash,
  offsetsPartitionFor,
} from './offsets-topic.ts';

const i16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const i64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
};
const str = (s: string) => Buffer.concat([i16(Buffer.byteLength(s)), Buffer.from(s)]);
const compact = (s: string) => Buffer.concat([Buffer.from([Buffer.byteLength(s) + 1]), Buffer.from(s)]);

const key = (version: number) => Buffer.concat([i16(version), str('orders'), str('payments'), i32(7)]);

describe('offset commit keys', () => {
  it('versions 0 and 1 are commits: group, topic, partition', () => {
    for (const version of [0, 1]) {
      assert.deepEqual(decodeOffsetKey(key(version)), { group: 'orders', topic: 'payments', partition: 7 });
    }
  });

  it('group metadata (2) and the new protocol’s records (3+) are not commits', () => {
    assert.equal(decodeOffsetKey(Buffer.concat([i16(2), str('orders')])), undefined);
    assert.equal(decodeOffsetKey(Buffer.concat([i16(3), str('orders')])), undefined);
  });

  it('a truncated key is an error naming the problem', () => {
    assert.throws(() => decodeOffsetKey(Buffer.concat([i16(1), str('orders'), i16(8)])), /truncated/);
  });
});

describe('offset commit values', () => {
  const at = 1_700_000_000_123;
  it('v0, v1 and v2: offset, metadata, commit timestamp (v1 adds an expire timestamp)', () => {
    const v0 = Buffer.concat([i16(0), i64(42), str('meta'), i64(at)]);
    const v1 = Buffer.concat([i16(1), i64(42), str(''), i64(at), i64(at + 1000)]);
    const v2 = Buffer.concat([i16(2), i64(42), str('m'), i64(at)]);
    for (const value of [v0, v1, v2]) assert.deepEqual(decodeOffsetValue(value), { offset: 42, timestamp: at });
  });

  it('v3: with the leader epoch', () => {
    const v3 = Buffer.concat([i16(3), i64(42), i32(-1), str('x'), i64(at)]);
    assert.deepEqual(decodeOffsetValue(v3), { offset: 42, timestamp: at });
  });

  it('v4 (flexible): compact metadata string and tagged fields, as Kafka 4.1 writes it', () => {
    const real = Buffer.from('00040000000000000005ffffffff01000001a2138aaab200', 'hex');
    assert.deepEqual(decodeOffsetValue(real), { offset: 5, timestamp: 0x1a2138aaab2 });
    const withMetadata = Buffer.concat([i16(4), i64(9), i32(3), compact('hello'), i64(at), Buffer.from([0])]);
    assert.deepEqual(decodeOffsetValue(withMetadata), { offset: 9, timestamp: at });
  });

  it('a tombstone is no commit; an unknown version is an error', () => {
    assert.equal(decodeOffsetValue(null), undefined);
    assert.throws(() => decodeOffsetValue(Buffer.concat([i16(9), i64(1)])), /unknown offset commit value version 9/);
  });

  it('decodeOffsetCommit joins key and value, and skips what is not a commit', () => {
    const value = Buffer.concat([i16(3), i64(42), i32(0), str(''), i64(at)]);
    assert.deepEqual(decodeOffsetCommit(key(1), value), {
      group: 'orders',
      topic: 'payments',
      partition: 7,
      offset: 42,
      timestamp: at,
    });
    assert.equal(decodeOffsetCommit(key(1), null), undefined);
    assert.equal(decodeOffsetCommit(null, value), undefined);
    assert.equal(decodeOffsetCommit(Buffer.concat([i16(2), str('g')]), Buffer.alloc(0)), undefined);
  });
});

describe('the coordinator partition of a group', () => {
  it('uses Java’s String.hashCode', () => {
    assert.equal(javaStringHash(''), 0);
    assert.equal(javaStringHash('hello'), 99162322);
    assert.equal(javaStringHash('polygenelubricants'), -0x80000000); // the famous Integer.MIN_VALUE hash
    assert.equal(javaStringHash('é'), 0xe9, 'UTF-16 code units, not UTF-8 bytes');
  });

  it('is Utils.abs(hash) % partitions, with MIN_VALUE mapped to 0', () => {
    assert.equal(offsetsPartitionFor('hello', 50), 99162322 % 50);
    assert.equal(offsetsPartitionFor('polygenelubricants', 50), 0);
    const negative = 'a'.repeat(7); // hashes negative
    assert.ok(javaStringHash(negative) < 0);
    assert.equal(offsetsPartitionFor(negative, 50), Math.abs(javaStringHash(negative)) % 50);
  });
});
