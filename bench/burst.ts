// A profiling aid for the build burst: one in-process novabox on a fresh SQLite file, multi-creates of
// 100 servers four at a time while a probe reads one server every 5 ms; prints the probe's waits and
// the event loop's longest stalls with what ran in them (units of work by where they began).
// `node --import tsx bench/burst.ts [builds]`; STALL_MS (default 50) is the gap reported as a stall.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { createNovabox } from '../src/novabox.ts';
import { SEED_IMAGES } from '../src/api/image/model.ts';
import { Client, percentile } from './load.ts';

const builds = Number(process.argv[2] ?? 2000);
const stallMs = Number(process.env.STALL_MS ?? 50);
const dir = mkdtempSync(join(tmpdir(), 'novabox-burst-'));
const cfgFile = join(dir, 'config.json');
writeFileSync(cfgFile, JSON.stringify({ cpu_allocation_ratio: 1e9, ram_allocation_ratio: 1e9, disk_allocation_ratio: 1e9 }));
const config = loadConfig({ db: process.env.NOVABOX_DB ?? join(dir, 'n.db'), time_scale: 0, log_level: 'silent', port: 0, config: cfgFile }, {});
const nb = await createNovabox(config);
const demoProject = await nb.services.identity.store.projectByName('default', 'demo');
await nb.services.engine.setQuotaLimits(demoProject!.id, { instances: -1, cores: -1, ram: -1 });
await nb.app.listen({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${(nb.app.server.address() as { port: number }).port}`;
const res = await fetch(`${base}/identity/v3/auth/tokens`, {
  method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'demo', domain: { name: 'Default' }, password: 'secret' } } }, scope: { project: { name: 'demo', domain: { name: 'Default' } } } } }),
});
await res.text();
const demo = new Client(base, res.headers.get('x-subject-token')!);
const image = SEED_IMAGES[0].id;
const probeId = (await demo.call('POST', '/compute/v2.1/servers', { server: { name: 'probe', flavorRef: '42', imageRef: image } }, [202])).server.id;
await demo.waitStatus(probeId, 'ACTIVE');

// What ran between two turns of a 1 ms ticker: the units of work (by the first frames outside the
// store) and how long each held the connection.
const ran = new Map<string, { n: number; ms: number }>();
const db = nb.services.db as unknown as { exec: (s: string) => unknown };
const exec = db.exec.bind(db);
let began = 0;
let where = '';
db.exec = (s: string) => {
  if (s === 'BEGIN IMMEDIATE') {
    began = performance.now();
    where = (new Error().stack ?? '').split('\n').slice(3, 12).map((l) => l.trim()).filter((l) => /src\/(api|engine)\//.test(l)).slice(0, 2)
      .map((l) => l.replace(/^at (async )?/, '').replace(/\(?file:\/\/[^)]*\/src\//, '').replace(/\)$/, '')).join(' < ');
  }
  const r = exec(s);
  if (s === 'COMMIT' || s === 'ROLLBACK') {
    units++;
    const e = ran.get(where) ?? { n: 0, ms: 0 };
    e.n++; e.ms += performance.now() - began; ran.set(where, e);
  }
  return r;
};
const stalls: { gap: number; ran: [string, { n: number; ms: number }][] }[] = [];
let last = performance.now();
const ticker = setInterval(() => {
  const now = performance.now();
  if (now - last > stallMs) stalls.push({ gap: now - last, ran: [...ran].sort((a, b) => b[1].ms - a[1].ms).slice(0, 6) });
  ran.clear();
  last = now;
}, 1);
const h = monitorEventLoopDelay({ resolution: 5 });
h.enable();

const probeMs: number[] = [];
let probing = true;
const probe = (async () => {
  while (probing) {
    const t = performance.now();
    await demo.call('GET', `/compute/v2.1/servers/${probeId}`);
    probeMs.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 5));
  }
})();
const tb = performance.now();
const cpu0 = process.cpuUsage();
let units = 0;
let sent = 0;
await Promise.all(Array.from({ length: 4 }, async () => {
  while (sent < builds) {
    const count = Math.min(100, builds - sent);
    sent += count;
    await demo.call('POST', '/compute/v2.1/servers', { server: { name: `burst-${sent}`, flavorRef: '42', imageRef: image, min_count: count, max_count: count } }, [202]);
  }
}));
const accepted = (performance.now() - tb) / 1000;
for (;;) {
  const building = await demo.call('GET', '/compute/v2.1/servers?status=BUILD&limit=1');
  if (building.servers.length === 0) break;
  await new Promise((r) => setTimeout(r, 50));
}
const seconds = (performance.now() - tb) / 1000;
const cpu = process.cpuUsage(cpu0);
probing = false;
await probe;
clearInterval(ticker);
h.disable();
const s = [...probeMs].sort((a, b) => a - b);
console.log(`${builds} builds: accepted in ${accepted.toFixed(2)} s, all ACTIVE in ${seconds.toFixed(2)} s; probe (${s.length}) p50 ${percentile(s, 50).toFixed(1)} ms, p99 ${percentile(s, 99).toFixed(1)} ms, max ${s.at(-1)?.toFixed(1)} ms`);
console.log(`cpu ${((cpu.user + cpu.system) / 1000 / builds).toFixed(2)} ms per build (client + server), units of work per build ${(units / builds).toFixed(1)}`);
console.log(`event loop delay: p50 ${(h.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(h.percentile(99) / 1e6).toFixed(1)} ms, max ${(h.max / 1e6).toFixed(1)} ms`);
for (const st of stalls.sort((a, b) => b.gap - a.gap).slice(0, Number(process.env.STALLS ?? 8))) {
  console.log(`stall ${st.gap.toFixed(1)} ms:`);
  for (const [k, v] of st.ran) console.log(`   ${v.n} × ${k}: ${v.ms.toFixed(1)} ms`);
}
await nb.close();
rmSync(dir, { recursive: true, force: true });
