// A profiling aid for instance actions (issue 9): one in-process novabox on a fresh SQLite file (or
// NOVABOX_DB), 50 servers booted, then sequential soft reboots (POST /servers/{id}/action → poll
// until ACTIVE), printing CPU per round trip, then CPU per GET /servers/{id} whose memo an action
// invalidated, and per memoized one. `node --import tsx bench/action-loop.ts [count]`; under
// `node --cpu-prof` for a profile; COUNT_SQL=1 counts statements per round trip, COUNT_EXEC=1
// transactions (COUNT_EXEC=stack: where they begin).
import { SEED_IMAGES } from '../src/api/image/model.ts';
import { inProcessNovabox } from './in-process.ts';
import { percentile } from './load.ts';

const count = Number(process.argv[2] ?? 300);
const memo = { cleared: 0, forgotten: 0 };
{
  const { ShowCache } = await import('../src/api/compute/views/show-cache.ts');
  const proto = ShowCache.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const clear = proto.clear, forget = proto.forget;
  proto.clear = function (this: unknown, ...a: unknown[]) { memo.cleared++; return clear.apply(this, a); };
  proto.forget = function (this: unknown, ...a: unknown[]) { memo.forgotten++; return forget.apply(this, a); };
}
const { nb, demo, sqlCount, execs, close } = await inProcessNovabox('action-loop');
const SERVERS = 50;
const uuids: string[] = [];
for (let i = 0; i < SERVERS; i++) {
  const body = await demo.call('POST', '/compute/v2.1/servers', { server: { name: `loop-${i}`, flavorRef: '42', imageRef: SEED_IMAGES[0].id } }, [202]);
  await demo.waitStatus(body.server.id, 'ACTIVE');
  uuids.push(body.server.id);
}
const cpuMs = (c0: NodeJS.CpuUsage) => { const c = process.cpuUsage(c0); return (c.user + c.system) / 1000; };
const walls: number[] = [];
const cpus: number[] = [];
const acceptCpus: number[] = [];
const coldShows: number[] = [];
const warmShows: number[] = [];
let polls = 0;
const warm = Math.min(50, Math.floor(count / 4));
const httpPhases = process.env.ONLY !== 'engine';
for (let i = 0; httpPhases && i < count; i++) {
  const id = uuids[i % SERVERS];
  const c0 = process.cpuUsage();
  const t = performance.now();
  await demo.call('POST', `/compute/v2.1/servers/${id}/action`, { reboot: { type: 'SOFT' } }, [202]);
  acceptCpus.push(cpuMs(c0));
  polls += await demo.waitStatus(id, 'ACTIVE');
  walls.push(performance.now() - t);
  cpus.push(cpuMs(c0));
  if (i === warm - 1) { walls.length = 0; cpus.length = 0; acceptCpus.length = 0; polls = 0; sqlCount.clear(); execs.clear(); memo.cleared = 0; memo.forgotten = 0; } // warm-up
}
const trips = walls.length;
const memoTrips = { ...memo };
// Shows: the server after the previous server's action (memo of this one intact), and right after its own.
const sqlTrips = new Map(sqlCount);
const execTrips = new Map([...execs].map(([k, v]) => [k, { ...v }]));
sqlCount.clear();
for (let i = 0; httpPhases && i < SERVERS * 2; i++) {
  const id = uuids[i % SERVERS];
  const other = uuids[(i + 1) % SERVERS];
  await demo.call('GET', `/compute/v2.1/servers/${id}`);
  await demo.call('POST', `/compute/v2.1/servers/${other}/action`, { reboot: { type: 'SOFT' } }, [202]);
  await demo.waitStatus(other, 'ACTIVE');
  let c0 = process.cpuUsage();
  await demo.call('GET', `/compute/v2.1/servers/${id}`);
  warmShows.push(cpuMs(c0));
  await demo.call('POST', `/compute/v2.1/servers/${id}/action`, { reboot: { type: 'SOFT' } }, [202]);
  await nb.services.engine.settle();
  c0 = process.cpuUsage();
  await demo.call('GET', `/compute/v2.1/servers/${id}`);
  coldShows.push(cpuMs(c0));
}
const s = (a: number[]) => [...a].sort((x, y) => x - y);
// The engine alone (no HTTP): accept, then every transition back to ACTIVE, with no show between.
const engineCpus: number[] = [];
const engineSql = new Map<string, { n: number; ms: number }>();
{
  const s0 = (await nb.services.engine.store.getServer(uuids[0]))!;
  await nb.services.network.idle();
  sqlCount.clear();
  for (let i = 0; i < count; i++) {
    const ctx = { user_id: s0.user_id, project_id: s0.project_id, roles: ['member', 'reader'], request_id: `req-loop-${i}`, microversion: [2, 1] as [number, number] };
    const c0 = process.cpuUsage();
    await nb.services.engine.act(ctx, uuids[i % SERVERS], 'reboot_soft');
    await nb.services.engine.settle();
    await nb.services.network.idle();
    engineCpus.push(cpuMs(c0));
  }
  for (const [k, v] of sqlCount) engineSql.set(k, v);
}
const avg = (a: number[]) => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
if (httpPhases) console.log(`soft reboots ${trips}: cpu mean ${avg(cpus).toFixed(3)} ms, p50 ${percentile(s(cpus), 50).toFixed(3)} ms per accept → ACTIVE incl. polls (client + server); accept alone mean ${avg(acceptCpus).toFixed(3)} ms; polls/trip ${(polls / trips).toFixed(2)}; wall p50 ${percentile(s(walls), 50).toFixed(2)} ms`);
if (httpPhases) console.log(`GET /servers/{id} after another server's action: cpu mean ${avg(warmShows).toFixed(3)} ms p50 ${percentile(s(warmShows), 50).toFixed(3)}; after its own action: mean ${avg(coldShows).toFixed(3)} ms p50 ${percentile(s(coldShows), 50).toFixed(3)}`);
console.log(`engine only (act + settle, no HTTP) ${engineCpus.length}: cpu mean ${avg(engineCpus).toFixed(3)} ms p50 ${percentile(s(engineCpus), 50).toFixed(3)}; statements ${([...engineSql.values()].reduce((a, v) => a + v.n, 0) / engineCpus.length).toFixed(1)} per action`);
if (httpPhases) console.log(`show memo during the reboots: ${(memoTrips.forgotten / trips).toFixed(2)} server invalidations, ${(memoTrips.cleared / trips).toFixed(3)} clears of every entry per round trip (all phases: ${memo.forgotten}, ${memo.cleared})`);
let totalN = 0, totalMs = 0;
for (const [k, v] of [...sqlTrips].sort((a, b) => b[1].n - a[1].n)) { totalN += v.n; totalMs += v.ms; if (process.env.COUNT_SQL === 'all') console.log(`${(v.n / trips).toFixed(2)}/trip ${(v.ms / trips).toFixed(3)} ms/trip  ${k}`); }
if (sqlTrips.size && trips) console.log(`all statements: ${(totalN / trips).toFixed(1)} per reboot round trip, ${(totalMs / trips).toFixed(2)} ms per trip`);
for (const [k, v] of execTrips) if (trips) console.log(`${k}: ${(v.n / trips).toFixed(2)} per reboot round trip, ${(v.ms / v.n).toFixed(3)} ms each`);
await close();
