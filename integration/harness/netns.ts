/**
 * Puts one process of a test in a network namespace of its own, so its traffic to the stack crosses a veth pair
 * on which a test can impose latency: kernel `tc netem` on both ends of the pair; where the host kernel lacks netem,
 * netem in a User-mode Linux guest that routes between the namespaces instead of the pair (netem-router.ts); or the
 * userspace delay of the namespace's TCP forwarder (integration/harness/tcp-proxy.ts).
 *
 * The stack listens on 127.0.0.1 of the root namespace, and Kafka advertises 127.0.0.1:<port>; inside the new
 * namespace 127.0.0.1 is its own loopback. So:
 *
 *   process in netns ──► 127.0.0.1:<service port>   (netns forwarder, `ip netns exec <ns> node tcp-proxy.ts`)
 *                    ──► <host address>:<service port>   across the veth pair (netem here)
 *                    ──► 127.0.0.1:<service port>   (root forwarder, in the test process)   ──► the service
 *
 * and the reverse for the process's /metrics port, so the test scrapes http://127.0.0.1:<metrics port> as usual.
 * Needs root, `ip` (iproute2) and, for netem, the kernel's sch_netem. Everything is removed by close().
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { createRoutedNetns } from './netem-router.ts';
import { netnsLink, newTag, run, subnet30, type NetnsLink } from './netns-link.ts';

export type { NetnsLink } from './netns-link.ts';
import { startProxy, type Forward, type Latency, type RunningProxy } from './tcp-proxy.ts';
import { watchdog } from './watchdog.ts';
import { freePort } from './ports.ts';

/** The kernel build options (from /proc/config.gz) that decide whether netem can exist here, when readable. */
function kernelConfig(names: string[]): string {
  try {
    const text = gunzipSync(readFileSync('/proc/config.gz')).toString();
    return names
      .map((name) => new RegExp(`^(${name}=.*|# ${name} is not set)$`, 'm').exec(text)?.[1] ?? `${name}: absent`)
      .join('; ');
  } catch (error) {
    return `/proc/config.gz unreadable (${(error as Error).message})`;
  }
}

/**
 * Why `tc netem` cannot work on this machine, or undefined when it can: tries `tc qdisc add dev lo root netem
 * delay 1ms` in a throwaway namespace (`unshare -n`), and on failure names what is missing with the evidence.
 */
export function netemUnavailable(): string | undefined {
  const probe = spawnSync(
    'unshare',
    ['-n', 'sh', '-c', 'ip link set lo up && tc qdisc add dev lo root netem delay 1ms && tc qdisc show dev lo'],
    { encoding: 'utf8' },
  );
  if (probe.error) return `cannot run unshare: ${probe.error.message} (util-linux)`;
  if (probe.status === 0 && probe.stdout.includes('netem')) return undefined;
  const modprobe = spawnSync('modprobe', ['-n', 'sch_netem'], { encoding: 'utf8' });
  return [
    'tc netem is not available on this machine, so the network-delay chaos test cannot inject delay:',
    `  \`unshare -n sh -c 'tc qdisc add dev lo root netem delay 1ms'\` failed: ${(probe.stderr || probe.stdout).trim()}`,
    `  kernel ${run(['uname', '-r'], 'uname').trim()}: ${kernelConfig(['CONFIG_NET_SCH_NETEM', 'CONFIG_MODULES'])}`,
    `  modprobe -n sch_netem: ${modprobe.error ? modprobe.error.message : (modprobe.stderr || modprobe.stdout).trim() || 'ok'}`,
    'What is missing: the sch_netem queueing discipline (CONFIG_NET_SCH_NETEM=y or =m with the module installed).',
    'integration/chaos/network-netem.test.ts then runs netem in a User-mode Linux guest (netem-router.ts).',
  ].join('\n');
}

/** A network namespace with a veth pair to the root namespace, on a random 10.213.x.y/30. */
export function createNetns(): NetnsLink {
  if (process.getuid?.() !== 0) throw new Error('a network namespace for chaos tests needs root');
  const tag = newTag();
  const name = `parley-chaos-${tag}`;
  const hostDevice = `pch${tag}a`;
  const nsDevice = `pch${tag}b`;
  const [hostAddress, nsAddress] = subnet30(213);
  const inNs = ['ip', 'netns', 'exec', name];
  // A cancelled test file runs no cleanup: the watchdog then removes the namespace and the pair.
  const guard = watchdog({ extra: [`ip netns del ${name}`, `ip link del ${hostDevice} 2>/dev/null`] });
  const close = (): void => {
    spawnSync('ip', ['netns', 'del', name]);
    spawnSync('ip', ['link', 'del', hostDevice]); // normally gone with the namespace already
    guard.disarm();
  };
  try {
    run(['ip', 'netns', 'add', name], 'creating a network namespace');
    run(['ip', 'link', 'add', hostDevice, 'type', 'veth', 'peer', 'name', nsDevice, 'netns', name], 'veth pair');
    run(['ip', 'addr', 'add', `${hostAddress}/30`, 'dev', hostDevice], 'host address');
    run(['ip', 'link', 'set', hostDevice, 'up'], 'host link up');
    run([...inNs, 'ip', 'link', 'set', 'lo', 'up'], 'loopback up in the namespace');
    run([...inNs, 'ip', 'addr', 'add', `${nsAddress}/30`, 'dev', nsDevice], 'namespace address');
    run([...inNs, 'ip', 'link', 'set', nsDevice, 'up'], 'namespace link up');
  } catch (error) {
    close();
    throw error;
  }
  return netnsLink({ name, hostDevice, hostAddress, nsDevice, nsAddress, close });
}

