/**
 * A private 3-member etcd cluster on free loopback ports, for tests that kill members (the shared stack's etcd
 * must never be touched). Members are started and stopped by PID with the native stack's process helpers, in a
 * temporary folder removed by stop(). Same etcd binary and timings as integration/stack/services.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import { isOurs, readPidRecord, startDetached, stopRecorded, tailOf } from '../stack/process.ts';
import { freePort } from './ports.ts';

export interface EtcdClusterMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  pidFile: string;
  logFile: string;
  dataDir: string;
}

export interface PrivateEtcdCluster {
  endpoints: string[];
  members: EtcdClusterMember[];
  /** The member that is Raft leader now, asked of every running member. */
  leader(): Promise<EtcdClusterMember>;
  /** SIGKILL, as a crash; resolves once the process is gone. */
  kill(member: EtcdClusterMember): Promise<void>;
  /** Starts a killed member again on its data folder and waits until it is healthy. */
  restart(member: EtcdClusterMember): Promise<void>;
  /** Stops every member and removes the folder. */
  stop(): Promise<void>;
}

function etcdBinary(): string {
  const found = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  if (found.status !== 0) throw new Error("etcd is not installed: install Debian's etcd-server (npm run stack:fetch)");
  return found.stdout.trim();
}

async function healthy(member: EtcdClusterMember, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (!isOurs(readPidRecord(member.pidFile))) {
      throw new Error(`etcd ${member.name} exited; last lines of ${member.logFile}:\n${tailOf(member.logFile)}`);
    }
    try {
      const response = await fetch(`${member.clientUrl}/health`, { signal: AbortSignal.timeout(1_000) });
      const body = (await response.json()) as { health?: string };
      if (body.health === 'true') return;
      last = JSON.stringify(body);
    } catch (error) {
      last = (error as Error).message;
    }
    await delay(100); // polling a process that is starting: there is no event to wait on
  }
  throw new Error(`etcd ${member.name} not healthy after ${timeoutMs} ms (${last}); see ${member.logFile}`);
}

function memberArgs(m: EtcdClusterMember, initialCluster: string, token: string): string[] {
  return [
    `--name=${m.name}`,
    `--data-dir=${m.dataDir}`,
    `--listen-client-urls=${m.clientUrl}`,
    `--advertise-client-urls=${m.clientUrl}`,
    `--listen-peer-urls=${m.peerUrl}`,
    `--initial-advertise-peer-urls=${m.peerUrl}`,
    `--initial-cluster=${initialCluster}`,
    // A token of its own, so this cluster can never take in a member of another one.
    `--initial-cluster-token=${token}`,
    '--initial-cluster-state=new',
    // The shared stack's timings (services.ts): short elections on loopback.
    '--heartbeat-interval=100',
    '--election-timeout=1000',
    '--logger=zap',
  ];
}

async function findLeader(members: EtcdClusterMember[]): Promise<EtcdClusterMember> {
  for (const m of members.filter((m) => isOurs(readPidRecord(m.pidFile)))) {
    const client = new Etcd3({ hosts: m.clientUrl, dialTimeout: 1_000 });
    try {
      const status = await client.maintenance.status({ deadline: Date.now() + 2_000 });
      if (status.leader !== '0' && status.leader === status.header.member_id) return m;
    } catch {
      // a member that cannot answer is not the leader we are looking for
    } finally {
      client.close();
    }
  }
  throw new Error('no running member reports itself as the etcd leader');
}

async function kill(member: EtcdClusterMember): Promise<void> {
  const record = readPidRecord(member.pidFile);
  if (!isOurs(record)) throw new Error(`etcd ${member.name} is not running`);
  process.kill(record.pid, 'SIGKILL');
  while (isOurs(record)) await delay(10); // reaped asynchronously; bounded by the test's timeout
}

export async function startEtcdCluster(options: { healthTimeoutMs?: number } = {}): Promise<PrivateEtcdCluster> {
  const healthTimeoutMs = options.healthTimeoutMs ?? 30_000;
  const dir = mkdtempSync(join(tmpdir(), 'parley-etcd-'));
  const binary = etcdBinary();
  const members: EtcdClusterMember[] = [];
  for (const i of [1, 2, 3]) {
    const [client, peer] = [await freePort(), await freePort()];
    members.push({
      name: `etcd${i}`,
      clientUrl: `http://127.0.0.1:${client}`,
      peerUrl: `http://127.0.0.1:${peer}`,
      pidFile: join(dir, `etcd${i}.pid`),
      logFile: join(dir, `etcd${i}.log`),
      dataDir: join(dir, `etcd${i}`),
    });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const launch = (m: EtcdClusterMember) =>
    startDetached({
      command: binary,
      args: memberArgs(m, initialCluster, dir),
      pidFile: m.pidFile,
      logFile: m.logFile,
    });
  const stop = async () => {
    await Promise.all(members.map((m) => stopRecorded(m.pidFile, 5_000)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    members.forEach(launch);
    await Promise.all(members.map((m) => healthy(m, healthTimeoutMs)));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    endpoints: members.map((m) => m.clientUrl),
    members,
    leader: () => findLeader(members),
    kill,
    async restart(member) {
      launch(member);
      await healthy(member, healthTimeoutMs);
    },
    stop,
  };
}
