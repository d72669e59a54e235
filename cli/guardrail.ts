/**
 * `parley guardrail status | init | set-mode | add-member | remove-member | history`: the etcd guardrail of a
 * Parley cluster (guardrail/README.md). A human table by default, `--json` for scripts. Every change is one
 * compare-and-swap: if another change lands first, the command fails with the conflict and changes nothing.
 */
import { Argument, Command, Option } from 'commander';
import {
  addMembers,
  EtcdGuardrail,
  GuardrailError,
  initCluster,
  isValidClusterName,
  modes,
  quorumSizes,
  removeMembers,
  requireConfig,
  setMode,
  type Guardrail,
  type HistoryEntry,
  type Mode,
  type NewMember,
  type VersionedConfig,
} from '../guardrail/index.ts';

export interface GuardrailTarget {
  endpoints: string[];
  cluster: string;
}

export interface GuardrailCliDeps {
  open(target: GuardrailTarget): Guardrail;
  out(text: string): void;
  env: NodeJS.ProcessEnv;
}

interface GlobalOptions {
  endpoints?: string;
  cluster?: string;
}

/**
 * The cluster `parley run` follows for the shipped consensus topology: its application id, `PARLEY_APP_ID` or
 * `parley-consensus` (processors/consensus.yaml). This used to be `default`, so `parley guardrail status` looked
 * at a cluster no process used (issue #12).
 */
export function defaultClusterName(env: NodeJS.ProcessEnv): string {
  return env['PARLEY_APP_ID'] || 'parley-consensus';
}

interface CommandOptions {
  json?: boolean;
  mode?: Mode;
  reason?: string;
  limit?: string;
}

function positive(raw: string): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new GuardrailError('INVALID_ARGUMENT', `--limit ${raw}: a whole number >= 1`);
  return n;
}

/** An etcd guardrail with a 1 s deadline per call and 10 s per operation: enough to ride out a leader election. */
export function openEtcdGuardrail(target: GuardrailTarget): Guardrail {
  return new EtcdGuardrail({ ...target, callDeadlineMs: 1_000, operationBudgetMs: 10_000 });
}

/** Comma-separated etcd endpoints (`--endpoints` or PARLEY_ETCD_ENDPOINTS), blanks dropped. */
export function parseEndpoints(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
}

