// Runs `npm run bench` once with a tiny fleet (--quick) so the benchmark keeps working: every
// figure the README and docs/BENCHMARKS.md quote must be in the JSON, measured and plausible.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

const positive = (x: unknown, what: string) => assert.ok(typeof x === 'number' && Number.isFinite(x) && x > 0, `${what} is a positive number, got ${x}`);
const nonNegative = (x: unknown, what: string) => assert.ok(typeof x === 'number' && Number.isFinite(x) && x >= 0, `${what} is a number >= 0, got ${x}`);

test('npm run bench --quick measures every figure and writes them as JSON', { timeout: 170_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-test-'));
  try {
    const out = join(dir, 'bench.json');
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--servers', '300', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 165_000 });
    assert.equal(run.status, 0, `bench exited with ${run.status}: ${run.stderr.slice(-2000)}`);
    assert.match(run.stdout, /\| GET \/servers\/\{id\} \| 16 \|/, 'the table is printed');
    const r = JSON.parse(readFileSync(out, 'utf8'));

    assert.equal(r.options.servers, 300);
    assert.equal(r.seed.servers, 300);
    positive(r.seed.seconds, 'seed.seconds');
    positive(r.seed.per_second, 'seed.per_second');
    assert.equal(Object.values(r.seed.by_status as Record<string, number>).reduce((a, b) => a + b, 0), 300, 'every seeded server has a status');
    for (const s of ['ACTIVE', 'SHUTOFF', 'ERROR']) positive(r.seed.by_status[s], `seeded ${s} servers`);
    positive(r.database_bytes, 'database_bytes');
    positive(r.startup_ms.median, 'startup_ms.median');
    for (const k of ['after_start', 'after_load', 'peak']) positive(r.rss_mb[k], `rss_mb.${k}`);
    assert.equal(r.body_bytes.baseline, r.body_bytes.server, 'the baseline answers a body of the same size');

    for (const c of ['c1', 'c16']) {
      positive(r.baseline[c].rps, `baseline.${c}.rps`);
      assert.equal(r.baseline[c].errors, 0);
    }
    const reads = ['get_server', 'detail_active_first', 'detail_active_deep', 'detail_all_first', 'detail_all_deep', 'list_shutoff_name', 'detail_active_1000'];
    assert.deepEqual(Object.keys(r.reads).sort(), [...reads].sort());
    for (const k of reads) {
      for (const [c, conns] of [['c1', 1], ['c16', 16]] as const) {
        const f = r.reads[k][c];
        assert.equal(f.connections, conns, `${k}.${c}.connections`);
        positive(f.requests, `${k}.${c}.requests`);
        positive(f.rps, `${k}.${c}.rps`);
        positive(f.ratio, `${k}.${c}.ratio`);
        positive(f.mean_ms, `${k}.${c}.mean_ms`);
        nonNegative(f.p50_ms, `${k}.${c}.p50_ms`);
        assert.ok(f.p99_ms >= f.p50_ms, `${k}.${c}: p99 >= p50`);
        assert.equal(f.errors, 0, `${k}.${c} had no failed requests`);
      }
    }
    for (const k of ['create_to_active', 'stop_to_shutoff', 'start_to_active']) {
      for (const c of ['c1', 'c16']) {
        const f = r[k][c];
        positive(f.count, `${k}.${c}.count`);
        positive(f.p50_ms, `${k}.${c}.p50_ms`);
        assert.ok(f.p99_ms >= f.p50_ms, `${k}.${c}: p99 >= p50`);
        assert.ok(f.polls >= 1, `${k}.${c}: at least one status poll per round trip`);
      }
    }
    for (const c of ['c1', 'c16']) {
      const f = r.get_server_under_actions[c];
      positive(f.rps, `get_server_under_actions.${c}.rps`);
      positive(f.ratio, `get_server_under_actions.${c}.ratio`);
      assert.equal(f.errors, 0);
    }
    positive(r.get_server_under_actions.accepted_per_second, 'actions accepted per second during the reads');
    assert.equal(r.build_burst.builds, 50);
    positive(r.build_burst.seconds_to_active, 'build_burst.seconds_to_active');
    positive(r.build_burst.probes, 'build_burst.probes');
    assert.ok(r.build_burst.probe_max_ms >= r.build_burst.probe_p50_ms);
    assert.equal(r.targets.length, 12, 'every target of issues 6 and 9 is judged or marked n/a');
    positive(r.load_average.start + 1, 'load_average.start');

    // The PostgreSQL tables: measured when PostgreSQL answers (CI requires it), else said why not.
    if ('skipped' in r.postgres) {
      assert.notEqual(process.env.NOVABOX_TEST_PG_REQUIRED, '1', `PostgreSQL tables skipped: ${r.postgres.skipped}`);
      assert.match(run.stdout, /PostgreSQL tables: not run/);
    } else {
      const pg = r.postgres;
      assert.equal(pg.servers, 2000);
      assert.match(run.stdout, /two replicas against one: [\d.]+×/);
      for (const c of ['c1', 'c16']) {
        positive(pg.baseline[c].rps, `postgres.baseline.${c}.rps`);
        for (const k of ['get_server', 'detail_active_first', 'detail_active_deep']) {
          positive(pg[k][c].rps, `postgres.${k}.${c}.rps`);
          positive(pg[k][c].ratio, `postgres.${k}.${c}.ratio`);
          assert.equal(pg[k][c].errors, 0, `postgres.${k}.${c} had no failed requests`);
        }
      }
      positive(pg.replicas.one.rps, 'one replica req/s');
      assert.equal(pg.replicas.two.per_replica.length, 2, 'the load went to two replicas');
      for (const f of pg.replicas.two.per_replica) positive(f.rps, 'each replica answered');
      positive(pg.replicas.two_vs_one, 'two replicas against one');
    }
    for (const t of r.targets) {
      assert.ok(t.name && t.target && t.value, `target ${t.name} is described`);
      assert.ok(t.met === true || t.met === false || t.met === null);
    }
    // A 300-server run judges no fleet-size target.
    assert.equal(r.targets.find((t: { name: string }) => t.name.startsWith('RSS')).met, null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
