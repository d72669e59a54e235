/**
 * EPaxos scenarios as data (STYLE.md §9, after etcd-raft's datadriven tests): a text file of commands, each followed
 * by `----` and the output it must produce, run on the in-process cluster. A scenario reads as the schedule it is —
 * who proposes, which message is delivered, dropped or held back, who crashes — and its golden output shows every
 * message that caused, so a change of behaviour shows up as a diff. `PARLEY_REWRITE=1` rewrites the outputs.
 *
 *   cluster n=3 [timeout=T] [unsafe=R1,R2] [unsafe-fast-quorum]
 *                                     a fresh cluster (default recovery timeout 10 ticks); `unsafe=` switches the
 *                                     named rules (state.ts UnsafeRule) to their known-wrong variants, and
 *                                     `unsafe-fast-quorum` shrinks the fast quorum by one — test-only cores
 *   propose <r> <id> <key>...         <r> leads a new instance with command <id>
 *   deliver <pattern>                 the first in-flight message matching (error if none)
 *   drop <pattern> / hold <pattern>   lose the matching messages / set them aside, undeliverable
 *   release <pattern>                 put held messages back in flight
 *   crash <r> / restart <r>           stop between steps / rebuild from what <r> persisted
 *   recover <r> <instance>            <r> starts Explicit Prepare of <instance>
 *   tick [<r>] [<n>]                  advance clocks (everyone's by default), printing what that sent
 *   stabilize                         deliver and tick until the live replicas have executed all they know
 *   status <instance>                 what each replica holds of it
 *   agree <instance>                  fails unless every live replica committed it, with one value (printed)
 *   order                             each replica's execution order
 *   check                             every invariant checker of checkers.ts (fails unless all hold)
 * A pattern is `<Type|*> [<from>-><to>] [<instance>]`, with `*` for any part.
 *
 * A scenario that shows why a rule of the core is needed names it in a header comment (before the first command),
 * exactly `# targets: <rule>`, where <rule> is an UnsafeRule or `fastQuorum` (CoreConfig.unsafeFastQuorumMinusOne).
 * The file must pass as written, and fail — an `agree`, a `check` or the core's own agreement assertion throws —
 * when run with that rule forced to its unsafe variant on every `cluster` (`runScenario(…, { force:
 * forceFor(target) })`; scenarios.test.ts does it for every file that has the line).
 */
import type { Message } from '../processors/epaxos/core/messages.ts';
import { unsafeRuleDescriptions, type Ready, type UnsafeRule } from '../processors/epaxos/core/state.ts';
import { instanceKey, parseInstanceKey, type InstanceId } from '../processors/epaxos/core/types.ts';
import { checkAll } from './checkers.ts';
import { Cluster, command, type InFlight } from './cluster.ts';
import { ballotOf, describeMessage } from './describe.ts';
import { historyOf } from './history.ts';

export interface Block {
  /** Comment lines before the command, kept as they are. */
  comments: string[];
  command: string;
  expected: string[];
  /** 1-based line of the command, for errors. */
  line: number;
}

export function parseScenario(text: string, file: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  let comments: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      comments.push(line);
      continue;
    }
    if (lines[i + 1] !== '----') throw new Error(`${file}:${i + 1}: "${line}" is not followed by a ---- line`);
    const expected: string[] = [];
    let j = i + 2;
    for (; j < lines.length && lines[j]!.trim() !== ''; j++) expected.push(lines[j]!);
    blocks.push({ comments, command: line, expected, line: i + 1 });
    comments = [];
    i = j;
  }
  return blocks;
}

export function formatScenario(blocks: readonly Block[], outputs: readonly string[][]): string {
  return blocks
    .map((b, i) => [...b.comments, b.command, '----', ...outputs[i]!].join('\n'))
    .join('\n\n')
    .concat('\n');
}

/** Known-wrong variants switched on for every `cluster` of a run, on top of what the file asks for. */
export interface Force {
  unsafeRules?: readonly UnsafeRule[];
  unsafeFastQuorumMinusOne?: boolean;
}

export interface RunOptions {
  force?: Force;
}

/** What a `# targets:` line may name: a recovery rule (UnsafeRule), or `fastQuorum` (its size). */
export type Target = UnsafeRule | 'fastQuorum';

