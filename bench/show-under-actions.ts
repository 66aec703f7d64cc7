// A profiling aid for issue 9's "GET /servers/{id} while ~35 actions/s are accepted": one novabox
// child (as the bench starts it, NOVABOX_NODE_ARGS added to its node, e.g. "--cpu-prof
// --cpu-prof-dir=/tmp/prof"), 20 + ACTED (default 20) servers booted, then autocannon on GET /servers/{id} of
// 20 of them while soft reboots of the others are posted at ACTIONS_PER_SECOND (default 35; 0 for none;
// ACT_ON_MISSING=1 posts them to a server that does not exist: the HTTP cost without the engine's).
// `node --import tsx bench/show-under-actions.ts [connections] [seconds]`.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SEED_IMAGES } from '../src/api/image/model.ts';
import { startNovabox, token } from './bench.ts';
import { cannon, Client, paceActions } from './load.ts';

const connections = Number(process.argv[2] ?? 16);
const seconds = Number(process.argv[3] ?? 5);
const perSecond = Number(process.env.ACTIONS_PER_SECOND ?? 35);
const ACTED = Number(process.env.ACTED ?? 20);
const dir = mkdtempSync(join(tmpdir(), 'novabox-show-under-actions-'));
const port = 18000 + Math.floor(Math.random() * 1000);
const nb = await startNovabox(join(dir, 'n.db'), port, dir);
try {
  const t = await token(nb.base, 'demo', 'demo');
  const demo = new Client(nb.base, t);
  const admin = new Client(nb.base, await token(nb.base, 'admin', 'admin'));
  const demoProject = (await admin.call('GET', '/identity/v3/projects?name=demo')).projects[0].id;
  await admin.call('PUT', `/compute/v2.1/os-quota-sets/${demoProject}`, { quota_set: { instances: -1, cores: -1, ram: -1 } });
  const uuids: string[] = [];
  const total = 20 + ACTED;
  for (let i = 0; i < total; i++) {
    const body = await demo.call('POST', '/compute/v2.1/servers', { server: { name: `p-${i}`, flavorRef: '42', imageRef: SEED_IMAGES[0].id } }, [202]);
    uuids.push(body.server.id);
  }
  for (const u of uuids) await demo.waitStatus(u, 'ACTIVE');
  const read = uuids.slice(0, 20).map((u) => `/compute/v2.1/servers/${u}`);
  const acted = uuids.slice(20);
  const missing = '00000000-0000-4000-8000-000000000000';
  let next = 0;
  const t0 = performance.now();
  const actions = perSecond > 0
    ? paceActions(nb.base, t, () => (process.env.ACT_ON_MISSING ? missing : acted[next++ % acted.length]), perSecond, process.env.ACT_ON_MISSING ? [404] : [202])
    : null;
  const f = await cannon(nb.base, read, { connections, duration: seconds, headers: { 'x-auth-token': t } });
  const accepted = actions ? (await actions.stop()).accepted : 0;
  console.log(`GET /servers/{id}, ${connections} conn, ${seconds} s: ${f.rps} req/s, p50 ${f.p50_ms} ms, p99 ${f.p99_ms} ms, errors ${f.errors}; actions accepted ${(accepted / ((performance.now() - t0) / 1000)).toFixed(1)}/s`);
} finally {
  await nb.stop();
}