/** Adds `tc netem` delay with jitter on both ends of the pair (so a round trip takes about twice the delay). */
export function applyNetem(link: NetnsLink, latency: Latency): void {
  const args = (dev: string) => [
    'tc',
    'qdisc',
    'add',
    'dev',
    dev,
    'root',
    'netem',
    'delay',
    `${latency.delayMs}ms`,
    `${latency.jitterMs}ms`,
  ];
  run(args(link.hostDevice), `netem on ${link.hostDevice}`);
  link.exec(args(link.nsDevice));
}

export interface IsolatedPlacement {
  link: NetnsLink;
  /** Command prefix that runs the process inside the namespace. */
  prefix: string[];
  /** Its environment: PARLEY_METRICS_PORT, so its /metrics is reachable from the root namespace. */
  env: NodeJS.ProcessEnv;
  metricsPort: number;
  /** Connections the root-side forwarder took from the namespace, per service address. */
  connections(): Record<string, number>;
  close(): Promise<void>;
}

/**
 * A namespace for one process, with forwarders for each `127.0.0.1:<port>` in `services` (Kafka, registry, etcd)
 * and for a metrics port. `latency` (userspace) is applied by the namespace's forwarder, in both directions;
 * `netemRouter` puts a User-mode Linux guest applying netem between the namespace and the root one instead of a
 * veth pair (netem-router.ts: for kernels without netem).
 */
export async function isolateProcess(options: {
  services: { host: string; port: number }[];
  latency?: Latency;
  netemRouter?: Latency;
  readyTimeoutMs?: number;
}): Promise<IsolatedPlacement> {
  const link = options.netemRouter ? await createRoutedNetns(options.netemRouter) : createNetns();
  let root: RunningProxy | undefined;
  let inner: ChildProcess | undefined;
  const close = async (): Promise<void> => {
    if (inner && inner.exitCode === null && inner.signalCode === null) {
      const exited = new Promise((resolve) => inner!.once('exit', resolve));
      inner.kill('SIGTERM');
      await exited;
    }
    await root?.close();
    link.close();
  };
  try {
    for (const s of options.services) {
      if (s.host !== '127.0.0.1') throw new Error(`isolateProcess: ${s.host}:${s.port} is not on 127.0.0.1`);
    }
    const metricsPort = await freePort();
    const rootForwards: Forward[] = [
      ...options.services.map((s) => ({ listen: { host: link.hostAddress, port: s.port }, target: s })),
      { listen: { host: '127.0.0.1', port: metricsPort }, target: { host: link.nsAddress, port: metricsPort } },
    ];
    const innerForwards: Forward[] = [
      ...options.services.map((s) => ({ listen: s, target: { host: link.hostAddress, port: s.port } })),
      { listen: { host: link.nsAddress, port: metricsPort }, target: { host: '127.0.0.1', port: metricsPort } },
    ];
    root = await startProxy({ forwards: rootForwards });
    const script = join(import.meta.dirname, 'tcp-proxy.ts');
    const spec = JSON.stringify({ forwards: innerForwards, ...(options.latency ? { latency: options.latency } : {}) });
    inner = spawn(link.prefix[0]!, [...link.prefix.slice(1), process.execPath, '--import', 'tsx', script, spec], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const started = inner;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the forwarder in ${link.name} did not start: ${output}`)),
        options.readyTimeoutMs ?? 30_000,
      );
      const collect = (d: Buffer): void => {
        output += d.toString();
        if (output.includes('ready\n')) {
          clearTimeout(timer);
          resolve();
        }
      };
      started.stdout!.on('data', collect);
      started.stderr!.on('data', collect);
      started.once('exit', (code) => (clearTimeout(timer), reject(new Error(`forwarder exited ${code}: ${output}`))));
    });
    const rootProxy = root;
    return {
      link,
      prefix: link.prefix,
      env: { PARLEY_METRICS_PORT: String(metricsPort) },
      metricsPort,
      connections: () =>
        Object.fromEntries(options.services.map((s, i) => [`${s.host}:${s.port}`, rootProxy.accepted[i] ?? 0])),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** `host:port` pairs of the stack's endpoints (brokers, registry URL, etcd URLs). */
export function serviceAddresses(endpoints: {
  kafkaBrokers: string[];
  schemaRegistryUrl: string;
  etcdEndpoints: string[];
}): { host: string; port: number }[] {
  const parse = (hostPort: string) => {
    const i = hostPort.lastIndexOf(':');
    return { host: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) };
  };
  const fromUrl = (url: string) => parse(new URL(url).host);
  return [
    ...endpoints.kafkaBrokers.map(parse),
    fromUrl(endpoints.schemaRegistryUrl),
    ...endpoints.etcdEndpoints.map(fromUrl),
  ];
}
