/**
 * Cleanup that survives the test process: a test file cancelled by the runner's timeout (or killed) never runs
 * its `finally`/`after`, and would leave a private broker, etcd members or a network namespace behind. A watchdog
 * is a small detached shell holding a pipe from the test process: when the pipe closes without the word `done`
 * (the test process is gone), it SIGKILLs the processes recorded in PID files under `dir` (only those whose
 * command line names `dir`, so a reused PID is never hit), runs the `extra` shell commands, and removes `dir`. `disarm()` — called
 * after a normal cleanup — makes it exit doing nothing.
 */
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';

export interface Watchdog {
  disarm(): void;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function watchdog(options: { dir?: string; extra?: string[] }): Watchdog {
  const dir = options.dir === undefined ? undefined : quote(options.dir);
  const script = [
    'read line',
    '[ "$line" = done ] && exit 0',
    ...(dir === undefined
      ? []
      : [
          `for f in $(find ${dir} -name '*.pid' 2>/dev/null); do`,
          `  p=$(sed -n 's/.*"pid": *\\([0-9][0-9]*\\).*/\\1/p' "$f")`,
          `  [ -n "$p" ] && tr '\\0' ' ' < /proc/$p/cmdline 2>/dev/null | grep -qF ${dir} && kill -9 "$p"`,
          'done',
        ]),
    ...(options.extra ?? []),
    ...(dir === undefined ? [] : [`rm -rf ${dir}`]),
  ].join('\n');
  const child = spawn('sh', ['-c', script], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  child.unref();
  (child.stdin as unknown as Socket).unref();
  let armed = true;
  return {
    disarm() {
      if (!armed) return;
      armed = false;
      child.stdin!.end('done\n');
    },
  };
}
