/** Small helpers shared by the benchmarks: order statistics, number formatting and Markdown tables. */

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank: the smallest value with at least p % of the samples at or below it.
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const int = (n: number): string => Math.round(n).toLocaleString('en-US');

export const fixed = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/** A Markdown table; columns whose header starts with '>' are right-aligned (the '>' is dropped). */
export function table(headers: string[], rows: string[][]): string {
  const right = headers.map((h) => h.startsWith('>'));
  const head = headers.map((h) => (h.startsWith('>') ? h.slice(1) : h));
  const rule = right.map((r) => (r ? '---:' : '---'));
  return [head, rule, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** Progress lines go to stderr so stdout holds only the report. */
export function progress(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

/** Rotates `items` by `round`, so no side always runs first (or last) in a round. */
export function rotate<T>(items: T[], round: number): T[] {
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

let interruptedFlag = false;

/**
 * True once Ctrl-C was pressed: loops stop at the next step and the run cleans up (its topics on the shared
 * broker, apps, clients). A second Ctrl-C quits at once.
 */
export function interrupted(): boolean {
  return interruptedFlag;
}

process.once('SIGINT', () => {
  interruptedFlag = true;
  process.exitCode = 130;
  progress('interrupted: stopping after the current step, then cleaning up (Ctrl-C again quits at once)');
  process.once('SIGINT', () => process.exit(130));
});
