// The printed report: the figures as markdown tables (also pasted into docs/BENCHMARKS.md).
import type { BenchResult } from './bench.ts';

export function table(r: BenchResult): string {
  const lines: string[] = [];
  const n = (x: number) => x.toLocaleString('en');
  lines.push(`novabox bench — ${n(r.options.servers)} servers, ${r.options.duration_s} s per scenario (bare route and GET /servers/{id}: median of ${r.options.rounds} turns) — ${r.date.slice(0, 10)}`);
  lines.push(`machine: ${r.machine.cpus} × ${r.machine.model}, ${r.machine.memory_gb} GB, node ${r.machine.node}, ${r.machine.platform}; load average ${r.load_average.start} at the start, ${r.load_average.end} at the end`);
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
  for (const c of ['c1', 'c16'] as const) {
    const f = r.get_server_under_actions[c];
    lines.push(`| GET /servers/{id} while ${r.get_server_under_actions.accepted_per_second} actions/s are accepted (bare route in turns: ${n(f.bare_rps)} req/s) | ${f.connections} | ${n(f.rps)} | ${f.p50_ms} | ${f.p99_ms} | ${f.mean_ms} | ${f.ratio.toFixed(2)} |`);
  }
  for (const [label, fig] of rt) {
    for (const c of ['c1', 'c16'] as const) {
      const f = fig[c];
      lines.push(`| ${label} | ${f.connections} | ${n(f.per_second)} | ${f.p50_ms} | ${f.p99_ms} | ${f.mean_ms} | |`);
    }
  }
  lines.push('');
  lines.push(`seeding: ${n(r.seed.servers)} servers in ${r.seed.seconds} s (${n(r.seed.per_second)}/s; ${r.seed.total_seconds} s with database setup)`);
  lines.push(`database: ${(r.database_bytes / 2 ** 20).toFixed(1)} MB; start-up: ${r.startup_ms.median} ms (runs ${r.startup_ms.runs.join(', ')})`);
  const b = r.build_burst;
  lines.push(`burst of ${n(b.builds)} builds: all ACTIVE in ${b.seconds_to_active} s; a GET /servers/{id} every 5 ms meanwhile (${n(b.probes)}) waited p50 ${b.probe_p50_ms} ms, p99 ${b.probe_p99_ms} ms, max ${b.probe_max_ms} ms`);
  lines.push(`RSS: ${r.rss_mb.after_start} MB after start, ${r.rss_mb.after_load} MB after load, peak ${r.rss_mb.peak} MB`);
  lines.push('');
  lines.push(...pgTable(r.postgres));
  lines.push('');
  lines.push('| target | goal | measured | |');
  lines.push('|---|---|---|---|');
  for (const t of r.targets) lines.push(`| ${t.name} | ${t.target} | ${t.value} | ${t.met === null ? 'n/a at this size' : t.met ? 'met' : 'NOT MET'} |`);
  return lines.join('\n');
}

function pgTable(pg: BenchResult['postgres']): string[] {
  if ('skipped' in pg) return [`PostgreSQL tables: not run (${pg.skipped})`];
  const n = (x: number) => x.toLocaleString('en');
  const lines = [`PostgreSQL — ${n(pg.servers)} servers seeded in ${pg.seed.seconds} s (${n(pg.seed.per_second)}/s), the same bare route measured beside it`, ''];
  lines.push('| scenario (PostgreSQL) | conn | req/s | p50 ms | p99 ms | mean ms | vs bare route |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|');
  const row = (label: string, f: { connections: number; rps: number; p50_ms: number; p99_ms: number; mean_ms: number }, ratio: string) =>
    lines.push(`| ${label} | ${f.connections} | ${n(f.rps)} | ${f.p50_ms} | ${f.p99_ms} | ${f.mean_ms} | ${ratio} |`);
  for (const c of ['c1', 'c16'] as const) row('bare Fastify route', pg.baseline[c], '1.00');
  const reads: [string, typeof pg.get_server][] = [
    ['GET /servers/{id}', pg.get_server],
    ['GET /servers/detail?status=ACTIVE&limit=100', pg.detail_active_first],
    ['… deep page (marker mid-set)', pg.detail_active_deep],
  ];
  for (const [label, fig] of reads) for (const c of ['c1', 'c16'] as const) row(label, fig[c], fig[c].ratio.toFixed(2));
  const r = pg.replicas;
  row('GET /servers/{id}, one replica', r.one, r.one.ratio.toFixed(2));
  lines.push(`| GET /servers/{id}, two replicas (${r.two.per_replica.map((f) => f.connections).join(' + ')} conn) | ${r.connections} | ${n(r.two.rps)} | ${r.two.per_replica.map((f) => f.p50_ms).join(' / ')} | ${r.two.per_replica.map((f) => f.p99_ms).join(' / ')} | ${r.two.per_replica.map((f) => f.mean_ms).join(' / ')} | ${r.two.ratio.toFixed(2)} |`);
  lines.push('');
  lines.push(`two replicas against one: ${r.two_vs_one.toFixed(2)}× the requests per second (same ${r.connections} connections, same database)`);
  return lines;
}
