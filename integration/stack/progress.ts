/**
 * Progress for long waits. On a terminal one line is redrawn in place; elsewhere (CI logs) a line is printed
 * every few seconds, so a slow step is visible without flooding the log.
 */
const interactive = Boolean(process.stderr.isTTY) && process.env['CI'] !== 'true';

export interface Ticker {
  update(detail: string): void;
  done(summary: string): void;
  fail(summary: string): void;
}

export function ticker(label: string, printEveryMs = 5_000): Ticker {
  const started = Date.now();
  let detail = '';
  let lastPrinted = 0;
  const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  const render = (): void => {
    if (interactive) {
      process.stderr.write(`\r\x1b[2K… ${label} ${detail} (${elapsed()})`);
    } else if (Date.now() - lastPrinted >= printEveryMs) {
      lastPrinted = Date.now();
      process.stderr.write(`… ${label} ${detail} (${elapsed()})\n`);
    }
  };
  const timer = setInterval(render, interactive ? 200 : 1_000);
  timer.unref();
  render();
  const finish = (mark: string, summary: string): void => {
    clearInterval(timer);
    process.stderr.write(`${interactive ? '\r\x1b[2K' : ''}${mark} ${label}: ${summary} (${elapsed()})\n`);
  };
  return {
    update: (d) => {
      detail = d;
    },
    done: (s) => finish('✔', s),
    fail: (s) => finish('✖', s),
  };
}

export function info(message: string): void {
  process.stderr.write(`${message}\n`);
}
