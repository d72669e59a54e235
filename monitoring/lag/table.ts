/** `parley lag`'s table: one block per group (its Burrow status and totals), one row per partition. */
import type { LagSnapshot } from './snapshot.ts';

const headers = ['TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG', 'LAG_SECONDS', 'STATUS', 'COMMITS'] as const;
/** Numbers read best right-aligned. */
const rightAligned = new Set<string>(['PARTITION', 'COMMITTED', 'END', 'LAG', 'LAG_SECONDS', 'COMMITS']);

export function formatSeconds(seconds: number | undefined): string {
  if (seconds === undefined) return '-';
  return seconds.toFixed(seconds < 10 ? 2 : 1);
}

function table(rows: string[][]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (rightAligned.has(headers[i]!) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

export function formatLagTable(snapshot: LagSnapshot, options: { windowSize?: number } = {}): string {
  if (snapshot.groups.length === 0) return 'no consumer groups to show\n';
  const out: string[] = [];
  for (const group of snapshot.groups) {
    out.push(
      `group ${group.group}  status ${group.status}  total lag ${group.totalLag}  ` +
        `max lag ${formatSeconds(group.maxLagSeconds)} s  complete ${Math.round(group.complete * 100)}%`,
    );
    if (group.partitions.length === 0) {
      out.push('  (no committed offsets)', '');
      continue;
    }
    const rows = group.partitions.map((p) => [
      p.topic,
      String(p.partition),
      String(p.committed),
      String(p.highWatermark),
      String(p.lag),
      formatSeconds(p.lagSeconds),
      p.status,
      options.windowSize ? `${p.commits}/${options.windowSize}` : String(p.commits),
    ]);
    out.push(...table(rows).map((l) => `  ${l}`), '');
  }
  return out.join('\n');
}
