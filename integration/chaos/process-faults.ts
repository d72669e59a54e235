/**
 * What the process-fault chaos files (replica-sigkill, replica-sigstop, agent-sigkill, conflict-burst) share: the
 * workload's size and how it keeps the client's contract. One scenario per file, so each gets the runner's whole
 * per-file limit (integration/run-tests.ts): four scenarios in one file ran 225-275 s under CI load, at the limit.
 */

export const total = Number(process.env['PARLEY_CHAOS_PROPOSALS'] ?? 1500);

/** Decisions (key, position) a run orders: roughly 1.1 per proposal with the example's two-key transfers. */
export const decisions = (share: number): number => Math.floor(total * share);

/**
 * The workload keeps the client's contract as an application would: a proposal not ordered within its 3 attempts
 * is proposed again under its id (applied at most once). The promises checked are 0 lost, 0 duplicated and agents
 * in agreement, not a deadline: under CI load, tasks moving between the replicas at start-up (each move a restore)
 * once ordered the first proposal after its client had given up, and both agents applied it once.
 */
const repropose = { attempts: 3, backoffMs: 2_000 };

/** The workload of the replica and agent faults: 3 replicas, 2% conflicts, `total` proposals, proposed again. */
export const workload = { replicas: 3, conflict: 0.02, total, repropose };
