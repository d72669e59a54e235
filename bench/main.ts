/**
 * `npm run bench -- <name> [options]`: runs one benchmark by name, with the rest of the command line as its
 * options. Each benchmark is also a script of its own (`npx tsx bench/<name>.ts`).
 */
const benches: Record<string, string> = {
  consensus: './consensus.ts',
  store: './store.ts',
  'topology-throughput': './topology-throughput.ts',
  'hop-latency': './hop-latency.ts',
};

const [name, ...rest] = process.argv.slice(2);
if (!name || !(name in benches)) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [options]\n`);
  process.exitCode = 2;
} else {
  const file = new URL(benches[name]!, import.meta.url);
  // The benchmarks read their options from process.argv: make it what running the file directly gives.
  process.argv = [process.argv[0]!, file.pathname, ...rest];
  await import(file.href);
}
