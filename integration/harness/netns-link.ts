/**
 * What a test's network namespace is to the harness, however it reaches the root namespace (a veth pair in
 * netns.ts, a netem router in netem-router.ts): its name, the devices and addresses on both sides, and the one way
 * both run `ip` commands (failing with what ran and what it said).
 */
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';

export interface NetnsLink {
  /** The namespace's name (`ip netns list`). */
  name: string;
  /** The device on the root namespace's side, and its address. */
  hostDevice: string;
  hostAddress: string;
  /** The device inside the namespace, and its address. */
  nsDevice: string;
  nsAddress: string;
  /** Prefix that runs a command inside the namespace. */
  prefix: string[];
  /** Runs `args` inside the namespace; throws with its output when it fails. */
  exec(args: string[]): string;
  /** Removes the namespace and everything made for it. */
  close(): void;
}

export function run(args: string[], what: string): string {
  const result = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  if (result.error) throw new Error(`${what}: cannot run ${args[0]}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`${what}: \`${args.join(' ')}\` exited with ${result.status}: ${result.stderr.trim()}`);
  }
  return result.stdout;
}

/** A fresh tag for a namespace and its devices (device names stay within Linux's 15 characters). */
export const newTag = (): string =>
  randomInt(0, 1 << 16)
    .toString(16)
    .padStart(4, '0');

/** One of the /30s of 10.<second>.0.0/16, as its two usable addresses. */
export function subnet30(second: number, slot = randomInt(0, 1 << 14)): [string, string] {
  const base = slot << 2;
  const [third, fourth] = [(base >> 8) & 0xff, base & 0xfc];
  return [`10.${second}.${third}.${fourth + 1}`, `10.${second}.${third}.${fourth + 2}`];
}

export function netnsLink(parts: Omit<NetnsLink, 'prefix' | 'exec'>): NetnsLink {
  const prefix = ['ip', 'netns', 'exec', parts.name];
  return { ...parts, prefix, exec: (args) => run([...prefix, ...args], `in ${parts.name}`) };
}
