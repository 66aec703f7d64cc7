// `npm run bench`: seeds N servers, starts novabox on them, drives HTTP load next to a bare
// Fastify baseline, prints a table and writes the figures as JSON. See docs/BENCHMARKS.md.
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { runBench, type BenchResult } from './bench.ts';

const program = new Command();
program
  .name('bench')
  .description('novabox benchmarks at fleet scale, each read figure as a ratio to a bare Fastify route')
  .addOption(new Option('--servers <n>', 'servers to seed').default(100_000).argParser((v) => Number(v)))
  .addOption(new Option('--duration <s>', 'seconds per scenario and connection count').default(5).argParser((v) => Number(v)))
  .addOption(new Option('--startups <n>', 'times novabox is started to measure start-up (median)').default(3).argParser((v) => Number(v)))
  .addOption(new Option('--out <file>', 'write the figures as JSON').default('bench-results.json'))
  .option('--quick', 'a tiny run for the test suite: 500 servers, 1 s per scenario, one start-up')
  .option('--keep', 'keep the seeded database directory')
  .parse();

const o = program.opts<{ servers: number; duration: number; startups: number; out: string; quick?: boolean; keep?: boolean }>();
const quick = !!o.quick;
const servers = quick && program.getOptionValueSource('servers') === 'default' ? 500 : o.servers;
const duration = quick && program.getOptionValueSource('duration') === 'default' ? 1 : o.duration;
const startups = quick && program.getOptionValueSource('startups') === 'default' ? 1 : o.startups;
for (const [k, v] of Object.entries({ servers, duration, startups })) {
  if (!Number.isInteger(v) || v < 1) {
    console.error(`--${k} must be a positive integer, got ${v}`);
    process.exit(2);
  }
}

const result = await runBench({ servers, duration, startups, keep: o.keep, log: (m) => console.error(m) });
writeFileSync(o.out, JSON.stringify(result, null, 2) + '\n');
console.log(table(result));
console.log(`\nfigures written to ${o.out}`);

function table(r: BenchResult): string {
  const lines: string[] = [];
  const n = (x: number) => x.toLocaleString('en');
  lines.push(`novabox bench — ${n(r.options.servers)} servers, ${r.options.duration_s} s per scenario — ${r.date.slice(0, 10)}`);
  lines.push(`machine: ${r.machine.cpus} × ${r.machine.model}, ${r.machine.memory_gb} GB, node ${r.machine.node}, ${r.machine.platform}`);
  lines.push('');
  lines.push('| scenario | conn | req/s | p50 ms | p99 ms | mean ms | vs bare route |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|');
  for (const c of ['c1', 'c16'] as const) {
    const b = r.baseline[c];
    lines.push(`| bare Fastify route (${r.body_bytes.baseline} B) | ${b.connections} | ${n(b.rps)} | ${b.p50_ms} | ${b.p99_ms} | ${b.mean_ms} | 1.00 |`);
  }
  const names: Record<keyof BenchResult['reads'], string> = {
    get_server: 'GET /servers/{id}',
    detail_active_first: 'GET /servers/detail?status=ACTIVE&limit=100',
    detail_active_deep: '… deep page (marker mid-set)',
    detail_all_first: '… all_tenants=1 (admin)',
    detail_all_deep: '… all_tenants=1 deep page',
    list_shutoff_name: 'GET /servers?status=SHUTOFF&name=…',
    detail_active_1000: 'GET /servers/detail?status=ACTIVE&limit=1000',
  };
  for (const [k, label] of Object.entries(names) as [keyof BenchResult['reads'], string][]) {
    for (const c of ['c1', 'c16'] as const) {
      const f = r.reads[k][c];
      lines.push(`| ${label} | ${f.connections} | ${n(f.rps)} | ${f.p50_ms} | ${f.p99_ms} | ${f.mean_ms} | ${f.ratio.toFixed(2)} |`);
    }
  }
  const rt: [string, BenchResult['create_to_active']][] = [
    ['POST /servers → ACTIVE', r.create_to_active], ['os-stop → SHUTOFF', r.stop_to_shutoff], ['os-start → ACTIVE', r.start_to_active],
  ];
  for (const [label, fig] of rt) {
    for (const c of ['c1', 'c16'] as const) {
      const f = fig[c];
      lines.push(`| ${label} | ${f.connections} | ${n(f.per_second)} | ${f.p50_ms} | ${f.p99_ms} | ${f.mean_ms} | |`);
    }
  }
  lines.push('');
  lines.push(`seeding: ${n(r.seed.servers)} servers in ${r.seed.seconds} s (${n(r.seed.per_second)}/s; ${r.seed.total_seconds} s with database setup)`);
  lines.push(`database: ${(r.database_bytes / 2 ** 20).toFixed(1)} MB; start-up: ${r.startup_ms.median} ms (runs ${r.startup_ms.runs.join(', ')})`);
  lines.push(`RSS: ${r.rss_mb.after_start} MB after start, ${r.rss_mb.after_load} MB after load, peak ${r.rss_mb.peak} MB`);
  lines.push('');
  lines.push('| target | goal | measured | |');
  lines.push('|---|---|---|---|');
  for (const t of r.targets) lines.push(`| ${t.name} | ${t.target} | ${t.value} | ${t.met === null ? `n/a at ${n(r.options.servers)}` : t.met ? 'met' : 'NOT MET'} |`);
  return lines.join('\n');
}