const targetLine = /^# targets:(.*)$/;

/** The rule a scenario targets (its header's `# targets: <rule>` line), if it names one. */
export function targetOf(blocks: readonly Block[], file: string): Target | undefined {
  const misplaced = blocks.slice(1).find((b) => b.comments.some((c) => c.startsWith('# targets:')));
  if (misplaced) throw new Error(`${file}:${misplaced.line}: a "# targets:" line belongs in the header`);
  const lines = (blocks[0]?.comments ?? []).filter((c) => c.startsWith('# targets:'));
  if (lines.length === 0) return undefined;
  if (lines.length > 1) throw new Error(`${file}: more than one "# targets:" line`);
  const name = targetLine.exec(lines[0]!)![1]!;
  if (!/^ \S+$/.test(name) || !isTarget(name.slice(1))) {
    throw new Error(
      `${file}: "${lines[0]}" must read "# targets: <rule>", <rule> one of ${[...unsafeRuleNames, 'fastQuorum'].join(', ')}`,
    );
  }
  return name.slice(1) as Target;
}

/** The unsafe variant a target names, as `RunOptions.force`. */
export function forceFor(target: Target): Force {
  return target === 'fastQuorum' ? { unsafeFastQuorumMinusOne: true } : { unsafeRules: [target] };
}

const unsafeRuleNames = Object.keys(unsafeRuleDescriptions) as UnsafeRule[];
const isUnsafeRule = (name: string): name is UnsafeRule => (unsafeRuleNames as string[]).includes(name);
const isTarget = (name: string): name is Target => name === 'fastQuorum' || isUnsafeRule(name);

/**
 * Runs a scenario's commands in order; returns each command's output lines. `force` switches known-wrong variants
 * on for every cluster the file starts (the goldens are then not meant to match: only whether it throws matters).
 */
export function runScenario(blocks: readonly Block[], file: string, options: RunOptions = {}): string[][] {
  const runner = new Runner(options.force ?? {});
  return blocks.map((b) => {
    try {
      const out = runner.run(b.command);
      return out.length > 0 ? out : ['ok'];
    } catch (error) {
      throw new Error(`${file}:${b.line}: ${b.command}: ${(error as Error).message}`, { cause: error });
    }
  });
}

class Runner {
  #c: Cluster | undefined;
  #held: InFlight[] = [];
  readonly #force: Force;

  constructor(force: Force) {
    this.#force = force;
  }

