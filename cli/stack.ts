/**
 * `parley stack up | down | status | fetch | packages`: the native real stack (Kafka in KRaft mode, Apicurio
 * Registry, three etcd members) on 127.0.0.1. `npm run stack:*` calls these.
 */
import { Command } from 'commander';
import { loadStackConfig } from '../integration/stack/config.ts';
import { debianPackages, fetchStack } from '../integration/stack/fetch.ts';
import { stackDown, stackStatus, stackUp, type ServiceStatus } from '../integration/stack/stack.ts';

function statusTable(statuses: ServiceStatus[]): string {
  const rows = statuses.map((s) => [
    s.name,
    s.healthy ? 'healthy' : s.running ? 'UNHEALTHY' : 'stopped',
    s.pid ? String(s.pid) : '-',
    s.healthy ? s.title : `${s.title}: ${s.detail ?? ''}`,
    s.logFile,
  ]);
  const header = ['SERVICE', 'STATE', 'PID', 'DETAIL', 'LOG'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((row) =>
      row
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function stackCommand(): Command {
  const stack = new Command('stack').description('start, stop and inspect the native Kafka/registry/etcd stack');
  stack
    .command('up')
    .description('start what is not running (fetching it first if needed) and wait until all is healthy')
    .option('--json', 'print the endpoints as JSON')
    .action(async (options: { json?: boolean }) => {
      const e = await stackUp(loadStackConfig());
      console.log(
        options.json
          ? JSON.stringify(e, null, 2)
          : [
              `PARLEY_KAFKA_BROKERS=${e.kafkaBrokers.join(',')}`,
              `PARLEY_SCHEMA_REGISTRY_URL=${e.schemaRegistryUrl}`,
              `PARLEY_ETCD_ENDPOINTS=${e.etcdEndpoints.join(',')}`,
            ].join('\n'),
      );
    });
  stack
    .command('down')
    .description('stop exactly the processes that `up` started')
    .action(async () => {
      const stopped = await stackDown(loadStackConfig());
      console.log(stopped.length ? `stopped: ${stopped.join(', ')}` : 'nothing of the stack was running');
    });
  stack
    .command('status')
    .description('health of every service; exits 1 unless all are healthy')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }) => {
      const statuses = await stackStatus(loadStackConfig());
      console.log(options.json ? JSON.stringify(statuses, null, 2) : statusTable(statuses));
      if (!statuses.every((s) => s.healthy)) process.exitCode = 1;
    });
  stack
    .command('fetch')
    .description('download and cache every part of the stack without starting it')
    .option('--json', 'print the artifacts as JSON')
    .action((options: { json?: boolean }) => {
      const artifacts = fetchStack(loadStackConfig());
      console.log(
        options.json
          ? JSON.stringify(artifacts, null, 2)
          : Object.entries(artifacts)
              .map(([k, v]) => `${k}: ${v}`)
              .join('\n'),
      );
    });
  stack
    .command('packages')
    .description('the Debian packages the stack and its tests need (for apt-get)')
    .action(() => console.log(debianPackages().join(' ')));
  return stack;
}
