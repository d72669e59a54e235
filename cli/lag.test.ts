/**
 * `parley lag` without a broker: its rendering (table, JSON, watch lines) and its argument errors, through the
 * real bin. integration/tests/lag-monitor.test.ts runs it against the real broker.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { LagSnapshot } from '../monitoring/index.ts';
import { renderLag } from './lag.ts';

const projectRoot = join(import.meta.dirname, '..');

function parley(args: string[], env: NodeJS.ProcessEnv = {}) {
  const run = spawnSync(process.execPath, ['cli/parley.mjs', ...args], {
    cwd: projectRoot,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', PARLEY_KAFKA_BROKERS: '', ...env },
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

const snapshot: LagSnapshot = {
  at: Date.UTC(2026, 0, 2, 3, 4, 5),
  groups: [
    {
      group: 'agents',
      status: 'ERR',
      totalLag: 1234,
      maxLagSeconds: 42.25,
      complete: 0.5,
      partitions: [
        {
          topic: 'committed',
          partition: 0,
          committed: 100,
          highWatermark: 1334,
          lag: 1234,
          lagSeconds: 42.25,
          status: 'STALL',
          commits: 10,
          firstCommitAt: 1,
          lastCommitAt: 2,
        },
        {
          topic: 'committed',
          partition: 11,
          committed: 7,
          highWatermark: 7,
          lag: 0,
          lagSeconds: undefined,
          status: 'OK',
          commits: 3,
          firstCommitAt: 1,
          lastCommitAt: 2,
        },
      ],
    },
    { group: 'idle', status: 'NOTFOUND', totalLag: 0, maxLagSeconds: 0, complete: 0, partitions: [] },
  ],
};

describe('parley lag rendering', () => {
  it('prints one block per group and an aligned row per partition', () => {
    const text = renderLag(snapshot, { window: 10 });
    assert.equal(
      text,
      [
        'group agents  status ERR  total lag 1234  max lag 42.3 s  complete 50%',
        '  TOPIC      PARTITION  COMMITTED   END   LAG  LAG_SECONDS  STATUS  COMMITS',
        '  committed          0        100  1334  1234         42.3  STALL     10/10',
        '  committed         11          7     7     0            -  OK         3/10',
        '',
        'group idle  status NOTFOUND  total lag 0  max lag 0.00 s  complete 0%',
        '  (no committed offsets)',
        '',
      ].join('\n'),
    );
  });

  it('with --watch, each table starts with the poll time', () => {
    assert.match(renderLag(snapshot, { window: 10, watch: true }), /^2026-01-02T03:04:05\.000Z\n\ngroup agents/);
  });

  it('--json prints the snapshot; with --watch, one line per poll', () => {
    assert.deepEqual(JSON.parse(renderLag(snapshot, { window: 10, json: true })), JSON.parse(JSON.stringify(snapshot)));
    const line = renderLag(snapshot, { window: 10, json: true, watch: true });
    assert.equal(line.split('\n').length, 2);
    assert.equal(JSON.parse(line).groups[0].status, 'ERR');
  });

  it('no groups says so', () => {
    assert.equal(renderLag({ at: 0, groups: [] }, { window: 10 }), 'no consumer groups to show\n');
  });
});

describe('parley lag arguments', () => {
  it('needs PARLEY_KAFKA_BROKERS', () => {
    const { code, stderr } = parley(['lag']);
    assert.equal(code, 1);
    assert.match(stderr, /PARLEY_KAFKA_BROKERS is not set/);
  });

  it('rejects a non-positive interval and a fractional window', () => {
    let run = parley(['lag', '--interval', '0'], { PARLEY_KAFKA_BROKERS: '127.0.0.1:1' });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /--interval must be a positive number/);
    run = parley(['lag', '--window', '2.5'], { PARLEY_KAFKA_BROKERS: '127.0.0.1:1' });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /--window must be a positive integer/);
  });

  it('no broker at the address: one line naming Kafka, the address and the variable', () => {
    const { code, stderr } = parley(['lag'], { PARLEY_KAFKA_BROKERS: '127.0.0.1:1' });
    assert.equal(code, 1);
    assert.match(stderr, /cannot reach Kafka at 127\.0\.0\.1:1 \(PARLEY_KAFKA_BROKERS\): Connection error/);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
  });

  it('is listed in parley --help', () => {
    assert.match(parley(['--help']).stdout, /^\s+lag \[options\]\s+consumer-group lag per partition/m);
  });
});
