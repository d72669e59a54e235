/**
 * The retry loop and the table of retriable etcd errors.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GRPCDeadlineExceededError, GRPCInvalidArgumentError, GRPCUnavailableError } from 'etcd3';
import { GuardrailConflictError, GuardrailUnavailableError, isRetriableEtcdError } from './errors.ts';
import { retry } from './retry.ts';

describe('retry', () => {
  test('retries retriable errors until success', async () => {
    const seen: number[] = [];
    const result = await retry(
      async (n) => {
        seen.push(n);
        if (n < 3) throw new GRPCUnavailableError('down');
        return 'ok';
      },
      { budgetMs: 5_000, isRetriable: isRetriableEtcdError, what: 'test', random: () => 0 },
    );
    assert.deepEqual([result, seen], ['ok', [1, 2, 3]]);
  });

  test('a non-retriable error fails at once; an exhausted budget fails as UNAVAILABLE with the cause', async () => {
    let calls = 0;
    const conflict = new GuardrailConflictError('/k', 1, 2);
    await assert.rejects(
      retry(
        async () => {
          calls++;
          throw conflict;
        },
        { budgetMs: 5_000, isRetriable: isRetriableEtcdError, what: 'test' },
      ),
      (e) => e === conflict,
    );
    assert.equal(calls, 1);
    const started = Date.now();
    await assert.rejects(
      retry(
        async () => {
          throw new GRPCDeadlineExceededError('slow');
        },
        { budgetMs: 200, isRetriable: isRetriableEtcdError, what: 'put x' },
      ),
      (e) =>
        e instanceof GuardrailUnavailableError &&
        e.retriable &&
        e.cause instanceof GRPCDeadlineExceededError &&
        /^put x: etcd did not answer within 200 ms/.test(e.message),
    );
    assert.ok(Date.now() - started < 1_000, 'gave up around the budget');
  });

  test('etcd errors map to retriability by class, server messages by text', () => {
    assert.equal(isRetriableEtcdError(new GRPCUnavailableError('x')), true);
    assert.equal(isRetriableEtcdError(new GRPCInvalidArgumentError('x')), false);
    assert.equal(isRetriableEtcdError(new Error('etcdserver: no leader')), true);
    assert.equal(isRetriableEtcdError(new Error('etcdserver: permission denied')), false);
    assert.equal(isRetriableEtcdError('a string'), false);
  });
});
