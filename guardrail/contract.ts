/**
 * The guardrail contract: node:test tests every Guardrail must pass, the etcd one on the real 3-member cluster
 * (integration/tests/guardrail-contract.test.ts) and the in-process one (in-process.test.ts). Call
 * `guardrailContract(name, makeContext)`; every test runs in a cluster name no other test uses, so tests may
 * share one etcd. What each test requires is in its title (contract/config-cases.ts, contract/member-cases.ts).
 */
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { configCases } from './contract/config-cases.ts';
import type { GuardrailContractCase, GuardrailContractContext } from './contract/harness.ts';
import { memberCases } from './contract/member-cases.ts';

export type { GuardrailContractContext } from './contract/harness.ts';
export { barrierOnRead, EventLog, within } from './contract/harness.ts';

export const guardrailContractCases: readonly GuardrailContractCase[] = [...configCases, ...memberCases];

export interface GuardrailContractOptions {
  testTimeoutMs?: number;
  /** Run the cases concurrently (each has its own cluster name); default true. */
  concurrency?: boolean;
  /** Called after each case with its cluster name, to delete what it left. */
  cleanup?: (cluster: string) => Promise<void>;
}

export function guardrailContract(
  name: string,
  makeContext: () => GuardrailContractContext,
  options: GuardrailContractOptions = {},
): void {
  const { testTimeoutMs = 60_000, concurrency = true, cleanup } = options;
  describe(`guardrail contract: ${name}`, { concurrency }, () => {
    for (const { title, run } of guardrailContractCases) {
      test(title, { timeout: testTimeoutMs }, async () => {
        const cluster = `contract-${randomUUID().slice(0, 8)}`;
        try {
          await run(makeContext(), cluster);
        } finally {
          await cleanup?.(cluster);
        }
      });
    }
  });
}
