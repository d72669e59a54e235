/**
 * The cluster config: validation of what is stored (it may have been written by hand) and the pure changes
 * operators and the mode policy make. Every change returns a new config; none touches etcd.
 */
import { GuardrailConfigError, GuardrailInputError } from './errors.ts';
import { quorumSizes } from './quorum.ts';
import { modes, protocolVersion, type ClusterConfig, type MemberSpec, type Mode } from './types.ts';

const memberIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const configFields = new Set(['members', 'n', 'fastQuorum', 'slowQuorum', 'epoch', 'mode', 'protocolVersion']);
const memberFields = new Set(['id', 'address', 'joinedEpoch']);

export function isValidMemberId(id: string): boolean {
  return memberIdPattern.test(id);
}

const isCount = (value: unknown, min: number): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= min;

function memberProblems(raw: unknown, at: string, epoch: unknown): string[] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return [`${at}: not an object`];
  const m = raw as Record<string, unknown>;
  const problems = Object.keys(m)
    .filter((k) => !memberFields.has(k))
    .map((k) => `${at}.${k}: unknown field`);
  if (typeof m['id'] !== 'string' || !isValidMemberId(m['id']))
    problems.push(`${at}.id: must match ${memberIdPattern}`);
  if (m['address'] !== undefined && typeof m['address'] !== 'string') problems.push(`${at}.address: not a string`);
  if (!isCount(m['joinedEpoch'], 1)) problems.push(`${at}.joinedEpoch: not a whole number >= 1`);
  else if (isCount(epoch, 1) && m['joinedEpoch'] > epoch) problems.push(`${at}.joinedEpoch: after epoch ${epoch}`);
  return problems;
}

/** Every problem of a parsed config value, as `field: what is wrong`; empty when it is valid. */
export function configProblems(raw: unknown): string[] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return ['not a JSON object'];
  const c = raw as Record<string, unknown>;
  const problems = Object.keys(c)
    .filter((k) => !configFields.has(k))
    .map((k) => `${k}: unknown field`);
  if (!isCount(c['epoch'], 1)) problems.push('epoch: not a whole number >= 1');
  if (typeof c['mode'] !== 'string' || !modes.includes(c['mode'] as Mode)) problems.push(`mode: not one of ${modes}`);
  if (!isCount(c['protocolVersion'], 1)) problems.push('protocolVersion: not a whole number >= 1');
  const members = c['members'];
  if (!Array.isArray(members) || members.length === 0) return [...problems, 'members: not a non-empty array'];
  members.forEach((m, i) => problems.push(...memberProblems(m, `members[${i}]`, c['epoch'])));
  const ids = members.map((m: { id?: unknown }) => m?.id);
  ids.forEach((id, i) => {
    if (ids.indexOf(id) !== i) problems.push(`members[${i}].id: ${JSON.stringify(id)} appears twice`);
  });
  if (c['n'] !== members.length) problems.push(`n: ${JSON.stringify(c['n'])} but ${members.length} members`);
  if (members.length % 2 === 0) problems.push(`n: ${members.length} members is even; EPaxos needs N = 2F+1`);
  else {
    const q = quorumSizes(members.length);
    if (c['fastQuorum'] !== q.fastQuorum)
      problems.push(`fastQuorum: ${c['fastQuorum']}, N=${q.n} needs ${q.fastQuorum}`);
    if (c['slowQuorum'] !== q.slowQuorum)
      problems.push(`slowQuorum: ${c['slowQuorum']}, N=${q.n} needs ${q.slowQuorum}`);
  }
  return problems;
}

/** Parses a stored value; GuardrailConfigError names the key and revision when it is not a valid config. */
export function parseConfig(text: string, key: string, revision: number): ClusterConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new GuardrailConfigError(key, revision, [`not JSON (${(error as Error).message})`]);
  }
  const problems = configProblems(raw);
  if (problems.length > 0) throw new GuardrailConfigError(key, revision, problems);
  return raw as ClusterConfig;
}

