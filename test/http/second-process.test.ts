// A second `novabox serve` on the same SQLite file while the first one's builds run: on the same
// port it refuses before it changes anything; on another port it joins, and every build of the
// first still ends ACTIVE (restart recovery leaves work that a live process holds alone).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { token, call } from '../helpers/remote.ts';
import { REPO_ROOT, startNovabox, type RunningNovabox } from '../../conformance/lib/novabox.ts';

const IMAGE = '4fa04c19-09fa-51ff-9872-fac075d1145b';
// Manual clocks: the builds of each process wait until the test advances that process's clock, so
// the second process surely starts while the first one's builds are in flight.
const OPTS = { timeScale: 1, config: { clock: 'manual' } };

async function servers(base: string, tok: string): Promise<Record<string, any>[]> {
  const res = await call(base, tok, 'GET', '/servers/detail');
  assert.equal(res.status, 200);
  return (await res.json()).servers;
}

async function advance(base: string, seconds: number): Promise<void> {
  const res = await fetch(`${base}/novabox/v1/clock`, {
    method: 'POST', headers: { 'x-auth-token': await token(base, 'admin'), 'content-type': 'application/json' }, body: JSON.stringify({ advance: seconds }),
  });
  assert.equal(res.status, 200, await res.text());
}

async function settled(base: string, tok: string, ids: string[], ms = 90_000): Promise<Record<string, any>[]> {
  const end = Date.now() + ms;
  for (;;) {
    const all = (await servers(base, tok)).filter((s) => ids.includes(s.id));
    if (all.length === ids.length && all.every((s) => s['OS-EXT-STS:task_state'] === null && s.status !== 'BUILD')) return all;
    if (Date.now() > end) throw new Error(`timed out: ${all.map((s) => `${s.name} ${s.status}/${s['OS-EXT-STS:task_state']}`).join(', ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('a second process on the same SQLite file: same port refuses, another port joins; every build ends ACTIVE', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'novabox-two-'));
  const db = join(dir, 'novabox.db');
  const procs: RunningNovabox[] = [];
  try {
    const first = await startNovabox({ dir, ...OPTS });
    procs.push(first);
    const tok = await token(first.url);
    const create = async (base: string, t: string, name: string) => {
      const res = await call(base, t, 'POST', '/servers', { server: { name, flavorRef: '42', imageRef: IMAGE } });
      assert.equal(res.status, 202, await res.clone().text());
      return (await res.json()).server.id as string;
    };
    const ids: string[] = [];
    for (let i = 1; i <= 4; i++) ids.push(await create(first.url, tok, `first-${i}`));

    // Same port: refused with a clear message, before recovery could touch the builds.
    const same = spawn(process.execPath, ['bin/novabox.js', 'serve', '--host', '127.0.0.1', '--db', db, '--port', String(first.port), '--clock', 'manual'], {
      cwd: REPO_ROOT, env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NOVABOX_'))), stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    same.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((r) => same.once('exit', r));
    assert.notEqual(code, 0);
    assert.match(err, /already in use/);
    const during = (await servers(first.url, tok)).filter((s) => ids.includes(s.id));
    assert.ok(during.every((s) => s.status === 'BUILD' || s.status === 'ACTIVE'), during.map((s) => s.status).join(','));

    // Another port: joins the same database.
    const second = await startNovabox({ dir, ...OPTS });
    procs.push(second);
    const tok2 = await token(second.url);
    const mid = (await servers(second.url, tok2)).filter((s) => ids.includes(s.id));
    assert.equal(mid.length, 4);
    assert.ok(mid.every((s) => s.status === 'BUILD'), 'the second process started while the builds ran, and left them alone');
    for (let i = 1; i <= 2; i++) ids.push(await create(second.url, tok2, `second-${i}`));
    await advance(first.url, 60);
    await advance(second.url, 60);

    for (const [base, t] of [[first.url, tok], [second.url, tok2]] as const) {
      const done = await settled(base, t, ids);
      assert.deepEqual(done.map((s) => `${s.name} ${s.status}`).sort(), ids.map((_, i) => (i < 4 ? `first-${i + 1} ACTIVE` : `second-${i - 3} ACTIVE`)).sort());
    }
    const list = async (base: string, t: string) => (await servers(base, t)).map((s) => s.id).sort();
    assert.deepEqual(await list(first.url, tok), await list(second.url, tok2));
  } finally {
    for (const p of procs) await p.stop({ removeDir: false });
    rmSync(dir, { recursive: true, force: true });
  }
});
