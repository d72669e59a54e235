/**
 * What a benchmark window cost the machine, read from /proc (Linux only): the machine's busy CPU time
 * (/proc/stat), the CPU time of given processes (/proc/<pid>/stat, utime + stime), the stack's own processes
 * found by their command lines (the Kafka broker, the etcd members, the schema registry), and the bytes the
 * broker appended to its log segments (the sizes of the `*.log` files under its `log.dirs`).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Jiffies per second (USER_HZ): what /proc counts CPU time in. */
export const clockTicks: number = (() => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

export const ticksToMs = (ticks: number): number => (ticks * 1000) / clockTicks;

/**
 * The machine's busy time in jiffies over all CPUs: user, nice, system, irq and softirq. Idle and iowait are
 * not work; steal is time the hypervisor gave to other guests; guest time is already inside user.
 */
export function machineBusyTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [, user, nice, system, , , irq, softirq] = line.trim().split(/\s+/).map(Number);
  return user! + nice! + system! + irq! + softirq!;
}

/** utime + stime of a process in jiffies (all its threads), or undefined once it is gone. */
export function processTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/** Every process's parent and CPU time (jiffies): its own (utime + stime) and its waited-for children's. */
export interface ProcessTable {
  parent: Map<number, number>;
  own: Map<number, number>;
  waited: Map<number, number>;
}

export function processTable(): ProcessTable {
  const table: ProcessTable = { parent: new Map(), own: new Map(), waited: new Map() };
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pid = Number(name);
      table.parent.set(pid, Number(fields[1]));
      table.own.set(pid, Number(fields[11]) + Number(fields[12]));
      table.waited.set(pid, Number(fields[13]) + Number(fields[14]));
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

/**
 * CPU time of a process and everything it started: its own, its waited-for children's (cutime + cstime), and
 * its live descendants' (tsx's esbuild service, say). Undefined once it is gone.
 */
export function treeTicks(table: ProcessTable, pid: number): number | undefined {
  if (!table.own.has(pid)) return undefined;
  let ticks = table.own.get(pid)! + table.waited.get(pid)!;
  for (const [child, parent] of table.parent) if (parent === pid) ticks += treeTicks(table, child) ?? 0;
  return ticks;
}

/** CPU time of the kernel's threads (kthreadd, pid 2, and its children): I/O completion, journal, writeback. */
export function kernelThreadTicks(table: ProcessTable): number {
  let ticks = table.own.get(2) ?? 0;
  for (const [pid, parent] of table.parent) if (parent === 2) ticks += table.own.get(pid) ?? 0;
  return ticks;
}

function commandLine(pid: string): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

const portOf = (address: string): string | undefined => /:(\d+)(?:\/|$)/.exec(address)?.[1];

export interface StackProcesses {
  kafka?: number;
  registry?: number;
  etcd: number[];
  /** The broker's log.dirs, from the properties file on its command line. */
  kafkaLogDirs?: string[];
  /** Why kafkaLogDirs is missing, when it is. */
  logDirsProblem?: string;
}

/**
 * Finds the stack's processes serving the given endpoints (on this machine): the broker whose properties
 * listen on the Kafka port, the etcd members listening on the client ports, the registry on its HTTP port.
 * `PARLEY_KAFKA_LOG_DIRS` (comma-separated) names the broker's log directories when it runs elsewhere.
 */
export function findStackProcesses(endpoints: {
  kafkaBrokers: string[];
  etcdEndpoints: string[];
  schemaRegistryUrl: string;
}): StackProcesses {
  const kafkaPorts = new Set(endpoints.kafkaBrokers.map(portOf));
  const etcdPorts = new Set(endpoints.etcdEndpoints.map(portOf));
  const registryPort = portOf(new URL(endpoints.schemaRegistryUrl).origin);
  const found: StackProcesses = { etcd: [] };
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    const args = commandLine(pid);
    if (!args || args.length === 0) continue;
    const main = args.indexOf('kafka.Kafka');
    if (main >= 0 && args[main + 1]) {
      try {
        const properties = readFileSync(args[main + 1]!, 'utf8');
        const listeners = /^listeners=(.*)$/m.exec(properties)?.[1] ?? '';
        if (!listeners.split(',').some((l) => kafkaPorts.has(portOf(l)))) continue;
        found.kafka = Number(pid);
        const dirs = /^log\.dirs?=(.*)$/m.exec(properties)?.[1];
        if (dirs) found.kafkaLogDirs = dirs.split(',').map((d) => d.trim());
        else found.logDirsProblem = `no log.dirs in ${args[main + 1]}`;
      } catch (error) {
        found.logDirsProblem = `cannot read the broker's properties: ${(error as Error).message}`;
      }
      continue;
    }
    if (args.some((a) => a.startsWith('--listen-client-urls=') && etcdPorts.has(portOf(a)))) {
      found.etcd.push(Number(pid));
      continue;
    }
    if (registryPort && args.includes(`-Dquarkus.http.port=${registryPort}`)) found.registry = Number(pid);
  }
  const fromEnv = process.env['PARLEY_KAFKA_LOG_DIRS'];
  if (fromEnv) {
    found.kafkaLogDirs = fromEnv.split(',').map((d) => d.trim());
    delete found.logDirsProblem;
  } else if (found.kafka === undefined) {
    found.logDirsProblem = `no broker process listening on ${[...kafkaPorts].join(',')} found on this machine (set PARLEY_KAFKA_LOG_DIRS)`;
  }
  return found;
}

/** Sizes of the log segments (`*.log`), by path, under each partition directory of the broker's log dirs. */
export function logSegmentSizes(logDirs: string[]): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const root of logDirs) {
    for (const partition of readdirSync(root, { withFileTypes: true })) {
      if (!partition.isDirectory()) continue;
      const dir = join(root, partition.name);
      let files: string[];
      try {
        files = readdirSync(dir);
      } catch {
        continue; // deleted meanwhile
      }
      for (const file of files) {
        if (!file.endsWith('.log')) continue;
        try {
          sizes.set(join(dir, file), statSync(join(dir, file)).size);
        } catch {
          // a segment deleted meanwhile
        }
      }
    }
  }
  return sizes;
}

/**
 * Bytes appended between two snapshots to segments whose partition directory passes `include` (its name is
 * `<topic>-<partition>`): per segment, how much it grew (new segments count whole; segments deleted or shrunk
 * by the cleaner count nothing).
 */
export function bytesAppended(
  before: Map<string, number>,
  after: Map<string, number>,
  include: (partitionDir: string) => boolean,
): number {
  let bytes = 0;
  for (const [path, size] of after) {
    const partitionDir = path.split('/').at(-2)!;
    if (!include(partitionDir)) continue;
    bytes += Math.max(0, size - (before.get(path) ?? 0));
  }
  return bytes;
}
