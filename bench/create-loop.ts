// A profiling aid for create → ACTIVE: one in-process novabox on a fresh SQLite file (or NOVABOX_DB),
// then sequential POST /servers → poll until ACTIVE, printing wall p50 and CPU per round trip.
// `node --import tsx bench/create-loop.ts [count]`; under `node --cpu-prof` for a profile; COUNT_SQL=1
// counts statements per round trip, COUNT_EXEC=1 transactions (COUNT_EXEC=stack: where they begin).
import { SEED_IMAGES } from '../src/api/image/model.ts';
import { inProcessNovabox } from './in-process.ts';
import { percentile } from './load.ts';

const count = Number(process.argv[2] ?? 300);
const { nb, demo, sqlCount, execs, close } = await inProcessNovabox('create-loop');
const walls: number[] = [];
const cpus: number[] = [];
let polls = 0;
for (let i = 0; i < count; i++) {
  const c0 = process.cpuUsage();
  const t = performance.now();
  const body = await demo.call('POST', '/compute/v2.1/servers', { server: { name: `loop-${i}`, flavorRef: '42', imageRef: SEED_IMAGES[0].id } }, [202]);
  polls += await demo.waitStatus(body.server.id, 'ACTIVE');
  walls.push(performance.now() - t);
  const c = process.cpuUsage(c0);
  cpus.push((c.user + c.system) / 1000);
  if (i === 49) { walls.length = 0; cpus.length = 0; polls = 0; sqlCount.clear(); } // warm-up
}
const s = (a: number[]) => [...a].sort((x, y) => x - y);
console.log(`round trips ${walls.length}: wall p50 ${percentile(s(walls), 50).toFixed(2)} ms, p90 ${percentile(s(walls), 90).toFixed(2)} ms; cpu p50 ${percentile(s(cpus), 50).toFixed(2)} ms (client + server); polls/trip ${(polls / walls.length).toFixed(2)}`);
let totalN = 0, totalMs = 0;
for (const [k, v] of [...sqlCount].sort((a, b) => b[1].ms - a[1].ms)) { totalN += v.n; totalMs += v.ms; console.log(`${(v.n / walls.length).toFixed(2)}/trip ${(v.ms / walls.length).toFixed(3)} ms/trip  ${k}`); }
if (sqlCount.size) console.log(`all statements: ${(totalN / walls.length).toFixed(1)} per trip, ${(totalMs / walls.length).toFixed(2)} ms per trip`);
for (const [k, v] of execs) console.log(`${k}: ${(v.n / count).toFixed(1)} per trip, ${(v.ms / v.n).toFixed(3)} ms each`);
await close();
