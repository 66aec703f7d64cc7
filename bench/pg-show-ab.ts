// A/B of GET /servers/{id} on PostgreSQL: novabox from another checkout (`base`, e.g. a `git worktree`
// of an older commit with node_modules linked) and from this one (`mine`), each on its own throw-away
// database with ten servers, in alternating turns beside the same bare route, 1 and 16 connections.
//   node --import tsx bench/pg-show-ab.ts /path/to/other/checkout [seconds per turn]
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { cannon } from './load.ts';
import { createPostgresDatabase } from '../test/helpers/postgres.ts';
import { freePort } from '../conformance/lib/novabox.ts';
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!process.argv[2]) throw new Error('usage: pg-show-ab.ts OTHER_CHECKOUT [SECONDS]');
const roots = { base: process.argv[2], mine: ROOT };
async function start(root: string, db: string) {
  const port = await freePort();
  const child = spawn(process.execPath, ['bin/novabox.js', 'serve', '--db', db, '--port', String(port), '--time-scale', '0', '--log-level', 'silent'], { cwd: root, stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  for (;;) { try { if ((await fetch(base + '/compute/')).ok) break; } catch {} await new Promise((r) => setTimeout(r, 200)); }
  return { base, child };
}
async function tok(base: string) {
  const r = await fetch(`${base}/identity/v3/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'demo', domain: { name: 'Default' }, password: 'secret' } } }, scope: { project: { name: 'demo', domain: { name: 'Default' } } } } }) });
  return r.headers.get('x-subject-token')!;
}
const dur = Number(process.argv[3] ?? 3);
const setups: Record<string, any> = {};
for (const [name, root] of Object.entries(roots)) {
  const made = (await createPostgresDatabase())!;
  const nb = await start(root, made.url);
  const t = await tok(nb.base);
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) {
    const r = await fetch(`${nb.base}/compute/v2.1/servers`, { method: 'POST', headers: { 'x-auth-token': t, 'content-type': 'application/json' }, body: JSON.stringify({ server: { name: `s${i}`, flavorRef: '42', imageRef: '4fa04c19-09fa-51ff-9872-fac075d1145b' } }) });
    ids.push((await r.json()).server.id);
  }
  await new Promise((r) => setTimeout(r, 2000));
  setups[name] = { nb, made, headers: { 'x-auth-token': t }, paths: ids.map((id) => `/compute/v2.1/servers/${id}`) };
}
const body = await (await fetch(setups.mine.nb.base + setups.mine.paths[0], { headers: setups.mine.headers })).text();
const bodyFile = join(mkdtempSync(join(tmpdir(), 'novabox-ab-')), 'server.json');
writeFileSync(bodyFile, body);
const bport = await freePort();
const bare = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/baseline.ts'), bodyFile, String(bport)], { cwd: ROOT, stdio: 'ignore' });
for (;;) { try { if ((await fetch(`http://127.0.0.1:${bport}/item`)).ok) break; } catch {} await new Promise((r) => setTimeout(r, 200)); }
for (const c of [1, 16]) {
  for (let round = 0; round < 3; round++) {
    const b = await cannon(`http://127.0.0.1:${bport}`, ['/item'], { connections: c, duration: dur });
    const r: string[] = [`c${c} bare ${b.rps}`];
    for (const name of Object.keys(roots)) {
      const s = setups[name];
      const f = await cannon(s.nb.base, s.paths, { connections: c, duration: dur, headers: s.headers });
      r.push(`${name} ${f.rps} (${(f.rps / b.rps).toFixed(2)}, mean ${f.mean_ms} ms, err ${f.errors})`);
    }
    console.log(r.join(' | '));
  }
}
bare.kill();
for (const s of Object.values(setups)) { s.nb.child.kill(); await new Promise((r) => setTimeout(r, 500)); await s.made.drop(); }
