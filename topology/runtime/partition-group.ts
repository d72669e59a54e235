/**
 * A task's buffered input across its source partitions, after Kafka Streams' PartitionGroup: the next record
 * is the one with the smallest timestamp among the partitions' heads (ties: the earlier topic in the
 * sub-topology's order), so a task that joins a stream with a table sees them in event-time order on every
 * backend. While a partition is empty but known to hold more data, the task waits rather than guess (as Kafka
 * Streams does with max.task.idle.ms=0, KIP-695); maxTaskIdleMs only caps that wait, for a partition stuck
 * behind a transaction that never ends.
 */
import type { BackendRecord } from '../backend/types.ts';

interface PartitionQueue {
  topic: string;
  records: BackendRecord[];
  /** Index of the next unconsumed record in `records` (a head pointer: no array shifting per record). */
  head: number;
  /** Offset after the last record buffered: where the fetch stands. */
  fetched: number;
  /** Latest known end (high watermark) of the partition. */
  knownEnd: number;
}

export class PartitionGroup {
  readonly #queues: PartitionQueue[];

  constructor(topics: string[], startOffsets: number[], knownEnds: number[]) {
    this.#queues = topics.map((topic, i) => ({
      topic,
      records: [],
      head: 0,
      fetched: startOffsets[i] ?? 0,
      knownEnd: knownEnds[i] ?? 0,
    }));
  }

  /** `nextOffset`: the fetch position after the batch, markers included (RecordBatch.nextOffset). */
  add(topic: string, records: BackendRecord[], highWatermark: number, nextOffset: number): void {
    const queue = this.#queue(topic);
    if (queue.head > 1024 && queue.head * 2 > queue.records.length) {
      queue.records = queue.records.slice(queue.head);
      queue.head = 0;
    }
    // A backend may hand over records again (a fetch that raced a seek); an offset below the fetch position was
    // buffered already, and processing it twice would duplicate its outputs.
    const fresh =
      records.length > 0 && records[0]!.offset < queue.fetched
        ? records.filter((r) => r.offset >= queue.fetched)
        : records;
    queue.records.push(...fresh);
    const last = records[records.length - 1];
    this.advance(topic, Math.max(nextOffset, last === undefined ? 0 : last.offset + 1), highWatermark);
  }

  /** The fetch position moved (possibly over markers only, with nothing to buffer). */
  advance(topic: string, nextOffset: number, highWatermark: number): void {
    const queue = this.#queue(topic);
    queue.fetched = Math.max(queue.fetched, nextOffset);
    queue.knownEnd = Math.max(queue.knownEnd, highWatermark);
  }

  buffered(topic?: string): number {
    const queues = topic ? [this.#queue(topic)] : this.#queues;
    return queues.reduce((n, q) => n + q.records.length - q.head, 0);
  }

  /** True when some partition is empty while more of it exists: picking now could break event-time order. */
  waitingForData(): boolean {
    return this.#queues.some((q) => q.head === q.records.length && q.fetched < q.knownEnd);
  }

  /** Removes and returns the next record by timestamp, or undefined when nothing is buffered. */
  poll(): BackendRecord | undefined {
    let best: PartitionQueue | undefined;
    for (const queue of this.#queues) {
      const head = queue.records[queue.head];
      if (head && (!best || head.timestamp < best.records[best.head]!.timestamp)) best = queue;
    }
    if (!best) return undefined;
    return best.records[best.head++];
  }

  /** Per source topic: buffered records, fetch position and known end (for status output and debugging). */
  describe(): { topic: string; buffered: number; fetched: number; knownEnd: number }[] {
    return this.#queues.map((q) => ({
      topic: q.topic,
      buffered: q.records.length - q.head,
      fetched: q.fetched,
      knownEnd: q.knownEnd,
    }));
  }

  /** Drops everything buffered (the task is closing; the records will be fetched again by the next owner). */
  clear(): void {
    for (const queue of this.#queues) {
      queue.records = [];
      queue.head = 0;
    }
  }

  #queue(topic: string): PartitionQueue {
    const queue = this.#queues.find((q) => q.topic === topic);
    if (!queue) throw new Error(`partition group has no source topic ${topic}`);
    return queue;
  }
}