  get c(): Cluster {
    if (!this.#c) throw new Error('no cluster yet: start with "cluster n=3"');
    return this.#c;
  }

  run(line: string): string[] {
    const [verb, ...args] = line.trim().split(/\s+/);
    switch (verb) {
      case 'cluster':
        return this.#cluster(args);
      case 'propose': {
        const [at, id, ...keys] = args;
        if (!at || !id || keys.length === 0) throw new Error('usage: propose <replica> <id> <key>...');
        const before = new Set(this.c.pool);
        const instance = this.c.propose(at, [command(id, ...keys)]);
        return [`${at} leads ${instanceKey(instance)}: ${id} on ${keys.join(',')}`, ...this.#sentSince(before)];
      }
      case 'deliver':
        return this.#deliver(args);
      case 'drop':
        return [`dropped ${this.c.drop(matcher(args))}`];
      case 'hold': {
        const where = matcher(args);
        const held = this.c.pool.filter((f) => where(f.message));
        this.c.pool = this.c.pool.filter((f) => !where(f.message));
        this.#held.push(...held);
        return [`holding ${held.length}`];
      }
      case 'release': {
        const where = matcher(args);
        const back = this.#held.filter((f) => where(f.message));
        this.#held = this.#held.filter((f) => !where(f.message));
        this.c.pool.push(...back);
        return [`released ${back.length}`];
      }
      case 'crash':
        this.c.crash(one(args, 'crash <replica>'));
        return [];
      case 'restart':
        this.c.restart(one(args, 'restart <replica>'));
        return [];
      case 'recover': {
        const [at, key] = args;
        if (!at || !key) throw new Error('usage: recover <replica> <instance>');
        return this.#step(at, () => this.c.step(at, { type: 'recover', instance: parseInstanceKey(key) }));
      }
      case 'tick':
        return this.#tick(args);
      case 'stabilize':
        return this.#stabilize();
      case 'status':
        return this.#status(parseInstanceKey(one(args, 'status <instance>')));
      case 'agree':
        return [this.#agree(parseInstanceKey(one(args, 'agree <instance>')))];
      case 'order':
        return this.c.ids.map(
          (r) =>
            `${r}: ${
              this.c.executed
                .get(r)!
                .map((x) => instanceKey(x.id))
                .join(' ') || '-'
            }`,
        );
      case 'check': {
        const violations = checkAll(historyOf(this.c));
        if (violations.length > 0) {
          throw new Error(`invariant violated: ${violations.map((v) => `${v.invariant}: ${v.detail}`).join('; ')}`);
        }
        return ['every invariant holds'];
      }
      default:
        throw new Error(`unknown command ${JSON.stringify(verb)}`);
    }
  }

  #cluster(args: string[]): string[] {
    let n = 3;
    let timeout: number | undefined;
    const rules = new Set<UnsafeRule>(this.#force.unsafeRules ?? []);
    let smallFastQuorum = this.#force.unsafeFastQuorumMinusOne === true;
    for (const arg of args) {
      const [name, value] = arg.split('=', 2) as [string, string | undefined];
      if (name === 'n' && value && /^\d+$/.test(value)) n = Number(value);
      else if (name === 'timeout' && value && /^\d+$/.test(value)) timeout = Number(value);
      else if (name === 'unsafe' && value) {
        for (const rule of value.split(',')) {
          if (!isUnsafeRule(rule)) {
            throw new Error(`unknown unsafe rule ${JSON.stringify(rule)}: one of ${unsafeRuleNames.join(', ')}`);
          }
          rules.add(rule);
        }
      } else if (arg === 'unsafe-fast-quorum') smallFastQuorum = true;
      else {
        throw new Error(
          `bad cluster option ${JSON.stringify(arg)}: n=<N> timeout=<ticks> unsafe=<rule>,… unsafe-fast-quorum`,
        );
      }
    }
    this.#c = new Cluster({
      n,
      ...(timeout !== undefined ? { recoveryTimeoutTicks: timeout } : {}),
      ...(rules.size > 0 ? { unsafeRules: [...rules] } : {}),
      ...(smallFastQuorum ? { unsafeFastQuorumMinusOne: true } : {}),
    });
    this.#held = [];
    const unsafe = [...rules, ...(smallFastQuorum ? ['fast quorum one too small'] : [])];
    return [`replicas ${this.c.ids.join(' ')}${unsafe.length > 0 ? ` (unsafe: ${unsafe.join(', ')})` : ''}`];
  }

  #deliver(args: string[]): string[] {
    const where = matcher(args);
    const position = this.c.pool.findIndex((f) => !this.c.crashed.has(f.to) && where(f.message));
    if (position < 0) throw new Error(`no deliverable message matches ${args.join(' ')}`);
    const message = this.c.pool[position]!.message;
    return [`${describeMessage(message)}`, ...this.#step(message.to, () => this.c.deliver(position))];
  }

  /** Runs `action` (one step at `at`) and prints what it sent and committed. */
  #step(at: string, action: () => Ready | undefined | void): string[] {
    const before = new Set(this.c.pool);
    const committedBefore = this.#committedAt(at);
    action();
    const committed = [...this.#committedAt(at)].filter((k) => !committedBefore.has(k));
    const hops = this.c.commitHops.get(at)!;
    const commits = committed.map(
      (k) => `  ${at} commits ${describeValue(this.c, at, parseInstanceKey(k))} (hop ${hops.get(k)})`,
    );
    return [...this.#sentSince(before), ...commits];
  }

  #committedAt(at: string): Set<string> {
    const out = new Set<string>();
    for (const [k, r] of this.c.replica(at).state.instances) if (r.status === 'committed') out.add(k);
    return out;
  }

  /** What was put in flight since `before` (a delivery takes one message out as it puts others in). */
  #sentSince(before: ReadonlySet<InFlight>): string[] {
    return this.c.pool.filter((f) => !before.has(f)).map((f) => `  → ${describeMessage(f.message)}`);
  }

