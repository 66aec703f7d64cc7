// Live-migration force-complete (2.22) and abort (2.24) over HTTP. The simulated hypervisor runs at
// time scale 1 during a migration so it is still in progress when the request arrives; boots and
// clean-ups run at scale 0 (changed through novabox's admin API).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { act, boot, call, setup, type Env } from './servers-helpers.ts';

let env: Env;
before(async () => {
  env = await setup({ time_scale: 1 });
});
after(() => env?.close());

async function timeScale(scale: number): Promise<void> {
  const r = await env.nb.app.inject({ method: 'PUT', url: '/novabox/v1/time-scale', headers: { 'x-auth-token': env.admin }, payload: { time_scale: scale } });
  assert.equal(r.statusCode, 200, r.body);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function server(id: string): Promise<Record<string, any>> {
  return (await call(env, { url: `/servers/${id}`, token: env.admin })).json().server;
}

/** An ACTIVE admin server (booted at scale 0). */
async function activeServer(name: string): Promise<string> {
  await timeScale(0);
  const id = await boot(env, env.admin, { name });
  await until('ACTIVE', async () => ((await server(id)).status === 'ACTIVE' ? true : undefined));
  return id;
}

/** Starts a live migration at scale 1 and waits for its record to reach `status`; returns its id. */
async function liveMigrate(id: string, status: 'preparing' | 'running'): Promise<number> {
  await timeScale(1);
  const r = await act(env, env.admin, id, { 'os-migrateLive': { host: null, block_migration: 'auto' } }, '2.25');
  assert.equal(r.statusCode, 202, r.body);
  return until(`migration ${status}`, async () => {
    const list = (await call(env, { url: `/servers/${id}/migrations`, token: env.admin, mv: '2.24' })).json().migrations as { id: number; status: string }[];
    return list.find((m) => m.status === status)?.id;
  });
}

const forceComplete = (id: string, mid: number | string, mv = '2.22', token = env.admin, body: unknown = { force_complete: null }) =>
  call(env, { method: 'POST', url: `/servers/${id}/migrations/${mid}/action`, token, mv, body });
const abort = (id: string, mid: number | string, mv = '2.24', token = env.admin) =>
  call(env, { method: 'DELETE', url: `/servers/${id}/migrations/${mid}`, token, mv });

test('force_complete a running live migration: 202, the server lands on the other host', async () => {
  const id = await activeServer('lm-force');
  const source = (await server(id))['OS-EXT-SRV-ATTR:host'];
  const mid = await liveMigrate(id, 'running');
  assert.equal((await forceComplete(id, mid, '2.21')).statusCode, 404);
  const r = await forceComplete(id, mid);
  assert.equal(r.statusCode, 202, r.body);
  assert.equal(r.body, '');
  const done = await until('ACTIVE after migration', async () => {
    const s = await server(id);
    return s.status === 'ACTIVE' && s['OS-EXT-STS:task_state'] === null ? s : undefined;
  });
  assert.notEqual(done['OS-EXT-SRV-ATTR:host'], source);
  const actions = (await call(env, { url: `/servers/${id}/os-instance-actions`, token: env.admin })).json().instanceActions.map((a: { action: string }) => a.action);
  assert.ok(actions.includes('live_migration_force_complete'), actions.join(','));
  // Finished: nothing to force any more (the server is no longer migrating).
  assert.equal((await forceComplete(id, mid)).statusCode, 409);
});

test('force_complete refuses bad bodies, other users, unknown and non-running migrations', async () => {
  const id = await activeServer('lm-force-bad');
  const mid = await liveMigrate(id, 'preparing');
  const notRunning = await forceComplete(id, mid);
  assert.deepEqual([notRunning.statusCode, notRunning.json()], [400, { badRequest: { code: 400, message: `Migration ${mid} state of instance ${id} is preparing. Cannot force complete while the migration is in this state.` } }]);
  await until('running', async () => ((await call(env, { url: `/servers/${id}/migrations/${mid}`, token: env.admin, mv: '2.24' })).json().migration?.status === 'running' ? true : undefined));
  const badBody = await forceComplete(id, mid, '2.22', env.admin, { force_complete: {} });
  assert.equal(badBody.statusCode, 400);
  const noAction = await forceComplete(id, mid, '2.22', env.admin, { finish: null });
  assert.equal(noAction.statusCode, 400);
  const unknown = await forceComplete(id, 99999);
  assert.deepEqual([unknown.statusCode, unknown.json()], [400, { badRequest: { code: 400, message: `Migration 99999 not found for instance ${id}` } }]);
  const member = await forceComplete(id, mid, '2.22', env.demo);
  assert.equal(member.statusCode, 404); // another project's server
  const missing = await forceComplete('00000000-0000-4000-8000-000000000000', mid);
  assert.equal(missing.statusCode, 404);
  // None of that disturbed the migration.
  assert.equal((await call(env, { url: `/servers/${id}/migrations/${mid}`, token: env.admin, mv: '2.24' })).json().migration.status, 'running');
  assert.equal((await forceComplete(id, mid)).statusCode, 202);
});

test('abort a running live migration: 202, the migration is cancelled and the server stays put', async () => {
  const id = await activeServer('lm-abort');
  const source = (await server(id))['OS-EXT-SRV-ATTR:host'];
  const mid = await liveMigrate(id, 'running');
  assert.equal((await abort(id, mid, '2.23')).statusCode, 404);
  const r = await abort(id, mid);
  assert.equal(r.statusCode, 202, r.body);
  assert.equal(r.body, '');
  const s = await server(id);
  assert.equal(s.status, 'ACTIVE');
  assert.equal(s['OS-EXT-STS:task_state'], null);
  assert.equal(s['OS-EXT-SRV-ATTR:host'], source);
  const m = (await call(env, { url: `/os-migrations?instance_uuid=${id}`, token: env.admin, mv: '2.23' })).json().migrations.find((x: { id: number }) => x.id === mid);
  assert.equal(m.status, 'cancelled');
  assert.deepEqual((await call(env, { url: `/servers/${id}/migrations`, token: env.admin, mv: '2.24' })).json().migrations, []);
  const again = await abort(id, mid);
  assert.equal(again.statusCode, 409);
  assert.match(again.json().conflictingRequest.message, /^Cannot 'abort live migration' instance .* while it is in task_state None$/);
});

test('abort of a preparing migration needs 2.65; unknown migrations are 404', async () => {
  const id = await activeServer('lm-abort-queued');
  const mid = await liveMigrate(id, 'preparing');
  const unknown = await abort(id, 99999, '2.65');
  assert.deepEqual([unknown.statusCode, unknown.json()], [404, { itemNotFound: { code: 404, message: `Migration 99999 not found for instance ${id}` } }]);
  const early = await abort(id, mid, '2.64');
  assert.deepEqual([early.statusCode, early.json()], [400, { badRequest: { code: 400, message: `Migration ${mid} state of instance ${id} is preparing. Cannot abort live migration while the migration is in this state.` } }]);
  assert.equal((await abort(id, mid, '2.65', env.demo)).statusCode, 404);
  const r = await abort(id, mid, '2.65');
  assert.equal(r.statusCode, 202, r.body);
  assert.equal((await server(id))['OS-EXT-STS:task_state'], null);
});
