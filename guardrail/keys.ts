/**
 * The key layout under `/parley/<cluster>/` (DESIGN.md §4). History keys carry the config revision a change was
 * based on, zero-padded, so lexical order is chronological order and a range delete trims the oldest.
 */
export interface GuardrailKeys {
  root: string;
  config: string;
  epoch: string;
  membersPrefix: string;
  member(id: string): string;
  historyPrefix: string;
  history(basedOnRevision: number): string;
}

const clusterNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function isValidClusterName(name: string): boolean {
  return clusterNamePattern.test(name);
}

export function guardrailKeys(cluster: string, rootPrefix = '/parley'): GuardrailKeys {
  if (!isValidClusterName(cluster)) {
    throw new Error(`cluster name ${JSON.stringify(cluster)} must match ${clusterNamePattern}`);
  }
  const root = `${rootPrefix}/${cluster}/`;
  return {
    root,
    config: `${root}config`,
    epoch: `${root}epoch`,
    membersPrefix: `${root}members/`,
    member: (id) => `${root}members/${id}`,
    historyPrefix: `${root}history/`,
    history: (basedOn) => `${root}history/${String(basedOn).padStart(20, '0')}`,
  };
}
