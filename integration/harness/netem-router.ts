/**
 * `tc netem` where the host kernel has none (these machines: no sch_netem, no modules): a User-mode Linux guest —
 * Debian's user-mode-linux, whose kernel ships sch_netem as a module — routes between the root namespace and a
 * test's network namespace through two TAP devices, and delays what it forwards with netem on both of its
 * interfaces. The delay is the Linux kernel's netem, per packet, in a kernel of the guest's own; TCP sees it the
 * way it sees a slow network (reordering under jitter, retransmissions), which a TCP forwarder cannot show.
 *
 *   root namespace  <tap r> 10.213.a.1 ── eth0 10.213.a.2 [UML guest: forwards, netem on eth0 and eth1]
 *                                          eth1 10.214.b.1 ── <tap n> 10.214.b.2  test namespace
 *
 * The guest's root filesystem is the host's, read-only (hostfs): it runs the host's sh, ip, tc and insmod (kmod).
 * Both TAPs are created in the root namespace, attached by the guest, and the namespace's one is then moved into
 * the namespace (a TAP keeps its attachment when it changes namespace). Needs root and /dev/net/tun.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { netnsLink, newTag, run, subnet30, type NetnsLink } from './netns-link.ts';
import type { Latency } from './tcp-proxy.ts';
import { watchdog } from './watchdog.ts';

const umlKernel = '/usr/bin/linux.uml';
const umlModules = '/usr/lib/uml/modules';

/** The guest kernel's sch_netem module, or why there is none. */
function netemModule(): { path: string } | { missing: string } {
  if (!existsSync(umlKernel)) return { missing: `${umlKernel} is missing (Debian package user-mode-linux)` };
  const versions = existsSync(umlModules) ? readdirSync(umlModules) : [];
  const path = versions.map((v) => join(umlModules, v, 'kernel/net/sched/sch_netem.ko')).find((p) => existsSync(p));
  return path ? { path } : { missing: `no sch_netem.ko under ${umlModules} (user-mode-linux's modules)` };
}

function insmodPath(): string | undefined {
  return ['/usr/sbin/insmod', '/sbin/insmod'].find((p) => existsSync(p));
}

