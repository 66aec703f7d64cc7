// A real process kill: novabox is SIGKILLed with actions in flight, started again on the same
// database, and every server is finished or recovered as Nova's compute does on start-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { token, call } from '../helpers/remote.ts';
import { startNovabox, type RunningNovabox } from '../../conformance/lib/novabox.ts';

const IMAGE = '4fa04c19-09fa-51ff-9872-fac075d1145b';

async function server(base: string, tok: string, id: string): Promise<Record<string, any>> {
  return (await (await call(base, tok, 'GET', `/servers/${id}`)).json()).server;
}

async function waitFor(base: string, tok: string, id: string, pred: (s: Record<string, any>) => boolean, ms = 15000): Promise<Record<string, any>> {
  const end = Date.now() + ms;
  for (;;) {
    const s = await server(base, tok, id);
    if (pred(s)) return s;
    if (Date.now() > end) throw new Error(`timed out: ${id} is ${s.status}/${s['OS-EXT-STS:task_state']}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('SIGKILL with actions in flight, then restart: each server finishes or is recovered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'novabox-kill-'));
  const start = async (timeScale: number) => {
    const nb = await startNovabox({ dir, timeScale });
    return { child: nb.child, base: nb.url, nb };
  };
  let proc: { child: RunningNovabox['child']; base: string; nb: RunningNovabox } = await start(1);
  try {
    let tok = await token(proc.base);
    const create = async (name: string) => {
      const res = await call(proc.base, tok, 'POST', '/servers', { server: { name, flavorRef: '42', imageRef: IMAGE } });
      assert.equal(res.status, 202);
      return (await res.json()).server.id as string;
    };
    const [a, b] = [await create('stopping'), await create('rebooting')];
    for (const id of [a, b]) await waitFor(proc.base, tok, id, (s) => s.status === 'ACTIVE' && s['OS-EXT-STS:task_state'] === null);
    assert.equal((await call(proc.base, tok, 'POST', `/servers/${a}/action`, { 'os-stop': null })).status, 202);
    assert.equal((await call(proc.base, tok, 'POST', `/servers/${b}/action`, { reboot: { type: 'HARD' } })).status, 202);
    const c = await create('building');
    assert.equal((await server(proc.base, tok, a))['OS-EXT-STS:task_state'], 'powering-off');
    assert.equal((await server(proc.base, tok, b)).status, 'HARD_REBOOT');
    assert.equal((await server(proc.base, tok, c)).status, 'BUILD');

    proc.child.kill('SIGKILL');
    await new Promise((r) => proc.child.once('exit', r));

    proc = await start(0);
    tok = await token(proc.base);
    const settled = (s: Record<string, any>) => s['OS-EXT-STS:task_state'] === null;
    assert.equal((await waitFor(proc.base, tok, a, settled)).status, 'SHUTOFF', 'an interrupted stop is retried');
    assert.equal((await waitFor(proc.base, tok, b, settled)).status, 'ACTIVE', 'an interrupted hard reboot ends active');
    assert.equal((await waitFor(proc.base, tok, c, settled)).status, 'ERROR', 'an interrupted build goes to ERROR, as Nova');
    // The recovered servers take actions again.
    assert.equal((await call(proc.base, tok, 'POST', `/servers/${a}/action`, { 'os-start': null })).status, 202);
    assert.equal((await waitFor(proc.base, tok, a, (s) => s.status === 'ACTIVE' && settled(s))).status, 'ACTIVE');
  } finally {
    proc.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
