/**
 * Conversions between the backend's records and kafkajs's messages, and the partitioner kafkajs is given.
 * Offsets, timestamps and high watermarks are strings (int64) in kafkajs; they are numbers here, exact up to
 * 2^53, which no partition of ours reaches.
 */
import type { ICustomPartitioner, IHeaders, KafkaMessage, Message, TopicMessages } from 'kafkajs';
import { defaultPartition } from '../partitioner.ts';
import type { BackendHeaders, BackendRecord, OutgoingRecord, TopicPartition } from '../types.ts';

export const tpKey = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;

/** Kafka allows repeated header keys (kafkajs then gives an array); the record model keeps the last one. */
function toHeaders(headers: IHeaders | undefined): BackendHeaders {
  const result: BackendHeaders = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last === undefined) continue;
    result[name] = Buffer.isBuffer(last) ? last : Buffer.from(last);
  }
  return result;
}

export function toBackendRecord(topic: string, partition: number, message: KafkaMessage): BackendRecord {
  return {
    topic,
    partition,
    offset: Number(message.offset),
    key: message.key ?? null,
    value: message.value ?? null,
    timestamp: Number(message.timestamp),
    headers: toHeaders(message.headers),
  };
}

function toMessage(record: OutgoingRecord): Message {
  const message: Message = { key: record.key, value: record.value };
  if (record.partition !== undefined) message.partition = record.partition;
  if (record.timestamp !== undefined) message.timestamp = String(record.timestamp);
  if (record.headers) message.headers = { ...record.headers };
  return message;
}

/** One entry per topic, records in their original order within a topic (kafkajs keeps that order per partition). */
export function toTopicMessages(records: OutgoingRecord[]): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const record of records) {
    let messages = byTopic.get(record.topic);
    if (!messages) byTopic.set(record.topic, (messages = []));
    messages.push(toMessage(record));
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

/**
 * kafkajs's partitioner hook, replaced so keyed records follow partitioner.ts exactly as the memory backend does,
 * and keyless ones go round-robin from partition 0 per producer and topic (deterministic, unlike kafkajs's
 * random start). kafkajs creates one partitioner per producer.
 */
export const sharedPartitioner: ICustomPartitioner = () => {
  const keyless = new Map<string, number>();
  return ({ topic, partitionMetadata, message }) => {
    if (message.partition !== undefined && message.partition !== null) return message.partition;
    const { key } = message;
    if (key !== undefined && key !== null) {
      return defaultPartition(Buffer.isBuffer(key) ? key : Buffer.from(key), partitionMetadata.length);
    }
    const sequence = keyless.get(topic) ?? 0;
    keyless.set(topic, sequence + 1);
    return defaultPartition(null, partitionMetadata.length, sequence);
  };
};
