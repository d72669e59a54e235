/** Replica ids: the replica of partition i of `proposals` and `protocol` is `r<i>`, in the guardrail too. */
export const replicaId = (index: number): string => `r${index}`;