const defaultDeps: GuardrailCliDeps = {
  open: openEtcdGuardrail,
  out: (text) => console.log(text),
  env: process.env,
};

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows]
    .map((row) =>
      row
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function target(options: GlobalOptions, env: NodeJS.ProcessEnv): GuardrailTarget {
  const endpoints = parseEndpoints(options.endpoints ?? env['PARLEY_ETCD_ENDPOINTS']);
  if (endpoints.length === 0)
    throw new GuardrailError('INVALID_ARGUMENT', 'no etcd endpoints: pass --endpoints or set PARLEY_ETCD_ENDPOINTS');
  const cluster = options.cluster ?? defaultClusterName(env);
  if (!isValidClusterName(cluster))
    throw new GuardrailError('INVALID_ARGUMENT', `cluster name ${JSON.stringify(cluster)} is not valid`);
  return { endpoints, cluster };
}

/** `id` or `id=address`. */
function parseMember(arg: string): NewMember {
  const at = arg.indexOf('=');
  return at < 0 ? { id: arg } : { id: arg.slice(0, at), address: arg.slice(at + 1) };
}

async function statusReport(g: Guardrail) {
  const current = await requireConfig(g);
  const live = new Set((await g.liveMembers()).map((m) => m.id));
  const { config } = current;
  return {
    cluster: g.cluster,
    revision: current.revision,
    epoch: config.epoch,
    mode: config.mode,
    protocolVersion: config.protocolVersion,
    n: config.n,
    f: quorumSizes(config.n).f,
    fastQuorum: config.fastQuorum,
    slowQuorum: config.slowQuorum,
    members: config.members.map((m) => ({ ...m, live: live.has(m.id) })),
    liveMembers: config.members.filter((m) => live.has(m.id)).length,
    /** Registered on a lease but not in the config: joining, or left behind. */
    registeredNonMembers: [...live].filter((id) => !config.members.some((m) => m.id === id)).sort(),
  };
}

function statusText(s: Awaited<ReturnType<typeof statusReport>>): string {
  const head =
    `cluster ${s.cluster}  config revision ${s.revision}  epoch ${s.epoch}  mode ${s.mode}  protocol ${s.protocolVersion}\n` +
    `N=${s.n}  F=${s.f}  fast quorum ${s.fastQuorum}  slow quorum ${s.slowQuorum}  live ${s.liveMembers}/${s.n}\n\n`;
  const rows = s.members.map((m) => [m.id, m.live ? 'yes' : 'NO', m.address ?? '-', String(m.joinedEpoch)]);
  const extra = s.registeredNonMembers.length
    ? `\n\nregistered, not members: ${s.registeredNonMembers.join(', ')}`
    : '';
  return head + table(['MEMBER', 'LIVE', 'ADDRESS', 'JOINED EPOCH'], rows) + extra;
}

function changeText(what: string, v: VersionedConfig): string {
  const c = v.config;
  return `${what}: config revision ${v.revision}, epoch ${c.epoch}, mode ${c.mode}, N=${c.n} (${c.members.map((m) => m.id).join(', ')})`;
}

function historyText(entries: HistoryEntry[]): string {
  const rows = entries.map((h) => [
    String(h.revision),
    h.at,
    h.actor ?? '-',
    String(h.config.epoch),
    h.config.mode,
    String(h.config.n),
    h.reason,
  ]);
  return table(['REVISION', 'AT', 'ACTOR', 'EPOCH', 'MODE', 'N', 'REASON'], rows);
}

type Run = <R>(
  fn: (g: Guardrail, args: unknown[], options: CommandOptions) => Promise<R>,
  text: (result: R) => string,
) => (...args: unknown[]) => Promise<void>;

/** Wraps a subcommand: opens a guardrail for its target, runs `fn`, prints JSON or text, closes the guardrail. */
function runner(deps: GuardrailCliDeps): Run {
  return (fn, text) =>
    async (...args) => {
      const command = args.at(-1) as Command;
      const options = command.optsWithGlobals<GlobalOptions & CommandOptions>();
      const g = deps.open(target(options, deps.env));
      try {
        const result = await fn(g, args.slice(0, -2), options);
        deps.out(options.json ? JSON.stringify(result, null, 2) : text(result));
      } finally {
        await g.close();
      }
    };
}

const actor = 'cli';
const membersOf = (args: unknown[]) => (args[0] as string[]).map(parseMember);

function addReadCommands(root: Command, run: Run): void {
  root
    .command('status')
    .description('config, quorums and which members are live')
    .option('--json', 'print as JSON')
    .action(run((g) => statusReport(g), statusText));
  root
    .command('history')
    .description('config changes, oldest first')
    .option('--limit <n>', 'how many of the newest changes', '20')
    .option('--json', 'print as JSON')
    .action(run((g, _args, o) => g.history({ limit: positive(o.limit ?? '20') }), historyText));
}

function addChangeCommands(root: Command, run: Run): void {
  root
    .command('init')
    .description('create the first config (epoch 1); fails if the cluster has one')
    .argument('<members...>', 'member ids (id or id=address); an odd number')
    .addOption(new Option('--mode <mode>', 'initial mode').choices([...modes]).default('fast'))
    .option('--json', 'print as JSON')
    .action(
      run(
        (g, args, o) => initCluster(g, membersOf(args), { mode: o.mode, actor }),
        (v) => changeText('created', v),
      ),
    );
  root
    .command('set-mode')
    .description('switch between the EPaxos fast path and always-Accept (slow)')
    .addArgument(new Argument('<mode>', 'fast or slow').choices([...modes]))
    .option('--reason <text>', 'why, for the history')
    .option('--json', 'print as JSON')
    .action(
      run(
        (g, args, o) => setMode(g, args[0] as Mode, { actor, ...(o.reason ? { reason: o.reason } : {}) }),
        (v) => (v.changed ? changeText('switched', v) : `already ${v.config.mode} (config revision ${v.revision})`),
      ),
    );
  root
    .command('add-member')
    .description('add members and bump the epoch; N must stay odd, so add two at a time')
    .argument('<members...>', 'member ids (id or id=address)')
    .option('--json', 'print as JSON')
    .action(
      run(
        (g, args) => addMembers(g, membersOf(args), { actor }),
        (v) => changeText('added', v),
      ),
    );
  root
    .command('remove-member')
    .description('remove members and bump the epoch; N must stay odd')
    .argument('<ids...>', 'member ids')
    .option('--json', 'print as JSON')
    .action(
      run(
        (g, args) => removeMembers(g, args[0] as string[], { actor }),
        (v) => changeText('removed', v),
      ),
    );
}

/** `overrides` swap the etcd client (tests use the in-process guardrail), the output and the environment. */
export function guardrailCommand(overrides: Partial<GuardrailCliDeps> = {}): Command {
  const run = runner({ ...defaultDeps, ...overrides });
  const root = new Command('guardrail')
    .description('membership, epoch and fast/slow mode of a Parley cluster, kept in etcd')
    .option('--endpoints <urls>', 'etcd endpoints, comma-separated (default: PARLEY_ETCD_ENDPOINTS)')
    .option(
      '--cluster <name>',
      'the Parley cluster: keys live under /parley/<name>/ (default: what parley run uses for the consensus ' +
        'topology, its application id: PARLEY_APP_ID or parley-consensus)',
    );
  addReadCommands(root, run);
  addChangeCommands(root, run);
  return root;
}
