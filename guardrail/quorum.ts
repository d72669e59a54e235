/**
 * Quorum sizes from the replica count (DESIGN.md §3, EPAXOS-NOTES.md §7). N = 2F+1; the slow quorum is F+1 and
 * the fast quorum F+⌊(F+1)/2⌋ counting the command leader (Moraru et al. SOSP'13 §4.3, the optimized fast path):
 * N=3 → 2, N=5 → 3, N=7 → 5. The often-quoted ⌈N/2⌉+1 is wrong: too big at N=3, unsafe from N=11.
 */
import { GuardrailInputError } from './errors.ts';

export interface QuorumSizes {
  n: number;
  /** Failures tolerated: N = 2F+1. */
  f: number;
  fastQuorum: number;
  slowQuorum: number;
}

/** Even N is rejected: F+1 quorums only intersect when N = 2F+1, and an even N buys no extra failure. */
export function quorumSizes(n: number): QuorumSizes {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new GuardrailInputError(`a cluster needs a positive whole number of members, not ${n}`);
  }
  if (n % 2 === 0) {
    throw new GuardrailInputError(
      `N=${n} is even: EPaxos needs N = 2F+1 members (quorums F+1 intersect only then); add or remove one more`,
    );
  }
  const f = (n - 1) / 2;
  // At N=1 (F=0) the formula gives 0, but the leader itself is always in its quorum.
  const fastQuorum = Math.max(1, f + Math.floor((f + 1) / 2));
  return { n, f, fastQuorum, slowQuorum: f + 1 };
}