/** Boots a guest that runs `script` as init (sh) and prints its console; the caller ends it. */
function bootGuest(dir: string, script: string, nics: string[]): ChildProcess {
  const init = join(dir, 'init.sh');
  writeFileSync(init, `#!/bin/sh\nmount -t proc proc /proc\nmount -t sysfs sys /sys\n${script}\n`, { mode: 0o755 });
  const args = ['mem=128M', 'rootfstype=hostfs', 'rootflags=/', 'ro', `init=${init}`, 'con=null', 'con0=null,fd:1'];
  nics.forEach((tap, i) => args.push(`eth${i}=tuntap,${tap}`));
  // Its own process group: the guest runs as several host processes, all ended together.
  return spawn(umlKernel, args, { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
}

function endGuest(guest: ChildProcess): void {
  try {
    if (guest.pid) process.kill(-guest.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Waits for `marker` on the guest's console; rejects with the console when it exits or times out first. */
function waitFor(guest: ChildProcess, marker: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(`no "${marker}" within ${timeoutMs} ms`), timeoutMs);
    const fail = (why: string): void => {
      clearTimeout(timer);
      reject(new Error(`the User-mode Linux guest: ${why}; its console:\n${output.split('\n').slice(-25).join('\n')}`));
    };
    const collect = (d: Buffer): void => {
      output += d.toString();
      if (output.includes(marker)) {
        clearTimeout(timer);
        resolve(output);
      }
    };
    guest.stdout!.on('data', collect);
    guest.stderr!.on('data', collect);
    guest.once('exit', (code, signal) => fail(`exited (${signal ?? code})`));
  });
}

/**
 * Why netem in a guest cannot work here, or undefined when it can: boots a guest that loads sch_netem and adds a
 * netem qdisc to its loopback (about 3 s).
 */
export async function umlNetemUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'netem in a User-mode Linux guest needs root (TAP devices, namespaces)';
  const module = netemModule();
  if ('missing' in module) return module.missing;
  const insmod = insmodPath();
  if (!insmod) return 'insmod is missing (Debian package kmod): the guest loads sch_netem with the host binary';
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing: no TAP devices';
  const dir = mkdtempSync(join(tmpdir(), 'parley-uml-probe-'));
  const script = `${insmod} ${module.path} && ip link set lo up && tc qdisc add dev lo root netem delay 1ms && tc qdisc show dev lo && echo netem-ok\necho o > /proc/sysrq-trigger`;
  const guest = bootGuest(dir, script, []);
  try {
    await waitFor(guest, 'netem-ok', 30_000);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    endGuest(guest);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A network namespace reached from the root namespace through a netem router (see above): same shape as
 * netns.ts `createNetns`, with `hostAddress` and `nsAddress` on the two sides of the router. `close()` ends the
 * guest and removes the namespace and both TAPs.
 */
export async function createRoutedNetns(latency: Latency): Promise<NetnsLink> {
  const module = netemModule();
  const insmod = insmodPath();
  if ('missing' in module || !insmod) throw new Error('netem in a guest is unavailable: see umlNetemUnavailable()');
  const tag = newTag();
  const name = `parley-chaos-${tag}`;
  const hostDevice = `pch${tag}r`;
  const nsDevice = `pch${tag}n`;
  const slot = randomInt(0, 1 << 14); // the same /30 of 10.213.0.0/16 (root side) and of 10.214.0.0/16
  const [hostAddress, guestRootSide] = subnet30(213, slot);
  const [guestNsSide, nsAddress] = subnet30(214, slot);
  const dir = mkdtempSync(join(tmpdir(), `parley-uml-${tag}-`));
  const prefix = ['ip', 'netns', 'exec', name];
  // A cancelled test file runs no cleanup: the watchdog ends the guest (its command line names `dir`) and removes
  // the namespace and the TAPs.
  const guard = watchdog({
    extra: [`pkill -9 -f ${dir}`, `ip netns del ${name}`, `ip link del ${hostDevice}`, `ip link del ${nsDevice}`],
  });
  let guest: ChildProcess | undefined;
  const close = (): void => {
    if (guest) endGuest(guest);
    spawnSync('ip', ['netns', 'del', name]);
    spawnSync('ip', ['link', 'del', hostDevice]);
    spawnSync('ip', ['link', 'del', nsDevice]); // gone with the namespace, unless it never moved there
    rmSync(dir, { recursive: true, force: true });
    guard.disarm();
  };
  const netem = `netem delay ${latency.delayMs}ms ${latency.jitterMs}ms`;
  try {
    run(['ip', 'tuntap', 'add', 'dev', hostDevice, 'mode', 'tap'], 'the root side TAP');
    run(['ip', 'tuntap', 'add', 'dev', nsDevice, 'mode', 'tap'], 'the namespace side TAP');
    guest = bootGuest(
      dir,
      [
        `${insmod} ${module.path} || exit 1`,
        'ip link set lo up',
        `ip addr add ${guestRootSide}/30 dev eth0 && ip link set eth0 up`,
        `ip addr add ${guestNsSide}/30 dev eth1 && ip link set eth1 up`,
        'echo 1 > /proc/sys/net/ipv4/ip_forward',
        `tc qdisc add dev eth0 root ${netem} && tc qdisc add dev eth1 root ${netem} || exit 1`,
        'echo router-ready',
        'while :; do sleep 3600; done',
      ].join('\n'),
      [hostDevice, nsDevice],
    );
    await waitFor(guest, 'router-ready', 30_000);
    run(['ip', 'netns', 'add', name], 'creating a network namespace');
    run(['ip', 'link', 'set', nsDevice, 'netns', name], 'moving the TAP into the namespace');
    const inNs = (args: string[], what: string) => run([...prefix, ...args], what);
    inNs(['ip', 'link', 'set', 'lo', 'up'], 'loopback up in the namespace');
    inNs(['ip', 'addr', 'add', `${nsAddress}/30`, 'dev', nsDevice], 'namespace address');
    inNs(['ip', 'link', 'set', nsDevice, 'up'], 'namespace link up');
    inNs(['ip', 'route', 'add', 'default', 'via', guestNsSide], 'namespace route through the guest');
    run(['ip', 'addr', 'add', `${hostAddress}/30`, 'dev', hostDevice], 'host address');
    run(['ip', 'link', 'set', hostDevice, 'up'], 'host link up');
    run(['ip', 'route', 'add', `${nsAddress}/32`, 'via', guestRootSide], 'host route through the guest');
  } catch (error) {
    close();
    throw error;
  }
  return netnsLink({ name, hostDevice, hostAddress, nsDevice, nsAddress, close });
}