/** Throws GuardrailInputError for a config this code is about to write but must not. */
export function assertWritable(config: ClusterConfig): void {
  const problems = configProblems(config);
  if (problems.length > 0) throw new GuardrailInputError(`refusing to write an invalid config: ${problems.join('; ')}`);
}

function withMembers(config: ClusterConfig, members: MemberSpec[], epoch: number): ClusterConfig {
  const q = quorumSizes(members.length);
  return { ...config, members, n: q.n, fastQuorum: q.fastQuorum, slowQuorum: q.slowQuorum, epoch };
}

export interface NewMember {
  id: string;
  address?: string;
}

function checkIds(members: readonly NewMember[]): void {
  for (const m of members) {
    if (!isValidMemberId(m.id))
      throw new GuardrailInputError(`member id ${JSON.stringify(m.id)} must match ${memberIdPattern}`);
  }
  const ids = members.map((m) => m.id);
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice !== undefined) throw new GuardrailInputError(`member ${twice} is named twice`);
}

const spec = (m: NewMember, epoch: number): MemberSpec => ({
  id: m.id,
  ...(m.address === undefined ? {} : { address: m.address }),
  joinedEpoch: epoch,
});

/** The first config: epoch 1, every member joined at it. */
export function initialConfig(members: readonly NewMember[], mode: Mode = 'fast'): ClusterConfig {
  checkIds(members);
  const base = { members: [], n: 0, fastQuorum: 0, slowQuorum: 0, epoch: 1, mode, protocolVersion };
  return withMembers(
    base,
    members.map((m) => spec(m, 1)),
    1,
  );
}

/** Adding members bumps the epoch (DESIGN.md §4). Add two at a time: N stays odd. */
export function withMembersAdded(config: ClusterConfig, added: readonly NewMember[]): ClusterConfig {
  checkIds(added);
  if (added.length === 0) throw new GuardrailInputError('name at least one member to add');
  const present = added.find((m) => config.members.some((c) => c.id === m.id));
  if (present) throw new GuardrailInputError(`${present.id} is a member already (epoch ${config.epoch})`);
  const epoch = config.epoch + 1;
  return withMembers(config, [...config.members, ...added.map((m) => spec(m, epoch))], epoch);
}

export function withMembersRemoved(config: ClusterConfig, ids: readonly string[]): ClusterConfig {
  if (ids.length === 0) throw new GuardrailInputError('name at least one member to remove');
  const missing = ids.find((id) => !config.members.some((m) => m.id === id));
  if (missing !== undefined) throw new GuardrailInputError(`${missing} is not a member (epoch ${config.epoch})`);
  const members = config.members.filter((m) => !ids.includes(m.id));
  if (members.length === 0) throw new GuardrailInputError('cannot remove every member');
  return withMembers(config, members, config.epoch + 1);
}

/**
 * The id a member takes when it rejoins after losing its state (DESIGN.md §3): its base name tagged with the
 * epoch of the rejoin. Each epoch comes from exactly one config change, so the id was never used before.
 */
export function freshMemberId(oldId: string, epoch: number): string {
  const base = oldId.replace(/\.e\d+$/, '').slice(0, 48);
  return `${base}.e${epoch}`;
}

/** Replaces a member that lost its state by a fresh id in one change; N is unchanged, the epoch bumped. */
export function withRejoin(config: ClusterConfig, oldId: string): { config: ClusterConfig; newId: string } {
  const index = config.members.findIndex((m) => m.id === oldId);
  if (index < 0) throw new GuardrailInputError(`${oldId} is not a member (epoch ${config.epoch})`);
  const epoch = config.epoch + 1;
  const newId = freshMemberId(oldId, epoch);
  const old = config.members[index]!;
  const members = config.members.map((m, i) => (i === index ? spec({ id: newId, address: old.address }, epoch) : m));
  return { config: withMembers(config, members, epoch), newId };
}

/** A mode switch changes nothing else: membership and epoch stay. */
export function withMode(config: ClusterConfig, mode: Mode): ClusterConfig {
  if (!modes.includes(mode)) throw new GuardrailInputError(`mode ${JSON.stringify(mode)} is not one of ${modes}`);
  return { ...config, mode };
}
