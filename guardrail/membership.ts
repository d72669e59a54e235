/**
 * Operator and replica changes as read → pure change (config.ts) → compare-and-swap. Each makes exactly one
 * attempt: a concurrent change makes it throw GuardrailConflictError, and the caller decides whether its change
 * still makes sense against the new config (two concurrent add-member calls: exactly one wins).
 */
import { initialConfig, withMembersAdded, withMembersRemoved, withMode, withRejoin, type NewMember } from './config.ts';
import { GuardrailError } from './errors.ts';
import type { ChangeInfo, Guardrail, Mode, VersionedConfig } from './types.ts';

export async function requireConfig(guardrail: Guardrail): Promise<VersionedConfig> {
  const current = await guardrail.readConfig();
  if (!current) {
    throw new GuardrailError('NO_CONFIG', `cluster ${guardrail.cluster} has no config yet (create it with init)`);
  }
  return current;
}

const describeIds = (ids: readonly string[]) => ids.join(', ');

/** Creates the first config (epoch 1); GuardrailConflictError when the cluster has one. */
export function initCluster(
  guardrail: Guardrail,
  members: readonly NewMember[],
  options: { mode?: Mode; actor?: string } = {},
): Promise<VersionedConfig> {
  const config = initialConfig(members, options.mode);
  return guardrail.createConfig(config, {
    reason: `init with ${describeIds(members.map((m) => m.id))}`,
    ...(options.actor === undefined ? {} : { actor: options.actor }),
  });
}

export async function addMembers(
  guardrail: Guardrail,
  members: readonly NewMember[],
  change: Partial<ChangeInfo> = {},
): Promise<VersionedConfig> {
  const current = await requireConfig(guardrail);
  const next = withMembersAdded(current.config, members);
  const reason = change.reason ?? `add ${describeIds(members.map((m) => m.id))}`;
  return guardrail.updateConfig(current.revision, next, { ...change, reason });
}

export async function removeMembers(
  guardrail: Guardrail,
  ids: readonly string[],
  change: Partial<ChangeInfo> = {},
): Promise<VersionedConfig> {
  const current = await requireConfig(guardrail);
  const next = withMembersRemoved(current.config, ids);
  return guardrail.updateConfig(current.revision, next, {
    ...change,
    reason: change.reason ?? `remove ${describeIds(ids)}`,
  });
}

/** Switches the mode; no write (changed: false) when it is already that mode. */
export async function setMode(
  guardrail: Guardrail,
  mode: Mode,
  change: Partial<ChangeInfo> = {},
): Promise<VersionedConfig & { changed: boolean }> {
  const current = await requireConfig(guardrail);
  if (current.config.mode === mode) return { ...current, changed: false };
  const next = withMode(current.config, mode);
  const written = await guardrail.updateConfig(current.revision, next, {
    ...change,
    reason: change.reason ?? `set mode ${mode}`,
  });
  return { ...written, changed: true };
}

/**
 * A replica that lost its state must not come back under its old id: it could vote twice in one ballot
 * (EPAXOS-NOTES.md §7). It rejoins under a fresh id, in one change that replaces the old id and bumps the epoch;
 * it then registers the new id on a lease.
 */
export async function rejoinUnderNewId(
  guardrail: Guardrail,
  oldId: string,
  change: Partial<ChangeInfo> = {},
): Promise<VersionedConfig & { newId: string }> {
  const current = await requireConfig(guardrail);
  const { config, newId } = withRejoin(current.config, oldId);
  const written = await guardrail.updateConfig(current.revision, config, {
    ...change,
    reason: change.reason ?? `${oldId} lost its state and rejoins as ${newId}`,
  });
  return { ...written, newId };
}
