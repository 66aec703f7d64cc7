// `npm run bench`: seeds N servers, starts novabox on them, drives HTTP load next to a bare
// Fastify baseline, prints a table and writes the figures as JSON. See docs/BENCHMARKS.md.
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { runBench } from './bench.ts';
import { table } from './table.ts';

const program = new Command();
program
  .name('bench')
  .description('novabox benchmarks at fleet scale, each read figure as a ratio to a bare Fastify route')
  .addOption(new Option('--servers <n>', 'servers to seed').default(100_000).argParser((v) => Number(v)))
  .addOption(new Option('--duration <s>', 'seconds per scenario and connection count').default(5).argParser((v) => Number(v)))
  .addOption(new Option('--startups <n>', 'times novabox is started to measure start-up (median)').default(3).argParser((v) => Number(v)))
  .addOption(new Option('--rounds <n>', 'turns of bare route and GET /servers/{id}, median kept').default(3).argParser((v) => Number(v)))
  .addOption(new Option('--out <file>', 'write the figures as JSON').default('bench-results.json'))
  .addOption(new Option('--burst <n>', 'builds in the burst scenario').default(10_000).argParser((v) => Number(v)))
  .addOption(new Option('--pg-servers <n>', 'servers to seed on PostgreSQL for its tables (0: leave them out; skipped when no PostgreSQL answers, unless NOVABOX_TEST_PG_REQUIRED=1)').default(1_000_000).argParser((v) => Number(v)))
  .option('--quick', 'a tiny run for the test suite: 500 servers, 1 s per scenario, one start-up, one round, a burst of 50 builds, 2,000 servers on PostgreSQL')
  .option('--keep', 'keep the seeded database directory')
  .parse();

const o = program.opts<{ servers: number; duration: number; startups: number; rounds: number; burst: number; pgServers: number; out: string; quick?: boolean; keep?: boolean }>();
const quick = !!o.quick;
const servers = quick && program.getOptionValueSource('servers') === 'default' ? 500 : o.servers;
const duration = quick && program.getOptionValueSource('duration') === 'default' ? 1 : o.duration;
const startups = quick && program.getOptionValueSource('startups') === 'default' ? 1 : o.startups;
const rounds = quick && program.getOptionValueSource('rounds') === 'default' ? 1 : o.rounds;
const burst = quick && program.getOptionValueSource('burst') === 'default' ? 50 : o.burst;
const pgServers = quick && program.getOptionValueSource('pgServers') === 'default' ? 2000 : o.pgServers;
if (!Number.isInteger(pgServers) || pgServers < 0) {
  console.error(`--pg-servers must be a whole number, got ${pgServers}`);
  process.exit(2);
}
for (const [k, v] of Object.entries({ servers, duration, startups, rounds, burst })) {
  if (!Number.isInteger(v) || v < 1) {
    console.error(`--${k} must be a positive integer, got ${v}`);
    process.exit(2);
  }
}

const result = await runBench({ servers, duration, startups, rounds, burst, pgServers, keep: o.keep, log: (m) => console.error(m) });
writeFileSync(o.out, JSON.stringify(result, null, 2) + '\n');
console.log(table(result));
console.log(`\nfigures written to ${o.out}`);
