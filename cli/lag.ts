/**
 * `parley lag [--group g]... [--watch] [--json] [--interval s] [--window n]`: consumer-group lag per partition
 * on the Kafka cluster named by PARLEY_KAFKA_BROKERS: committed offset, end offset, lag in messages and in
 * seconds, and the Burrow status of each partition and group (monitoring/lag/).
 *
 * A one-shot run first reads the commit history still in `__consumer_offsets`, so statuses are judged on real
 * windows; lag in seconds, though, needs end offsets sampled over time, so one-shot seconds are lower bounds
 * and `--watch` refines them with every poll.
 */
import { Command, InvalidArgumentError } from 'commander';
import { formatLagTable } from '../monitoring/lag/table.ts';
import type { LagSnapshot } from '../monitoring/index.ts';

export interface LagOptions {
  group: string[];
  watch?: boolean;
  json?: boolean;
  interval: number;
  window: number;
}

function positive(name: string, integer: boolean) {
  return (text: string): number => {
    const value = Number(text);
    if (!(value > 0) || (integer && !Number.isInteger(value))) {
      throw new InvalidArgumentError(`${name} must be a positive ${integer ? 'integer' : 'number'}`);
    }
    return value;
  };
}

/** What one poll prints: the table (with a time header when watching), or one JSON document / line. */
export function renderLag(snapshot: LagSnapshot, options: Pick<LagOptions, 'json' | 'watch' | 'window'>): string {
  if (options.json) return options.watch ? `${JSON.stringify(snapshot)}\n` : `${JSON.stringify(snapshot, null, 2)}\n`;
  const table = formatLagTable(snapshot, { windowSize: options.window });
  return options.watch ? `${new Date(snapshot.at).toISOString()}\n\n${table}\n` : table;
}

async function runLag(options: LagOptions): Promise<void> {
  const brokers = process.env['PARLEY_KAFKA_BROKERS'];
  if (!brokers) throw new Error('PARLEY_KAFKA_BROKERS is not set (`npm run stack:up` prints it)');
  // Loaded here, not at the top: every other parley command would pay for kafkajs at startup.
  const { Kafka, logLevel } = await import('kafkajs');
  const { startLagMonitor } = await import('../monitoring/index.ts');
  // A broker that does not answer fails in about 3 s (not kafkajs's default of 5 retries over 10 s), named.
  const kafka = new Kafka({
    clientId: 'parley-lag',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  const unreachable = (error: unknown): Error => {
    const e = error as Error & { name?: string };
    const connection = /Connection|ECONNREFUSED|ENOTFOUND|ETIMEDOUT|NumberOfRetriesExceeded/.test(
      `${e.name} ${e.message}`,
    );
    return connection
      ? new Error(`cannot reach Kafka at ${brokers} (PARLEY_KAFKA_BROKERS): ${e.message}`, { cause: error })
      : e;
  };
  let running: Awaited<ReturnType<typeof startLagMonitor>>;
  try {
    running = await startLagMonitor({
      kafka,
      windowSize: options.window,
      ...(options.group.length > 0 ? { groups: options.group } : {}),
      onError: (error) => process.stderr.write(`parley lag: ${unreachable(error).message}\n`),
    });
  } catch (error) {
    throw unreachable(error);
  }
  let stopping = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    stopping = true;
    wake?.();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    do {
      const snapshot = await running.poll().catch((error: unknown) => {
        throw unreachable(error);
      });
      // On a terminal, redraw in place; in a pipe, append (a log of polls).
      if (options.watch && !options.json && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
      process.stdout.write(renderLag(snapshot, options));
      if (options.watch && !stopping) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, options.interval * 1000).unref();
        });
      }
    } while (options.watch && !stopping);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await running.stop();
  }
}

export function lagCommand(): Command {
  return new Command('lag')
    .description('consumer-group lag per partition (messages, seconds) with Burrow statuses (PARLEY_KAFKA_BROKERS)')
    .option(
      '--group <group>',
      'a consumer group to show; repeat for more (default: every consumer group)',
      (g: string, all: string[]) => [...all, g],
      [] as string[],
    )
    .option('--watch', 'poll again every --interval seconds until interrupted')
    .option('--json', 'print the snapshot as JSON (with --watch: one JSON line per poll)')
    .option('--interval <seconds>', 'seconds between polls with --watch', positive('--interval', false), 5)
    .option('--window <commits>', 'commits per partition window (Burrow’s intervals)', positive('--window', true), 10)
    .action((options: LagOptions) => runLag(options));
}
