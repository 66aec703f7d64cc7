// A profiling aid for the build burst: one in-process novabox (bench/in-process.ts), multi-creates of
// 100 servers four at a time while a probe reads one server every 5 ms; prints the probe's waits and
// the event loop's longest stalls with what ran in them (units of work by where they began).
// `node --import tsx bench/burst.ts [builds]`; STALL_MS (default 50) is the gap reported as a stall.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SEED_IMAGES } from '../src/api/image/model.ts';
import { inProcessNovabox } from './in-process.ts';
import { buildBurst, percentile } from './load.ts';

const builds = Number(process.argv[2] ?? 2000);
const stallMs = Number(process.env.STALL_MS ?? 50);
const { nb, demo, close } = await inProcessNovabox('burst');
const image = SEED_IMAGES[0].id;
const probeId = (await demo.call('POST', '/compute/v2.1/servers', { server: { name: 'probe', flavorRef: '42', imageRef: image } }, [202])).server.id;
await demo.waitStatus(probeId, 'ACTIVE');

// What ran between two turns of a 1 ms ticker: the units of work (by the first frames outside the
// store) and how long each held the connection.
const ran = new Map<string, { n: number; ms: number }>();
let units = 0;
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

const cpu0 = process.cpuUsage();
const { probeMs, seconds, acceptedSeconds: accepted } = await buildBurst(demo, builds, image, `/compute/v2.1/servers/${probeId}`);
const cpu = process.cpuUsage(cpu0);
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
await close();
