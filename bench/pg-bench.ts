// The PostgreSQL tables of `npm run bench`: N servers seeded into a throw-away database
// (bench/seed-pg.ts), `novabox serve --db postgres://…` on it, and next to the same bare Fastify
// route in the same run: GET /servers/{id} and the detail pages, then the same GET /servers/{id}
// load on two replicas (half the connections each) against one replica (all of them).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../conformance/lib/novabox.ts';
import { startChild, startNovabox, token, type Child } from './bench.ts';
import { cannon, round, type LoadFigures } from './load.ts';
import { seedPostgres } from './seed-pg.ts';
import { createPostgresDatabase, PG_ADMIN_URL } from '../test/helpers/postgres.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface PgOptions {
  servers: number;
  duration: number;
  rounds: number;
  log?: (msg: string) => void;
}

type Ratioed = LoadFigures & { ratio: number };

export interface PgResult {
  servers: number;
  seed: { seconds: number; per_second: number };
  baseline: { c1: LoadFigures; c16: LoadFigures };
  get_server: { c1: Ratioed; c16: Ratioed };
  detail_active_first: { c1: Ratioed; c16: Ratioed };
  detail_active_deep: { c1: Ratioed; c16: Ratioed };
  /** GET /servers/{id} at 16 connections: one replica, then two replicas with 8 each at once. */
  replicas: { connections: number; one: LoadFigures & { ratio: number }; two: { rps: number; ratio: number; per_replica: LoadFigures[] }; two_vs_one: number };
}

/** Null with the reason when no PostgreSQL answers (and NOVABOX_TEST_PG_REQUIRED is not 1). */
export async function runPgBench(opts: PgOptions): Promise<PgResult | { skipped: string }> {
  const log = opts.log ?? (() => undefined);
  // A throw-away database, as the tests make them (NOVABOX_TEST_PG names the server; with
  // NOVABOX_TEST_PG_REQUIRED=1 a missing server is an error rather than a skip).
  const made = await createPostgresDatabase();
  if (!made) {
    log(`PostgreSQL scenarios skipped: no PostgreSQL at ${PG_ADMIN_URL}`);
    return { skipped: `no PostgreSQL at ${PG_ADMIN_URL}` };
  }
  const dir = mkdtempSync(join(tmpdir(), 'novabox-bench-pg-'));
  const children: Child[] = [];
  try {
    log(`PostgreSQL: seeding ${opts.servers} servers`);
    const seed = await seedPostgres(made.url, opts.servers, log);
    log(`  ${round(seed.seed_ms / 1000, 2)} s`);
    const nb = await startNovabox(made.url, await freePort(), dir);
    children.push(nb);
    const demoToken = await token(nb.base, 'demo', 'demo');
    const headers = { 'x-auth-token': demoToken };
    const serverPaths = seed.demo_sample.map((u) => `/compute/v2.1/servers/${u}`);

    const sample = await fetch(nb.base + serverPaths[0], { headers });
    const bodyFile = join(dir, 'server.json');
    writeFileSync(bodyFile, await sample.text());
    const bport = await freePort();
    const bare = await startChild(['--import', 'tsx', join(ROOT, 'bench/baseline.ts'), bodyFile, String(bport)], bport, '/item');
    children.push(bare);

    const run = (base: string, paths: string[], c: number, h?: Record<string, string>) => cannon(base, paths, { connections: c, duration: opts.duration, headers: h });
    const median = (fs: LoadFigures[]) => [...fs].sort((a, b) => a.rps - b.rps)[Math.floor(fs.length / 2)];
    const ratioed = (f: LoadFigures, b: LoadFigures): Ratioed => {
      if (f.errors) throw new Error(`PostgreSQL scenario: ${f.errors} failed requests`);
      return { ...f, ratio: round(f.rps / b.rps, 3) };
    };
    const baseline = {} as PgResult['baseline'];
    const get_server = {} as PgResult['get_server'];
    for (const c of [1, 16] as const) {
      log(`PostgreSQL: bare route and GET /servers/{id} in turns, ${c} connection(s)`);
      const b: LoadFigures[] = [];
      const g: LoadFigures[] = [];
      for (let i = 0; i < opts.rounds; i++) {
        b.push(await run(bare.base, ['/item'], c));
        g.push(await run(nb.base, serverPaths, c, headers));
      }
      baseline[`c${c}`] = median(b);
      get_server[`c${c}`] = ratioed(median(g), baseline[`c${c}`]);
    }
    const detail = '/compute/v2.1/servers/detail?status=ACTIVE&limit=100';
    const page = async (name: string, path: string) => {
      log(`PostgreSQL: ${name}`);
      const out = {} as { c1: Ratioed; c16: Ratioed };
      for (const c of [1, 16] as const) out[`c${c}`] = ratioed(await run(nb.base, [path], c, headers), baseline[`c${c}`]);
      return out;
    };
    const detail_active_first = await page('detail first page', detail);
    const detail_active_deep = await page('detail deep page', `${detail}&marker=${seed.demo_active_middle}`);

    // Two replicas on the same database against one, same total connections, in alternating turns.
    log('PostgreSQL: one replica against two, GET /servers/{id}, 16 connections');
    const second = await startNovabox(made.url, await freePort(), dir);
    children.push(second);
    const secondHeaders = { 'x-auth-token': await token(second.base, 'demo', 'demo') };
    const ones: LoadFigures[] = [];
    const twos: LoadFigures[][] = [];
    for (let i = 0; i < opts.rounds; i++) {
      ones.push(await run(nb.base, serverPaths, 16, headers));
      twos.push(await Promise.all([run(nb.base, serverPaths, 8, headers), run(second.base, serverPaths, 8, secondHeaders)]));
    }
    const one = median(ones);
    const sum = (fs: LoadFigures[]) => fs.reduce((a, f) => a + f.rps, 0);
    const two = [...twos].sort((a, b) => sum(a) - sum(b))[Math.floor(twos.length / 2)];
    for (const f of [one, ...two]) if (f.errors) throw new Error(`replica scenario: ${f.errors} failed requests`);
    const twoRps = round(sum(two));
    await bare.stop();
    return {
      servers: opts.servers,
      seed: { seconds: round(seed.seed_ms / 1000, 2), per_second: Math.round(opts.servers / (seed.seed_ms / 1000)) },
      baseline, get_server, detail_active_first, detail_active_deep,
      replicas: {
        connections: 16,
        one: { ...one, ratio: round(one.rps / baseline.c16.rps, 3) },
        two: { rps: twoRps, ratio: round(twoRps / baseline.c16.rps, 3), per_replica: two },
        two_vs_one: round(twoRps / one.rps, 2),
      },
    };
  } finally {
    for (const c of children) await c.stop().catch(() => undefined);
    await made.drop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
