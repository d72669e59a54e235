/**
 * A small TCP forwarder for chaos tests: each forward listens on one address and pipes every connection to a
 * target, optionally holding each chunk back by a delay with jitter (in both directions, order kept). Used in
 * process, and as a script run inside a network namespace (integration/harness/netns.ts):
 *
 *   node --import tsx tcp-proxy.ts '<json ProxySpec>'
 *
 * The script prints `ready` once every forward listens, and exits when its stdin closes (its parent went away)
 * or on SIGTERM.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface Endpoint {
  host: string;
  port: number;
}

export interface Forward {
  listen: Endpoint;
  target: Endpoint;
}

/** Userspace latency: each chunk is held back `delayMs` ± `jitterMs` (uniform), never overtaking the one before. */
export interface Latency {
  delayMs: number;
  jitterMs: number;
}

export interface ProxySpec {
  forwards: Forward[];
  latency?: Latency;
}

export interface RunningProxy {
  /** Connections accepted so far, per forward (same order as the spec). */
  readonly accepted: number[];
  close(): Promise<void>;
}

/**
 * One direction of a connection: chunks wait in a FIFO queue, each until its release time, and are written in
 * arrival order by one timer (separate timers per chunk could fire out of order and corrupt the byte stream).
 */
function delayedPipe(from: Socket, to: Socket, latency: Latency | undefined): void {
  if (!latency || (latency.delayMs <= 0 && latency.jitterMs <= 0)) {
    from.pipe(to);
    return;
  }
  const queue: { at: number; chunk: Buffer | null }[] = []; // null: the far end's FIN
  let timer: NodeJS.Timeout | undefined;
  const pump = (): void => {
    timer = undefined;
    const now = Date.now();
    while (queue.length > 0 && queue[0]!.at <= now) {
      const { chunk } = queue.shift()!;
      if (to.destroyed) return;
      if (chunk === null) to.end();
      else to.write(chunk);
    }
    if (queue.length > 0) timer = setTimeout(pump, queue[0]!.at - now);
    // Back-pressure: read on once little is held back and the far side has drained.
    if (from.isPaused() && queue.length < 64 && to.writableLength < 1 << 20) from.resume();
  };
  const push = (chunk: Buffer | null): void => {
    const jitter = (Math.random() * 2 - 1) * latency.jitterMs;
    const last = queue.at(-1)?.at ?? 0;
    // Never before the chunk ahead of it: the stream's order is kept whatever the jitter.
    queue.push({ at: Math.max(last, Date.now() + Math.max(0, latency.delayMs + jitter)), chunk });
    timer ??= setTimeout(pump, queue[0]!.at - Date.now());
  };
  from.on('data', (chunk: Buffer) => {
    push(chunk);
    if (queue.length >= 64 || to.writableLength >= 1 << 20) from.pause();
  });
  from.on('end', () => push(null));
  to.on('drain', () => {
    if (from.isPaused() && queue.length < 64) from.resume();
  });
  to.on('close', () => clearTimeout(timer));
}

export async function startProxy(spec: ProxySpec): Promise<RunningProxy> {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const accepted = spec.forwards.map(() => 0);
  try {
    for (const [i, forward] of spec.forwards.entries()) {
      const server = createServer({ allowHalfOpen: true }, (client) => {
        accepted[i]!++;
        const upstream = createConnection({ ...forward.target, allowHalfOpen: true });
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.setNoDelay(true);
          socket.on('close', (hadError) => {
            sockets.delete(socket);
            // A reset or failure ends both sides at once. A clean close needs nothing here: each FIN travels
            // behind the data still held back in its direction, and the other side closes in turn.
            if (hadError) {
              client.destroy();
              upstream.destroy();
            }
          });
          socket.on('error', () => undefined); // a reset is an ordinary end here; 'close' follows
        }
        delayedPipe(client, upstream, spec.latency);
        delayedPipe(upstream, client, spec.latency);
      });
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(forward.listen.port, forward.listen.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    }
  } catch (error) {
    for (const server of servers) server.close();
    throw error;
  }
  return {
    accepted,
    async close() {
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    },
  };
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const spec = JSON.parse(process.argv[2] ?? '') as ProxySpec;
  const proxy = await startProxy(spec);
  const quit = (): void => void proxy.close().finally(() => process.exit(0));
  process.once('SIGTERM', quit);
  process.stdin.on('end', quit);
  process.stdin.on('close', quit);
  process.stdin.resume();
  process.stdout.write('ready\n');
}
