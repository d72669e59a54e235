/**
 * Detached service processes tracked by PID files. A PID file records the PID with the process's start time
 * (from /proc/<pid>/stat); a process counts as ours only while both match, so a reused PID is never signalled.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export interface PidRecord {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot): with the PID, it names one process for good. */
  startTicks: string;
  command: string[];
  startedAt: string;
  logFile: string;
}

export interface StartOptions {
  command: string;
  args: string[];
  pidFile: string;
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export function readPidRecord(pidFile: string): PidRecord | undefined {
  if (!existsSync(pidFile)) return undefined;
  try {
    return JSON.parse(readFileSync(pidFile, 'utf8')) as PidRecord;
  } catch {
    return undefined; // a torn or foreign file: treated as "not running"; `up` overwrites it
  }
}

/** Start time and state of a live process, or undefined when there is none (or only a zombie) at that PID. */
function statOf(pid: number): { startTicks: string; state: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: parse after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, startTicks: fields[19]! };
  } catch {
    return undefined;
  }
}

/** True when the recorded process is alive and is still the one we started (not a reused PID). */
export function isOurs(record: PidRecord | undefined): record is PidRecord {
  if (!record) return false;
  const stat = statOf(record.pid);
  return stat !== undefined && stat.state !== 'Z' && stat.startTicks === record.startTicks;
}

export function startDetached(options: StartOptions): PidRecord {
  mkdirSync(dirname(options.pidFile), { recursive: true });
  mkdirSync(dirname(options.logFile), { recursive: true });
  const log = openSync(options.logFile, 'a');
  try {
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true, // its own process group, so `down` can signal it and nothing else
      stdio: ['ignore', log, log],
    });
    if (child.pid === undefined) throw new Error(`could not start ${options.command}; see ${options.logFile}`);
    child.unref();
    const stat = statOf(child.pid);
    if (!stat) throw new Error(`${options.command} exited at once; see ${options.logFile}`);
    const record: PidRecord = {
      pid: child.pid,
      startTicks: stat.startTicks,
      command: [options.command, ...options.args],
      startedAt: new Date().toISOString(),
      logFile: options.logFile,
    };
    writeFileSync(options.pidFile, JSON.stringify(record, null, 2));
    return record;
  } finally {
    closeSync(log);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/**
 * Stops the process recorded in pidFile: SIGTERM, then SIGKILL after graceMs. Returns false when there was
 * nothing of ours to stop. The PID file is removed either way.
 */
export async function stopRecorded(pidFile: string, graceMs = 15_000): Promise<boolean> {
  const record = readPidRecord(pidFile);
  if (!isOurs(record)) {
    rmSync(pidFile, { force: true });
    return false;
  }
  signalGroup(record.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(record.pid) && isOurs(record) && Date.now() < deadline) await delay(100);
  if (alive(record.pid) && isOurs(record)) {
    signalGroup(record.pid, 'SIGKILL');
    while (alive(record.pid) && isOurs(record)) await delay(50);
  }
  rmSync(pidFile, { force: true });
  return true;
}

/** Last lines of a log file, for error messages that point at the cause. */
export function tailOf(file: string, lines = 15): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd().split('\n');
    return text.slice(-lines).join('\n');
  } catch {
    return '(no log yet)';
  }
}
