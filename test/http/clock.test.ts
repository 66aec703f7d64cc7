// The manual clock: steps wait for POST /novabox/v1/clock, which runs what falls due, in order.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { act, boot, call, setup, show, type Env } from './servers-helpers.ts';

let env: Env;
before(async () => {
  // Real step durations (time scale 1), but nothing moves unless the clock is advanced.
  env = await setup({ clock: 'manual', time_scale: 1 });
});
after(() => env.close());

/** The novabox control API (call() would prefix /compute/v2.1). */
function control(e: Env, token: string, method: 'GET' | 'POST', body?: unknown) {
  return e.nb.app.inject({ method, url: '/novabox/v1/clock', headers: { 'x-auth-token': token }, ...(body !== undefined ? { payload: body as object } : {}) });
}

async function clock(): Promise<Record<string, any>> {
  return (await control(env, env.admin, 'GET')).json().clock;
}

async function advance(seconds: number): Promise<Record<string, any>> {
  const r = await control(env, env.admin, 'POST', { advance: seconds });
  assert.equal(r.statusCode, 200, r.body);
  return r.json().clock;
}

async function state(id: string): Promise<string> {
  const s = await show(env, env.admin, id);
  return `${s.status}/${s['OS-EXT-STS:task_state'] ?? '-'}`;
}

test('steps wait for the manual clock', async () => {
  const before = await clock();
  assert.equal(before.kind, 'manual');
  const r = await call(env, { method: 'POST', url: '/servers', token: env.demo, body: { server: { name: 'waits', imageRef: env.imageId, flavorRef: '1' } } });
  assert.equal(r.statusCode, 202, r.body);
  const id = r.json().server.id;
  await new Promise((res) => setTimeout(res, 500));
  assert.equal(await state(id), 'BUILD/scheduling');
  const c = await clock();
  assert.equal(c.now_ms, before.now_ms, 'wall time does not move the clock');
  assert.equal(c.next_step_in, 0.35);
  // scheduling (0.35 s) → networking (0.25) → block_device_mapping (0.15) → spawning (0.15) → active (1.0)
  await advance(0.34);
  assert.equal(await state(id), 'BUILD/scheduling');
  await advance(0.01);
  assert.equal(await state(id), 'BUILD/-');
  await advance(0.25);
  assert.equal(await state(id), 'BUILD/networking');
  await advance(0.3);
  assert.equal(await state(id), 'BUILD/spawning');
  const end = await advance(1);
  assert.equal(await state(id), 'ACTIVE/-');
  assert.equal(end.now_ms, before.now_ms + 1900);
  assert.equal(end.next_step_at, null);
  // launched_at is the step's own time on the simulated clock.
  const s = await show(env, env.admin, id, '2.1');
  assert.equal(Date.parse(s['OS-SRV-USG:launched_at'] + 'Z'), before.now_ms + 1900);
});

test('a resize walked step by step under the manual clock', async () => {
  const r = await call(env, { method: 'POST', url: '/servers', token: env.demo, body: { server: { name: 'resized', imageRef: env.imageId, flavorRef: '1' } } });
  const id = r.json().server.id;
  await advance(1.9);
  assert.equal(await state(id), 'ACTIVE/-');
  const res = await act(env, env.demo, id, { resize: { flavorRef: '2' } });
  assert.equal(res.statusCode, 202, res.body);
  const seen: string[] = [await state(id)];
  // migrate_prepare 0.6 s, migrate_disk 1.2 s, finish_resize 1.3 s twice
  for (const dt of [0.6, 1.2, 1.3, 1.3]) {
    await advance(dt - 0.05);
    assert.equal(await state(id), seen[seen.length - 1], `nothing happens before the step is due (${dt} s)`);
    await advance(0.05);
    seen.push(await state(id));
  }
  assert.deepEqual(seen, ['RESIZE/resize_prep', 'RESIZE/resize_migrating', 'RESIZE/resize_migrated', 'RESIZE/resize_finish', 'VERIFY_RESIZE/-']);
  assert.equal((await show(env, env.demo, id)).flavor.id, '2');
  const confirm = await act(env, env.demo, id, { confirmResize: null });
  assert.equal(confirm.statusCode, 204, confirm.body);
  await advance(2);
  assert.equal(await state(id), 'ACTIVE/-');
});

test('one large advance runs every step in order, each at its own time', async () => {
  const r = await call(env, { method: 'POST', url: '/servers', token: env.demo, body: { server: { name: 'leap', imageRef: env.imageId, flavorRef: '1' } } });
  const id = r.json().server.id;
  const t0 = (await clock()).now_ms;
  await advance(60);
  assert.equal(await state(id), 'ACTIVE/-');
  const actions = await call(env, { url: `/servers/${id}/os-instance-actions`, token: env.demo, mv: '2.51' });
  const req = actions.json().instanceActions[0].request_id;
  const detail = (await call(env, { url: `/servers/${id}/os-instance-actions/${req}`, token: env.admin, mv: '2.51' })).json().instanceAction;
  const ev = Object.fromEntries(detail.events.map((e: any) => [e.event, e]));
  // Each event spans its steps: scheduling from the request to 350 ms, the build from there to 1900 ms.
  assert.equal(Date.parse(ev.conductor_schedule_and_build_instances.start_time + 'Z'), t0);
  assert.equal(Date.parse(ev.conductor_schedule_and_build_instances.finish_time + 'Z'), t0 + 350);
  assert.equal(Date.parse(ev.compute__do_build_and_run_instance.start_time + 'Z'), t0 + 350);
  assert.equal(Date.parse(ev.compute__do_build_and_run_instance.finish_time + 'Z'), t0 + 1900);
});

test('the clock is admin-only, validated, and refused when not manual', async () => {
  assert.equal((await control(env, env.demo, 'GET')).statusCode, 403);
  const bad = await control(env, env.admin, 'POST', { advance: -1 });
  assert.equal(bad.statusCode, 400);
  const sys = await setup();
  try {
    const g = await control(sys, sys.admin, 'GET');
    assert.equal(g.json().clock.kind, 'system');
    const p = await control(sys, sys.admin, 'POST', { advance: 1 });
    assert.equal(p.statusCode, 409, p.body);
    // With the default clock nothing waits.
    const id = await boot(sys, sys.demo);
    assert.equal((await show(sys, sys.demo, id)).status, 'ACTIVE');
  } finally {
    await sys.close();
  }
});