  #tick(args: string[]): string[] {
    const replicas = args.filter((a) => !/^\d+$/.test(a));
    const times = Number(args.find((a) => /^\d+$/.test(a)) ?? 1);
    const out: string[] = [];
    for (let i = 0; i < times; i++)
      for (const r of replicas.length > 0 ? replicas : this.c.ids) out.push(...this.#step(r, () => this.c.tick(r)));
    return out;
  }

  /**
   * Everything deliverable is delivered and every live clock ticks, until nothing is deliverable and every live
   * replica executed all it knows (or 100 rounds). Messages to a crashed replica wait for its restart.
   */
  #stabilize(): string[] {
    const out: string[] = [];
    for (let round = 0; round < 100; round++) {
      for (let next = this.c.nthDeliverable(0); next >= 0; next = this.c.nthDeliverable(0)) {
        const message = this.c.pool[next]!.message;
        out.push(describeMessage(message), ...this.#step(message.to, () => this.c.deliver(next)));
      }
      if (this.c.countDeliverable() === 0 && this.#settled()) return out;
      for (const r of this.c.ids) if (!this.c.crashed.has(r)) out.push(...this.#step(r, () => this.c.tick(r)));
    }
    throw new Error('still not stable after 100 rounds');
  }

  /** Every live replica has executed every instance any of them knows. */
  #settled(): boolean {
    const live = this.c.ids.filter((r) => !this.c.crashed.has(r));
    const known = new Set(live.flatMap((r) => [...this.c.replica(r).state.instances.keys()]));
    return live.every((r) => [...known].every((k) => this.c.executors.get(r)!.isExecuted(k)));
  }

  #agree(id: InstanceId): string {
    const live = this.c.ids.filter((r) => !this.c.crashed.has(r));
    const missing = live.filter((r) => !this.c.committedAt(r, id));
    if (missing.length > 0) throw new Error(`${instanceKey(id)} is not committed at ${missing.join(', ')}`);
    const values = new Set(live.map((r) => describeValue(this.c, r, id)));
    if (values.size > 1) throw new Error(`agreement violated on ${instanceKey(id)}: ${[...values].join(' vs ')}`);
    return `${live.join(', ')} committed ${[...values][0]}`;
  }

  #status(id: InstanceId): string[] {
    return this.c.ids.map((r) => `${r}: ${describeRecord(this.c, r, id)}${this.c.crashed.has(r) ? ' (down)' : ''}`);
  }
}

/** The value an instance holds at a replica: its commands (or no-op) and attributes. */
function describeValue(c: Cluster, at: string, id: InstanceId): string {
  const r = c.replica(at).state.record(id)!;
  const commands = r.commands.length > 0 ? r.commands.map((x) => x.id).join(',') : 'no-op';
  return `${instanceKey(id)} = ${commands} seq ${r.attributes.seq} deps [${r.attributes.deps}]`;
}

function describeRecord(c: Cluster, at: string, id: InstanceId): string {
  const r = c.replica(at).state.record(id);
  if (!r) return `${instanceKey(id)} unknown`;
  const eq = r.preacceptedEq ? ' EQ' : '';
  return `${describeValue(c, at, id)} ${r.status}${eq} ballot ${ballotOf(r.ballot)} vbal ${ballotOf(r.vbal)}`;
}

/** `<Type|*> [<from>-><to>] [<instance>]`. */
function matcher(args: string[]): (m: Message) => boolean {
  const [type, route, instance] = args;
  if (!type) throw new Error('a pattern needs at least a message type (or *)');
  const [from, to] = route && route !== '*' ? route.split('->') : [undefined, undefined];
  return (m) =>
    (type === '*' || m.type === type) &&
    (from === undefined || from === '*' || m.from === from) &&
    (to === undefined || to === '*' || m.to === to) &&
    (instance === undefined || instance === '*' || ('instance' in m && instanceKey(m.instance) === instance));
}

function one(args: string[], usage: string): string {
  if (args.length !== 1) throw new Error(`usage: ${usage}`);
  return args[0]!;
}
